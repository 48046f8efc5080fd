import type { ColumnRef, ReferentialAction } from '../session/column.js'
import type { AnyTable, TableColumn } from '../session/table.js'

/**
 * One schema change that {@link diff} found. Each carries what both sides
 * need, so a migration's `down` is the operations inverted in reverse order.
 *
 * ```ts
 * for (const op of diff(metadata, await reflect(engine))) console.log(describeOperation(op))
 * // add column author.email
 * ```
 */
export type Operation =
  | CreateTableOp
  | DropTableOp
  | AddColumnOp
  | DropColumnOp
  | AlterColumnOp
  | CreateIndexOp
  | DropIndexOp
  | AddUniqueOp
  | DropUniqueOp
  | AddForeignKeyOp
  | DropForeignKeyOp

/**
 * A table the models have and the database does not.
 *
 * ```ts
 * if (op.kind === 'createTable') console.log(op.table.name)
 * ```
 */
export interface CreateTableOp {
  readonly kind: 'createTable'
  readonly table: AnyTable
}

/**
 * A table the database has and the models do not.
 *
 * ```ts
 * if (op.kind === 'dropTable') console.log(op.table.name)
 * ```
 */
export interface DropTableOp {
  readonly kind: 'dropTable'
  readonly table: AnyTable
}

/**
 * A new column on an existing table.
 *
 * ```ts
 * if (op.kind === 'addColumn' && op.possibleRenameOf) console.log(`rename of ${op.possibleRenameOf}?`)
 * ```
 */
export interface AddColumnOp {
  readonly kind: 'addColumn'
  readonly table: string
  readonly column: TableColumn
  /** A column of the same type dropped from this table in the same diff: maybe a rename (never assumed). */
  readonly possibleRenameOf?: string
}

/**
 * A column the database has and the model does not.
 *
 * ```ts
 * if (op.kind === 'dropColumn') console.log(op.table, op.column.name)
 * ```
 */
export interface DropColumnOp {
  readonly kind: 'dropColumn'
  readonly table: string
  readonly column: TableColumn
}

/**
 * What of a column changed.
 *
 * ```ts
 * const changes: ColumnChange[] = ['type', 'nullable']
 * ```
 */
export type ColumnChange = 'type' | 'nullable' | 'serverDefault'

/**
 * A column whose type, nullability or server default differs.
 *
 * ```ts
 * if (op.kind === 'alterColumn') console.log(op.to.name, op.changes) // 'qty', ['type']
 * ```
 */
export interface AlterColumnOp {
  readonly kind: 'alterColumn'
  readonly table: string
  /** As the database has it. */
  readonly from: TableColumn
  /** As the model declares it. */
  readonly to: TableColumn
  readonly changes: readonly ColumnChange[]
}

/**
 * A non-unique index.
 *
 * ```ts
 * if (op.kind === 'createIndex') console.log(op.name, op.columns)
 * ```
 */
export interface CreateIndexOp {
  readonly kind: 'createIndex'
  readonly table: string
  readonly name: string
  readonly columns: readonly string[]
}

/**
 * An index to drop.
 *
 * ```ts
 * if (op.kind === 'dropIndex') console.log(op.name)
 * ```
 */
export interface DropIndexOp {
  readonly kind: 'dropIndex'
  readonly table: string
  readonly name: string
  readonly columns: readonly string[]
}

/**
 * A UNIQUE constraint (one column's `.unique()` or a table's `unique: [...]`).
 *
 * ```ts
 * if (op.kind === 'addUnique') console.log(op.columns)
 * ```
 */
export interface AddUniqueOp {
  readonly kind: 'addUnique'
  readonly table: string
  readonly name: string
  readonly columns: readonly string[]
}

/**
 * A UNIQUE constraint to drop.
 *
 * ```ts
 * if (op.kind === 'dropUnique') console.log(op.name)
 * ```
 */
