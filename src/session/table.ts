import type { Generated } from 'kysely'
import type { AnyColumn, Column, ColumnRef, ColumnSpec } from './column.js'
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
export interface TableOptions<K extends string = string> {
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
 * ```ts
 * const author = table('author', { id: serial().primaryKey(), name: text() })
 * author.c.id // { table: 'author', column: 'id' }, for foreign keys
 * ```
 */
export class Table<Name extends string = string, C extends ColumnsShape = ColumnsShape> {
  /** Column references for foreign keys: `author.c.id`. */
  readonly c: { readonly [K in keyof C]: ColumnRef }
  /** The columns in declaration order. */
  readonly columnList: readonly TableColumn[]
  readonly primaryKey: readonly string[]
  readonly uniqueConstraints: readonly (readonly string[])[]
  /** Indexes to create, single-column ones (`.index()`) included. */
  readonly indexes: readonly (readonly string[])[]

  constructor(
    readonly name: Name,
    readonly columns: C,
    options: TableOptions<Extract<keyof C, string>> = {},
  ) {
    if (typeof name !== 'string' || name.length === 0) throw new MappingError('a table needs a non-empty name')
    const c: Record<string, ColumnRef> = {}
    const list: TableColumn[] = []
    for (const [key, column] of Object.entries(columns)) {
      if (!(column instanceof Object) || !('spec' in column)) {
        throw new MappingError(`table "${name}": "${key}" is not a column (use integer(), text(), ...)`)
      }
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
export function table<Name extends string, C extends ColumnsShape>(
  name: Name,
  columns: C,
  options?: TableOptions<Extract<keyof C, string>>,
): Table<Name, C> {
  return new Table(name, columns, options)
}

/** Any table, whatever its columns. */
export type AnyTable = Table<string, ColumnsShape>
