import type { DialectName } from '../engine/types.js'
import type { ColumnSpec } from './column.js'

/**
 * The little SQL the session writes by hand (DDL, batched UPDATE and DELETE),
 * per dialect. Hand-built text is the flush's hot path: no query builder there.
 */
export interface SqlDialect {
  readonly name: DialectName
  /** `"x"` or `` `x` ``. */
  quote(identifier: string): string
  /** The n-th (1-based) bound-parameter placeholder. */
  param(n: number): string
  /** The column's type in CREATE TABLE. */
  columnType(col: ColumnSpec): string
  /** A type name for `CAST(... AS type)` on PostgreSQL VALUES lists. */
  castType(col: ColumnSpec): string
  /** Whether `UPDATE ... FROM (VALUES ...)` works. */
  readonly updateFromValues: boolean
  /** Whether `col = ANY($1::type[])` with an array parameter works. */
  readonly anyArray: boolean
}

const dq = (s: string) => `"${s.replace(/"/g, '""')}"`
const bq = (s: string) => `\`${s.replace(/`/g, '``')}\``

function pgType(c: ColumnSpec): string {
  switch (c.kind) {
    case 'integer':
      return 'integer'
    case 'bigint':
      return 'bigint'
    case 'real':
      return 'double precision'
    case 'numeric':
      return `numeric(${c.length}, ${c.scale})`
    case 'text':
      return 'text'
    case 'varchar':
      return `varchar(${c.length})`
    case 'boolean':
      return 'boolean'
    case 'timestamp':
      return 'timestamptz'
    case 'json':
      return 'jsonb'
    case 'uuid':
      return 'uuid'
  }
}

function mysqlType(c: ColumnSpec): string {
  switch (c.kind) {
    case 'integer':
      return 'INT'
    case 'bigint':
      return 'BIGINT'
    case 'real':
      return 'DOUBLE'
    case 'numeric':
      return `DECIMAL(${c.length}, ${c.scale})`
    case 'text':
      return 'TEXT'
    case 'varchar':
      return `VARCHAR(${c.length})`
    case 'boolean':
      return 'BOOLEAN'
    case 'timestamp':
      return 'DATETIME(3)'
    case 'json':
      return 'JSON'
    case 'uuid':
      return 'CHAR(36)'
  }
}

function sqliteType(c: ColumnSpec): string {
  switch (c.kind) {
    case 'integer':
    case 'bigint':
    case 'boolean':
      return 'INTEGER'
    case 'real':
      return 'REAL'
    default:
      // numeric too: NUMERIC affinity would turn '12.50' into the float 12.5; TEXT keeps the exact decimal.
      return 'TEXT'
  }
}

const postgres: Omit<SqlDialect, 'name'> = {
  quote: dq,
  param: (n) => `$${n}`,
  columnType: pgType,
  castType: pgType,
  updateFromValues: true,
  anyArray: true,
}

const DIALECTS: Record<DialectName, SqlDialect> = {
  postgresql: { name: 'postgresql', ...postgres },
  pglite: { name: 'pglite', ...postgres },
  mysql: { name: 'mysql', quote: bq, param: () => '?', columnType: mysqlType, castType: mysqlType, updateFromValues: false, anyArray: false },
  sqlite: { name: 'sqlite', quote: dq, param: () => '?', columnType: sqliteType, castType: sqliteType, updateFromValues: false, anyArray: false },
}

/** The SQL helpers for one dialect. */
export function sqlDialect(name: DialectName): SqlDialect {
  return DIALECTS[name]
}
