import type { DialectName } from '../engine/types.js'
import { canonicalTypeName } from '../engine/dialects/sql-literals.js'
import { type ColumnSpec, resolveForeignKey } from '../session/column.js'
import { renderServerDefault } from '../session/ddl.js'
import type { MetaData } from '../session/metadata.js'
import { sqlDialect } from '../session/sql-dialect.js'
import type { AnyTable, TableColumn } from '../session/table.js'
import type { MigrationSupport } from './dialect-support.js'
import type { AddColumnOp, AddForeignKeyOp, ColumnChange, DropForeignKeyOp, Operation } from './operations.js'
import { ReflectedMetaData } from './reflect.js'
import { migrationSupport } from './support-registry.js'

/**
 * Options of {@link diff}.
 *
 * ```ts
 * diff(metadata, reflected, { ignoreTables: ['athanor_version'] })
 * ```
 */
export interface DiffOptions {
  /** The dialect whose types and defaults decide what "the same" is; default the reflected side's. */
  readonly dialect?: DialectName
  /** Tables neither side's changes touch (the runner's version table). */
  readonly ignoreTables?: readonly string[]
}

/**
 * The names athanor gives what it creates: the same as `createAll` and PostgreSQL's own.
 *
 * ```ts
 * constraintNames.unique('author', ['email']) // 'author_email_key'
 * ```
 */
export const constraintNames = {
  /** `<table>_pkey` */
  primaryKey: (table: string) => `${table}_pkey`,
  /** `<table>_<columns>_key` */
  unique: (table: string, columns: readonly string[]) => `${table}_${columns.join('_')}_key`,
  /** `<table>_<columns>_idx` */
  index: (table: string, columns: readonly string[]) => `${table}_${columns.join('_')}_idx`,
  /** `<table>_<column>_fkey` */
  foreignKey: (table: string, column: string) => `${table}_${column}_fkey`,
}

/**
 * How one dialect compares columns: by the DDL athanor would write for them,
 * so that kinds the database stores alike (every TEXT kind on SQLite) are the same.
 */
export class ColumnComparator {
  readonly support: MigrationSupport | undefined
  constructor(readonly dialect: DialectName | undefined) {
    this.support = dialect === undefined ? undefined : migrationSupport(dialect)
  }

  type(col: ColumnSpec): string {
    if (this.dialect === undefined) return `${col.kind}(${col.length ?? ''},${col.scale ?? ''})`
    return canonicalTypeName(sqlDialect(this.dialect).columnType(col))
  }

  serverDefault(col: ColumnSpec): string | undefined {
    if (col.autoIncrement) return undefined
    if (this.dialect === undefined || this.support === undefined) return col.serverDefault
    return this.support.normalizeDefault(renderServerDefault(col, this.dialect))
  }

  action(a: string | undefined): string {
    return this.support ? this.support.normalizeAction(a) : (a ?? 'no action')
  }
}

const key = (cols: readonly string[]) => cols.join(',')

function uniqueKeys(t: AnyTable): (readonly string[])[] {
  return [...t.columnList.filter((c) => c.unique).map((c) => [c.name]), ...t.uniqueConstraints]
}

/** Whether an index, unique constraint or the primary key starts with `column` (InnoDB's test for a usable foreign-key index). */
function hasLeftmostIndex(t: AnyTable, column: string): boolean {
  return [t.primaryKey, ...t.indexes, ...uniqueKeys(t)].some((cols) => cols[0] === column)
}

/**
 * The operations that turn the database described by `current` (usually a
 * {@link reflect}ed MetaData) into the one `target` (your models) describes,
 * ordered so they can run as listed: foreign keys dropped first, tables
 * created parents first, tables dropped children first. An empty list when
 * they match. Renames are never guessed: a dropped and an added column of the
 * same type in one table are a drop and an add, the add marked `possibleRenameOf`.
 *
 * ```ts
 * const ops = diff(metadata, await reflect(engine))
 * if (ops.length > 0) console.log(ops.map(describeOperation).join('\n'))
 * ```
 */
