import type { DialectName } from '../engine/types.js'
import { canonicalTypeName } from '../engine/dialects/sql-literals.js'
import { Column, type ColumnSpec, type ReferentialAction } from '../session/column.js'
import { MetaData } from '../session/metadata.js'
import { type AnyTable, table } from '../session/table.js'
import type { CatalogTable, ColumnType, MigrationSupport, TypeRule } from './dialect-support.js'
import { dialectOf, type MigrateBind, sqlRunner, withConnection } from './connection.js'
import { UnsupportedTypeError } from './errors.js'
import { migrationSupport } from './support-registry.js'

/**
 * Options of {@link reflect}.
 *
 * ```ts
 * await reflect(engine, { schema: 'public', only: (name) => !name.startsWith('pg_'), onUnsupported: 'error' })
 * ```
 */
export interface ReflectOptions {
  /** PostgreSQL schema, MySQL database or SQLite attached database; default the connection's own. */
  readonly schema?: string
  /** Read only these tables (names, or a test on the name). */
  readonly only?: readonly string[] | ((table: string) => boolean)
  /** Leave these tables out (the runner leaves out its version table). */
  readonly exclude?: readonly string[]
  /** `'warn'` (default): a column whose type athanor cannot express is left out and listed in `warnings`; `'error'`: throw {@link UnsupportedTypeError}. */
  readonly onUnsupported?: 'warn' | 'error'
}

/**
 * Something reflection could not express, and left out.
 *
 * ```ts
 * for (const w of (await reflect(engine)).warnings) console.warn(w.message)
 * ```
 */
export interface ReflectionWarning {
  readonly table: string
  readonly column?: string
  /** The database type, for an unsupported column. */
  readonly type?: string
  readonly message: string
}

/**
 * What the database calls one table's indexes and constraints, for the DROP statements a migration writes.
 *
 * ```ts
 * reflected.names.get('book')?.foreignKeys.get('authorId')?.name // 'book_authorId_fkey'
 * ```
 */
export interface ReflectedNames {
  /** Index name by its columns joined with `,`. */
  readonly indexes: ReadonlyMap<string, string>
  /** Unique constraint name by its columns joined with `,` (absent where the database does not name it). */
  readonly uniques: ReadonlyMap<string, string>
  /** Foreign key by its column. */
  readonly foreignKeys: ReadonlyMap<string, { readonly name: string; readonly ownIndex?: string }>
}

/**
 * A {@link MetaData} read from a database: the tables as `table()` would
 * declare them, plus the dialect, the constraint names, and what could not be
 * expressed. Made by {@link reflect}.
 *
 * ```ts
 * const reflected = await reflect(engine)
 * reflected.table('author')?.columnList.map((c) => c.name) // ['id', 'name']
 * reflected.warnings // [{ table: 'log', column: 'at', type: 'timestamp without time zone', ... }]
 * ```
 */
export class ReflectedMetaData extends MetaData<readonly AnyTable[]> {
  constructor(
    tables: readonly AnyTable[],
    readonly dialect: DialectName,
    readonly warnings: readonly ReflectionWarning[],
    readonly names: ReadonlyMap<string, ReflectedNames>,
    /** Columns left out for their type, by table: diff neither adds nor drops them. */
    readonly unsupportedColumns: ReadonlyMap<string, ReadonlySet<string>>,
  ) {
    super(...tables)
  }
}

/**
 * Reads a database's tables into a {@link ReflectedMetaData}: columns with
 * their athanor kinds, nullability, server defaults (as SQL; the current
 * timestamp as `'now'`), primary keys, generated keys, foreign keys with their
 * actions, unique constraints and indexes. A type athanor cannot express is
 * reported (`warnings`, or an {@link UnsupportedTypeError}), never guessed.
 *
 * ```ts
 * const reflected = await reflect(engine, { only: ['author', 'book'] })
 * const ops = diff(metadata, reflected) // [] when the database matches the models
 * ```
 */
export async function reflect<DB>(bind: MigrateBind<DB>, options: ReflectOptions = {}): Promise<ReflectedMetaData> {
  const dialect = dialectOf(bind)
  const support = migrationSupport(dialect)
  const catalog = await withConnection(bind, (conn) => support.readCatalog(sqlRunner(conn), { schema: options.schema }))
  const only = options.only
  const wanted = typeof only === 'function' ? only : only === undefined ? () => true : (name: string) => only.includes(name)
  const exclude = new Set(options.exclude ?? [])
  const chosen = catalog.filter((t) => wanted(t.name) && !exclude.has(t.name))
  return buildMetaData(chosen, dialect, support, options.onUnsupported ?? 'warn')
}

/**
 * The column type a catalog spelling stands for, by the dialect's type table;
 * `undefined` when no rule matches.
 *
 * ```ts
 * parseColumnType(POSTGRES_TYPES, 'character varying(20)') // { kind: 'varchar', length: 20 }
 * ```
 */
