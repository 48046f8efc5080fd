import type { Generated } from 'kysely'
import { isWellFormed } from '../engine/values.js'
import { type AnyColumn, checkColumnSpec, type Column, type ColumnRef, type ColumnSpec } from './column.js'
import { MappingError } from './errors.js'

/** A table's columns, by property (= SQL column) name. */
export type ColumnsShape = Readonly<Record<string, AnyColumn>>

/** The value type of one column, `null` included when nullable. */
export type ValueOf<C> = C extends Column<infer T, infer N, boolean> ? (N extends true ? T | null : T) : never

/**
 * A row of the table as read: every column with its value type.
 *
 * ```ts
 * type AuthorRow = RowOf<typeof author.columns> // { id: number; name: string; email: string | null; ... }
 * ```
 */
export type RowOf<C extends ColumnsShape> = { -readonly [K in keyof C]: ValueOf<C[K]> }

/**
 * Kysely's table interface: generated or defaulted columns wrapped in `Generated<>`.
 *
 * ```ts
 * type AuthorTable = KyselyTableOf<typeof author.columns> // { id: Generated<number>; name: string; ... }
 * ```
 */
export type KyselyTableOf<C extends ColumnsShape> = {
  [K in keyof C]: C[K] extends Column<infer T, infer N, infer D>
    ? D extends true
      ? Generated<N extends true ? T | null : T>
      : N extends true
        ? T | null
        : T
    : never
}

/** Table-level options. */
export interface TableOptions<K extends string = string, S extends string = string> {
  /**
   * The schema (PostgreSQL schema, MySQL database, SQLite attached database)
   * the table lives in. The table's key in Kysely's `DB` type is then
   * `'schema.table'`, as Kysely writes it: `db.selectFrom('app.note')`.
   */
  readonly schema?: S
  /** Multi-column UNIQUE constraints: `unique: [['tenantId', 'email']]`. */
  readonly unique?: readonly (readonly K[])[]
  /** Multi-column (non-unique) indexes: `indexes: [['authorId', 'createdAt']]`. */
  readonly indexes?: readonly (readonly K[])[]
}

/** One column of a table, resolved. */
export interface TableColumn extends ColumnRef, ColumnSpec {
  readonly name: string
}

/**
 * A declared table. Make one with {@link table}; collect tables in a
 * {@link MetaData}; map a class to it with {@link Model}.
 *
 * `name` is the table's key in Kysely's `DB` type: the table name, or
 * `'schema.table'` when declared with a schema. `tableName` and `schema`
 * are the two parts, each quoted on its own in the SQL athanor writes.
 *
 * ```ts
 * const author = table('author', { id: serial().primaryKey(), name: text() })
 * author.c.id // { table: 'author', column: 'id' }, for foreign keys
 * const note = table('note', { id: serial().primaryKey() }, { schema: 'app' })
 * note.name // 'app.note'; note.tableName // 'note'; note.schema // 'app'
 * ```
 */
export class Table<Name extends string = string, C extends ColumnsShape = ColumnsShape> {
  /** The key in Kysely's `DB` type: `'table'` or `'schema.table'`. */
  readonly name: Name
  /** The table's own name, without the schema. */
  readonly tableName: string
  /** The schema given at declaration, if any. */
  readonly schema?: string
  /** Column references for foreign keys: `author.c.id`. */
  readonly c: { readonly [K in keyof C]: ColumnRef }
  /** The columns in declaration order. */
  readonly columnList: readonly TableColumn[]
  readonly primaryKey: readonly string[]
  readonly uniqueConstraints: readonly (readonly string[])[]
  /** Indexes to create, single-column ones (`.index()`) included. */
  readonly indexes: readonly (readonly string[])[]