export function diff(target: MetaData, current: MetaData, options: DiffOptions = {}): Operation[] {
  const dialect =
    options.dialect ??
    (current instanceof ReflectedMetaData ? current.dialect : target instanceof ReflectedMetaData ? target.dialect : undefined)
  const cmp = new ColumnComparator(dialect)
  const reflected = current instanceof ReflectedMetaData ? current : undefined
  const ignore = new Set(options.ignoreTables ?? [])
  const ownIndex = (t: AnyTable, column: string) =>
    cmp.support?.ddl.foreignKeyIndex === true && !hasLeftmostIndex(t, column) ? constraintNames.foreignKey(t.name, column) : undefined

  const dropFks: Operation[] = []
  const dropUniques: Operation[] = []
  const dropIndexes: Operation[] = []
  const createTables: Operation[] = []
  const addColumns: AddColumnOp[] = []
  const alterColumns: Operation[] = []
  const addUniques: Operation[] = []
  const addIndexes: Operation[] = []
  const addFks: Operation[] = []
  const dropColumns: Operation[] = []
  const dropTables: Operation[] = []

  for (const t of target.sortedTables()) {
    if (!ignore.has(t.name) && !current.table(t.name)) createTables.push({ kind: 'createTable', table: t })
  }
  for (const t of current.sortedTables().reverse()) {
    if (!ignore.has(t.name) && !target.table(t.name)) dropTables.push({ kind: 'dropTable', table: t })
  }

  for (const t of target.tables) {
    const c = current.table(t.name)
    if (c === undefined || ignore.has(t.name)) continue
    const names = reflected?.names.get(t.name)
    const skipped = reflected?.unsupportedColumns.get(t.name)

    const added: AddColumnOp[] = []
    const dropped: TableColumn[] = []
    for (const col of t.columnList) {
      const was = c.column(col.name)
      if (was === undefined) {
        if (!skipped?.has(col.name)) added.push({ kind: 'addColumn', table: t.name, column: col })
        continue
      }
      const changes: ColumnChange[] = []
      if (cmp.type(was) !== cmp.type(col)) changes.push('type')
      if (!col.primaryKey && was.nullable !== col.nullable) changes.push('nullable')
      if (cmp.serverDefault(was) !== cmp.serverDefault(col)) changes.push('serverDefault')
      if (changes.length > 0) alterColumns.push({ kind: 'alterColumn', table: t.name, from: was, to: col, changes })
    }
    for (const was of c.columnList) if (!t.column(was.name)) dropped.push(was)
    for (const add of added) {
      const twin = dropped.find((d) => cmp.type(d) === cmp.type(add.column))
      addColumns.push(twin ? { ...add, possibleRenameOf: twin.name } : add)
    }
    for (const was of dropped) dropColumns.push({ kind: 'dropColumn', table: t.name, column: was })

    const tu = new Map(uniqueKeys(t).map((u) => [key(u), u] as const))
    const cu = new Map(uniqueKeys(c).map((u) => [key(u), u] as const))
    for (const [k, cols] of cu) {
      if (!tu.has(k)) dropUniques.push({ kind: 'dropUnique', table: t.name, name: names?.uniques.get(k) ?? constraintNames.unique(t.name, cols), columns: cols })
    }
    for (const [k, cols] of tu) {
      if (!cu.has(k)) addUniques.push({ kind: 'addUnique', table: t.name, name: constraintNames.unique(t.name, cols), columns: cols })
    }
    const ti = new Map(t.indexes.map((ix) => [key(ix), ix] as const))
    const ci = new Map(c.indexes.map((ix) => [key(ix), ix] as const))
    for (const [k, cols] of ci) {
      if (!ti.has(k)) dropIndexes.push({ kind: 'dropIndex', table: t.name, name: names?.indexes.get(k) ?? constraintNames.index(t.name, cols), columns: cols })
    }
    for (const [k, cols] of ti) {
      if (!ci.has(k)) addIndexes.push({ kind: 'createIndex', table: t.name, name: constraintNames.index(t.name, cols), columns: cols })
    }

    const columns = new Set([...t.columnList, ...c.columnList].map((col) => col.name))
    for (const name of columns) {
      const want = t.column(name)?.references
      const have = c.column(name)?.references
      const wantRef = want && resolveForeignKey(want, t.name)
      const haveRef = have && resolveForeignKey(have, t.name)
      const same =
        want !== undefined &&
        have !== undefined &&
        wantRef?.table === haveRef?.table &&
        wantRef?.column === haveRef?.column &&
        cmp.action(want.onDelete) === cmp.action(have.onDelete) &&
        cmp.action(want.onUpdate) === cmp.action(have.onUpdate)
      if (same) continue
      if (have && haveRef) {
        const known = names?.foreignKeys.get(name)
        const own = known ? known.ownIndex : ownIndex(c, name)
        const op: DropForeignKeyOp = {
          kind: 'dropForeignKey',
          table: t.name,
          name: known?.name ?? constraintNames.foreignKey(t.name, name),
          column: name,
          target: haveRef,
          ...(have.onDelete ? { onDelete: have.onDelete } : {}),
          ...(have.onUpdate ? { onUpdate: have.onUpdate } : {}),
          ...(own === undefined ? {} : { ownIndex: own }),
        }
        dropFks.push(op)
      }
      if (want && wantRef) {
        const op: AddForeignKeyOp = {
          kind: 'addForeignKey',
          table: t.name,
          name: constraintNames.foreignKey(t.name, name),
          column: name,
          target: wantRef,
          ...(want.onDelete ? { onDelete: want.onDelete } : {}),
          ...(want.onUpdate ? { onUpdate: want.onUpdate } : {}),
          ...(ownIndex(t, name) === undefined ? {} : { ownIndex: ownIndex(t, name) }),
        }
        addFks.push(op)
      }
    }
  }

  return [
    ...dropFks,
    ...dropUniques,
    ...dropIndexes,
    ...createTables,
    ...addColumns,
    ...alterColumns,
    ...addUniques,
    ...addIndexes,
    ...addFks,
    ...dropColumns,
    ...dropTables,
  ]
}