export function parseColumnType(types: readonly TypeRule[], spelling: string): ColumnType | undefined {
  const s = canonicalTypeName(spelling)
  for (const rule of types) {
    const m = rule.pattern.exec(s)
    if (!m) continue
    return {
      kind: rule.kind,
      ...(rule.length === undefined ? {} : { length: Number(m[rule.length]) }),
      ...(rule.scale === undefined ? {} : { scale: Number(m[rule.scale]) }),
    }
  }
  return undefined
}

const ACTIONS: ReadonlySet<string> = new Set(['cascade', 'set null', 'restrict', 'no action'])

function buildMetaData(
  catalog: readonly CatalogTable[],
  dialect: DialectName,
  support: MigrationSupport,
  onUnsupported: 'warn' | 'error',
): ReflectedMetaData {
  const warnings: ReflectionWarning[] = []
  const names = new Map<string, ReflectedNames>()
  const unsupported = new Map<string, Set<string>>()
  const tables: AnyTable[] = []
  const primaryKeys = new Map(catalog.map((t) => [t.name, t.primaryKey] as const))
  const defaultAction = support.normalizeAction(undefined)
  for (const t of catalog) {
    for (const note of t.notes) warnings.push({ table: t.name, message: `table "${t.name}": ${note}` })
    if (t.primaryKey.length === 0) {
      warnings.push({ table: t.name, message: `table "${t.name}" has no primary key; athanor tables need one, so it is left out` })
      continue
    }
    const skipped = new Set<string>()
    const specs: Record<string, Column<unknown, boolean, boolean>> = {}
    for (const c of t.columns) {
      const type = parseColumnType(support.types, c.type)
      if (type === undefined) {
        if (onUnsupported === 'error') throw new UnsupportedTypeError(t.name, c.name, c.type)
        skipped.add(c.name)
        warnings.push({ table: t.name, column: c.name, type: c.type, message: new UnsupportedTypeError(t.name, c.name, c.type).message })
        continue
      }
      const singleUnique = t.uniques.some((u) => u.columns.length === 1 && u.columns[0] === c.name)
      const singleIndex = t.indexes.some((ix) => ix.columns.length === 1 && ix.columns[0] === c.name)
      const spec: ColumnSpec = {
        ...type,
        nullable: c.nullable,
        primaryKey: t.primaryKey.includes(c.name),
        autoIncrement: c.autoIncrement,
        unique: singleUnique,
        ...(singleIndex ? { index: true } : {}),
        ...(c.default === undefined || c.autoIncrement ? {} : { serverDefault: support.normalizeDefault(c.default) }),
        version: false,
      }
      specs[c.name] = new Column(Object.freeze(spec))
    }
    if (t.primaryKey.some((k) => skipped.has(k))) {
      warnings.push({ table: t.name, message: `table "${t.name}": a primary key column has an unsupported type, so the table is left out` })
      continue
    }
    const fkNames = new Map<string, { name: string; ownIndex?: string }>()
    for (const fk of t.foreignKeys) {
      const where = `table "${t.name}": foreign key (${fk.columns.join(', ')})`
      const targetColumns = fk.targetColumns.map((c, i) => c || (primaryKeys.get(fk.targetTable) ?? [])[i] || '')
      if (fk.columns.length !== 1 || targetColumns[0] === '') {
        warnings.push({ table: t.name, message: `${where} spans several columns; athanor declares single-column keys, so it is left out` })
        continue
      }
      const column = fk.columns[0]
      const col = specs[column]
      if (col === undefined) continue
      const actions: { onDelete?: ReferentialAction; onUpdate?: ReferentialAction } = {}
      let ok = true
      for (const [key, value] of [['onDelete', fk.onDelete], ['onUpdate', fk.onUpdate]] as const) {
        if (support.normalizeAction(value) === defaultAction) continue
        if (ACTIONS.has(value)) actions[key] = value as ReferentialAction
        else ok = false
      }
      if (!ok) {
        warnings.push({ table: t.name, message: `${where} uses ${fk.onDelete}/${fk.onUpdate}, which athanor cannot declare; it is left out` })
        continue
      }
      specs[column] = new Column(Object.freeze({ ...col.spec, references: Object.freeze({ target: `${fk.targetTable}.${targetColumns[0]}`, ...actions }) }))
      if (fk.name !== undefined) fkNames.set(column, { name: fk.name, ownIndex: fk.ownIndex })
    }
    const usable = (cols: readonly string[]) => cols.every((c) => c in specs)
    tables.push(
      table(t.name, specs, {
        unique: t.uniques.filter((u) => u.columns.length > 1 && usable(u.columns)).map((u) => u.columns),
        indexes: t.indexes.filter((ix) => ix.columns.length > 1 && usable(ix.columns)).map((ix) => ix.columns),
      }),
    )
    const named = (keys: readonly { name?: string; columns: readonly string[] }[]) =>
      new Map(keys.filter((k) => k.name !== undefined).map((k) => [k.columns.join(','), k.name as string] as const))
    names.set(t.name, { indexes: named(t.indexes), uniques: named(t.uniques), foreignKeys: fkNames })
    if (skipped.size > 0) unsupported.set(t.name, skipped)
  }
  return new ReflectedMetaData(tables, dialect, warnings, names, unsupported)
}
