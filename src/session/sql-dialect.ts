import { sqlSyntax } from '../engine/dialects/syntax.js'
import type { DialectName } from '../engine/types.js'
import type { ColumnSpec } from './column.js'

/**
 * The little SQL the session writes by hand (DDL, batched UPDATE and DELETE),
 * per dialect. Hand-built text is the flush's hot path: no query builder there.
 * Identifiers and placeholders come from the engine's dialect syntax, so the
 * session, DDL and insertMany quote alike.
 */
export interface SqlDialect {
  readonly name: DialectName
  /** ONE identifier: `"x"` or `` `x` `` (a dot is part of the name). */
  quote(identifier: string): string
  /** A declared table: `"schema"."table"` when it has a schema, else `"table"`. */
  table(t: { readonly schema?: string; readonly tableName: string }): string
  /** The placeholder of the `index`-th (0-based) bound parameter. */
  placeholder(index: number): string
  /** The column's type in CREATE TABLE. */
  columnType(col: ColumnSpec): string
  /** A type name for `CAST(... AS type)` on PostgreSQL VALUES lists. */
  castType(col: ColumnSpec): string
  /** Whether `UPDATE ... FROM (VALUES ...)` works. */
  readonly updateFromValues: boolean
  /** Whether `col = ANY($1::type[])` with an array parameter works. */
  readonly anyArray: boolean
}

/** A column spec as DDL sees it: the declared table's columns also carry their table and name. */
type DdlColumn = ColumnSpec & { readonly table?: string; readonly name?: string }

/**
 * PostgreSQL's enum type for a column: `enumType(v, { name })`, else
 * `<table>_<column>`, in the table's schema.
 *
 * ```ts
 * enumTypeName({ ...spec, table: 'app.task', name: 'status' }) // { schema: 'app', name: 'task_status' }
 * ```
 */
export function enumTypeName(c: DdlColumn): { readonly schema?: string; readonly name: string } {
  const full = c.table ?? ''
  const dot = full.indexOf('.')
  const schema = dot < 0 ? undefined : full.slice(0, dot)
  const name = c.enumName ?? `${dot < 0 ? full : full.slice(dot + 1)}_${c.name ?? ''}`
  return schema === undefined ? { name } : { schema, name }
}

const pgQuote = (id: string) => `"${id.replace(/"/g, '""')}"`

/** An SQL string literal; MySQL (without NO_BACKSLASH_ESCAPES) also reads backslashes as escapes. */
export function sqlString(value: string, backslashes: boolean): string {
  const s = value.replace(/'/g, "''")
  return `'${backslashes ? s.replace(/\\/g, '\\\\') : s}'`
}

function pgType(c: DdlColumn): string {
  if (c.array === true) return `${pgScalarType(c)}[]`
  return pgScalarType(c)
}

function pgScalarType(c: DdlColumn): string {
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
    case 'smallint':
      return 'smallint'
    case 'date':
      return 'date'
    case 'time':
      return 'time(3)'
    case 'bytes':
      return 'bytea'
    case 'enum': {
      const t = enumTypeName(c)
      return t.schema === undefined ? pgQuote(t.name) : `${pgQuote(t.schema)}.${pgQuote(t.name)}`
    }
  }
}

function mysqlType(c: ColumnSpec): string {
  // Arrays are JSON lists outside PostgreSQL.
  if (c.array === true) return 'JSON'
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
    case 'smallint':
      return 'SMALLINT'
    case 'date':
      return 'DATE'
    case 'time':
      return 'TIME(3)'
    case 'bytes':
      return 'LONGBLOB'
    case 'enum':
      return `ENUM(${(c.enumValues ?? []).map((v) => sqlString(v, true)).join(', ')})`
  }
}

function sqliteType(c: ColumnSpec): string {
  if (c.array === true) return 'TEXT'
  switch (c.kind) {
    case 'bigint':
      // Declared BIGINT (INTEGER affinity all the same): the driver reads such columns as exact bigints.
      return c.mode === 'bigint' ? 'BIGINT' : 'INTEGER'
    case 'integer':
    case 'smallint':
    case 'boolean':
      return 'INTEGER'
    case 'real':
      return 'REAL'
    case 'bytes':
      return 'BLOB'
    default:
      // numeric too: NUMERIC affinity would turn '12.50' into the float 12.5; TEXT keeps the exact decimal.
      return 'TEXT'
  }
}

function dialect(
  name: DialectName,
  type: (c: ColumnSpec) => string,
  batched: { readonly updateFromValues: boolean; readonly anyArray: boolean },
): SqlDialect {
  const syntax = sqlSyntax(name)
  return Object.freeze({
    name,
    quote: syntax.quoteIdentifier,
    table: (t: { readonly schema?: string; readonly tableName: string }) => syntax.quoteTable(t.tableName, t.schema),
    placeholder: syntax.placeholder,
    columnType: type,
    castType: type,
    ...batched,
  })
}

const POSTGRES_BATCHES = { updateFromValues: true, anyArray: true }
const ROW_BY_ROW = { updateFromValues: false, anyArray: false }

const DIALECTS: Record<DialectName, SqlDialect> = {
  postgresql: dialect('postgresql', pgType, POSTGRES_BATCHES),
  pglite: dialect('pglite', pgType, POSTGRES_BATCHES),
  mysql: dialect('mysql', mysqlType, ROW_BY_ROW),
  sqlite: dialect('sqlite', sqliteType, ROW_BY_ROW),
}

/** The SQL helpers for one dialect. */
export function sqlDialect(name: DialectName): SqlDialect {
  return DIALECTS[name]
}