  constructor(
    tableName: string,
    readonly columns: C,
    options: TableOptions<Extract<keyof C, string>> = {},
  ) {
    checkName(tableName, 'a table name', tableName)
    if (tableName.includes('.')) {
      throw new MappingError(
        `table "${tableName}": a table name cannot contain "."; for a table in a schema write ` +
          `table('${tableName.slice(tableName.indexOf('.') + 1)}', columns, { schema: '${tableName.slice(0, tableName.indexOf('.'))}' })`,
      )
    }
    const schema = options.schema
    if (schema !== undefined) {
      checkName(schema, 'a schema name', tableName)
      if (schema.includes('.')) throw new MappingError(`table "${tableName}": the schema name "${schema}" cannot contain "."`)
    }
    const name = (schema === undefined ? tableName : `${schema}.${tableName}`) as Name
    this.name = name
    this.tableName = tableName
    if (schema !== undefined) this.schema = schema
    if (columns === null || typeof columns !== 'object') throw new MappingError(`table "${name}": columns must be an object of columns`)
    const c: Record<string, ColumnRef> = {}
    const list: TableColumn[] = []
    for (const [key, column] of Object.entries(columns)) {
      if (!(column instanceof Object) || !('spec' in column)) {
        throw new MappingError(`table "${name}": "${key}" is not a column (use integer(), text(), ...)`)
      }
      checkName(key, 'a column name', name)
      if (key.includes('.')) throw new MappingError(`table "${name}": column name "${key}" cannot contain "." (Kysely reads it as table.column)`)
      checkColumnSpec(column.spec, `table "${name}" column "${key}"`)
      c[key] = Object.freeze({ table: name, column: key })
      list.push(Object.freeze({ ...column.spec, name: key, table: name, column: key }))
    }
    this.c = Object.freeze(c) as Table<Name, C>['c']
    this.columnList = Object.freeze(list)
    this.primaryKey = Object.freeze(list.filter((col) => col.primaryKey).map((col) => col.name))
    if (this.primaryKey.length === 0) throw new MappingError(`table "${name}" has no primary key`)
    const generated = list.filter((col) => col.autoIncrement)
    if (generated.length > 1 || (generated.length === 1 && !generated[0].primaryKey)) {
      throw new MappingError(`table "${name}": only one generated (serial) column is allowed, and it must be the primary key`)
    }
    if (generated.length === 1 && this.primaryKey.length > 1) {
      throw new MappingError(`table "${name}": a serial column cannot be part of a composite primary key`)
    }
    if (list.filter((col) => col.version).length > 1) {
      throw new MappingError(`table "${name}" has more than one version column`)
    }
    for (const u of options.unique ?? []) {
      for (const k of u) if (!(k in columns)) throw new MappingError(`table "${name}": unique constraint names unknown column "${k}"`)
    }
    this.uniqueConstraints = Object.freeze((options.unique ?? []).map((u) => Object.freeze([...u])))
    for (const ix of options.indexes ?? []) {
      for (const k of ix) if (!(k in columns)) throw new MappingError(`table "${name}": index names unknown column "${k}"`)
    }
    this.indexes = Object.freeze([
      ...list.filter((col) => col.index).map((col) => Object.freeze([col.name])),
      ...(options.indexes ?? []).map((ix) => Object.freeze([...ix])),
    ])
    Object.freeze(this)
  }

  /** The column named `name`, or `undefined`. */
  column(name: string): TableColumn | undefined {
    return this.columnList.find((col) => col.name === name)
  }
}

/**
 * Declares a table. Property names are the SQL column names.
 *
 * ```ts
 * const book = table('book', {
 *   id: serial().primaryKey(),
 *   authorId: integer().references(() => author.c.id),
 *   title: text(),
 * })
 * ```
 */
export function table<Name extends string, C extends ColumnsShape, S extends string = never>(
  name: Name,
  columns: C,
  options?: TableOptions<Extract<keyof C, string>, S>,
): Table<[S] extends [never] ? Name : `${S}.${Name}`, C> {
  return new Table(name, columns, options)
}

/** Names are quoted wherever athanor writes them; what no server accepts in a name is refused here. */
function checkName(name: unknown, what: string, table: unknown): asserts name is string {
  const where = typeof table === 'string' && table !== '' && table !== name ? `table "${table}": ` : ''
  if (typeof name !== 'string' || name.length === 0) throw new MappingError(`${where}${what} must be a non-empty string`)
  if (name.includes('\0')) throw new MappingError(`${where}${what} cannot contain a NUL character`)
  if (!isWellFormed(name)) throw new MappingError(`${where}${what} is not well-formed Unicode (lone surrogate)`)
}

/** Any table, whatever its columns. */
export type AnyTable = Table<string, ColumnsShape>