export interface DropUniqueOp {
  readonly kind: 'dropUnique'
  readonly table: string
  readonly name: string
  readonly columns: readonly string[]
}

/**
 * A foreign key of one column.
 *
 * ```ts
 * if (op.kind === 'addForeignKey') console.log(`${op.column} -> ${op.target.table}.${op.target.column}`)
 * ```
 */
export interface ForeignKeyInfo {
  readonly table: string
  readonly name: string
  readonly column: string
  readonly target: ColumnRef
  readonly onDelete?: ReferentialAction
  readonly onUpdate?: ReferentialAction
  /** MySQL/MariaDB: the index InnoDB made (or will make) for the key, dropped with it. */
  readonly ownIndex?: string
}

/**
 * A foreign key to add.
 *
 * ```ts
 * if (op.kind === 'addForeignKey') console.log(op.onDelete)
 * ```
 */
export interface AddForeignKeyOp extends ForeignKeyInfo {
  readonly kind: 'addForeignKey'
}

/**
 * A foreign key to drop.
 *
 * ```ts
 * if (op.kind === 'dropForeignKey') console.log(op.name)
 * ```
 */
export interface DropForeignKeyOp extends ForeignKeyInfo {
  readonly kind: 'dropForeignKey'
}

/**
 * The operation that undoes `op`.
 *
 * ```ts
 * const down = ops.map(invertOperation).reverse()
 * ```
 */
export function invertOperation(op: Operation): Operation {
  switch (op.kind) {
    case 'createTable':
      return { kind: 'dropTable', table: op.table }
    case 'dropTable':
      return { kind: 'createTable', table: op.table }
    case 'addColumn':
      return { kind: 'dropColumn', table: op.table, column: op.column }
    case 'dropColumn':
      return { kind: 'addColumn', table: op.table, column: op.column }
    case 'alterColumn':
      return { ...op, from: op.to, to: op.from }
    case 'createIndex':
      return { ...op, kind: 'dropIndex' }
    case 'dropIndex':
      return { ...op, kind: 'createIndex' }
    case 'addUnique':
      return { ...op, kind: 'dropUnique' }
    case 'dropUnique':
      return { ...op, kind: 'addUnique' }
    case 'addForeignKey':
      return { ...op, kind: 'dropForeignKey' }
    case 'dropForeignKey':
      return { ...op, kind: 'addForeignKey' }
  }
}

/**
 * One line saying what an operation does, for logs and `migrate check`.
 *
 * ```ts
 * describeOperation({ kind: 'dropIndex', table: 'book', name: 'book_title_idx', columns: ['title'] })
 * // 'drop index book_title_idx on book (title)'
 * ```
 */
export function describeOperation(op: Operation): string {
  switch (op.kind) {
    case 'createTable':
      return `create table ${op.table.name}`
    case 'dropTable':
      return `drop table ${op.table.name}`
    case 'addColumn':
      return `add column ${op.table}.${op.column.name}${op.possibleRenameOf ? ` (possibly a rename of ${op.possibleRenameOf})` : ''}`
    case 'dropColumn':
      return `drop column ${op.table}.${op.column.name}`
    case 'alterColumn':
      return `alter column ${op.table}.${op.to.name} (${op.changes.join(', ')})`
    case 'createIndex':
      return `create index ${op.name} on ${op.table} (${op.columns.join(', ')})`
    case 'dropIndex':
      return `drop index ${op.name} on ${op.table} (${op.columns.join(', ')})`
    case 'addUnique':
      return `add unique ${op.table} (${op.columns.join(', ')})`
    case 'dropUnique':
      return `drop unique ${op.table} (${op.columns.join(', ')})`
    case 'addForeignKey':
      return `add foreign key ${op.table}.${op.column} -> ${op.target.table}.${op.target.column}`
    case 'dropForeignKey':
      return `drop foreign key ${op.table}.${op.column} -> ${op.target.table}.${op.target.column}`
  }
}
