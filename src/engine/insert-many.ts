import type { DbConnection, DialectDriver } from './dialect.js'
import { describeStatementLimit, splitTableReference, sqlSyntax } from './dialects/syntax.js'
import { DatabaseError, InsertManyError, InvalidValueError, StatementTooLargeError } from './errors.js'
import type { InsertManyOptions } from './types.js'
import { isWellFormed, untypedValueCheck, valueBytes, type ValueCheck } from './values.js'

/** Rows per statement when the caller does not say. */
export const DEFAULT_PAGE_SIZE = 1000

/** Bytes kept free in every statement for the protocol's own framing. */
const STATEMENT_SLACK = 1024

/** Rows that share one set of columns, by their positions in the input. */
interface Group {
  readonly columns: readonly string[]
  readonly indexes: number[]
}

/**
 * {@link InsertManyOptions} plus what the session's flush already knows: the
 * columns every row gives (the rows are then not grouped by their keys, and
 * only these columns are read from each row; `undefined` is sent as NULL), and
 * that every value was checked against its column's type.
 *
 * ```ts
 * await insertMany(c, dialect, 'person', rows, { columns: ['name', 'email'], returning: ['id'], checked: true })
 * ```
 */
export interface KnownColumnsInsertOptions extends InsertManyOptions {
  readonly columns?: readonly string[]
  /** The caller checked every value against its column type: skip the untyped check. */
  readonly checked?: boolean
}

/** `@@auto_increment_increment` per MySQL connection, read once. */
const incrementOf = new WeakMap<DbConnection, number>()

/**
 * SQLAlchemy's "insertmanyvalues": inserts `rows` as multi-row
 * `INSERT ... VALUES (...), (...)` statements, one page at a time.
 *
 * - `table` is a table name, or `'schema.table'` as Kysely reads it; each
 *   part is quoted on its own.
 * - Every value is checked before anything is sent (see
 *   {@link untypedValueCheck}; the session checks against column types
 *   instead): a bad one is an {@link InvalidValueError} naming table, column
 *   and row, and nothing is inserted.
 * - Rows are grouped by the set of keys they give (keys whose value is
 *   `undefined` count as not given, so the column's default applies); each
 *   group is paged separately, groups in order of first appearance.
 * - A page holds at most `pageSize` rows, at most `maxParameters / columns`
 *   rows, and at most `maxStatementBytes` bytes (MySQL's max_allowed_packet,
 *   PostgreSQL's 1 GB message, SQLite's SQLITE_MAX_LENGTH), so no statement
 *   exceeds the server's limits. A single row over the byte limit is a
 *   {@link StatementTooLargeError}, raised before anything is sent.
 * - `returning` columns come back one object per input row, in input order.
 *   With RETURNING (PostgreSQL, SQLite, PGlite, MariaDB 10.5+) the rows of a
 *   plain `INSERT ... VALUES ... RETURNING` come back in VALUES order on every
 *   one of these servers; when a returned column was also given in the input
 *   with distinct values, rows are matched on it instead of on position.
 *   On MySQL (no RETURNING) a missing column is the auto-increment key:
 *   first insert id + i * `@@auto_increment_increment`, which InnoDB
 *   guarantees consecutive for a single multi-row INSERT with a known row count.
 *
 * Runs on the connection as it is: the caller decides about the transaction.
 *
 * ```ts
 * const ids = await insertMany(c, dialect, 'person', [{ name: 'Ada' }, { name: 'Alan' }], { returning: ['id'] })
 * // [{ id: 1 }, { id: 2 }]
 * ```
 */
export async function insertMany<R extends Record<string, unknown>>(
  connection: DbConnection,
  dialect: DialectDriver,
  table: string,
  rows: readonly Record<string, unknown>[],
  options: KnownColumnsInsertOptions = {},
): Promise<R[]> {
  const { returning, pageSize, quotedTable } = checkArguments(dialect, table, rows, options)
  if (rows.length === 0) return []
  const out: R[] = returning.length > 0 ? new Array<R>(rows.length) : []
  const capabilities = dialect.capabilities
  const returningSql =
    returning.length > 0 && capabilities.insertReturning ? ` RETURNING ${returning.map((c) => dialect.quoteIdentifier(c)).join(', ')}` : ''

  const known = options.columns
  const groups = known !== undefined ? [knownGroup(known, rows.length)] : groupByColumns(rows)
  const limit = capabilities.maxStatementBytes
  const heads: string[] = new Array(groups.length)
  const sizes: number[][] = new Array(groups.length)
  // Everything is checked and measured before the first statement: a bad row sends nothing.
  const check = options.checked === true ? undefined : untypedValueCheck(dialect.name)
  for (let g = 0; g < groups.length; g++) {
    const { columns, indexes } = groups[g]
    heads[g] = columns.length === 0 ? '' : `INSERT INTO ${quotedTable} (${columns.map((c) => dialect.quoteIdentifier(c)).join(', ')}) VALUES `
    sizes[g] = measure(table, rows, columns, indexes, check)
    const fixed = heads[g].length + returningSql.length + STATEMENT_SLACK
    const row = rowText(columns.length)
    for (let i = 0; i < indexes.length; i++) {
      if (fixed + row + sizes[g][i] > limit) {
        throw new StatementTooLargeError(
          `insertMany into "${table}": row ${indexes[i]} takes about ${sizes[g][i]} bytes, more than one statement may carry: ${describeStatementLimit(dialect.name, limit)}`,
          {},
          { limit, size: fixed + row + sizes[g][i], table, row: indexes[i] },
        )
      }
    }
  }

  for (let g = 0; g < groups.length; g++) {
    const { columns, indexes } = groups[g]
    const perPage = Math.max(1, Math.min(pageSize, Math.floor(capabilities.maxParameters / Math.max(1, columns.length))))
    const head = heads[g]
    const sqlCache = new Map<number, string>()
    const width = columns.length
    const rowSizes = sizes[g]
    const budget = limit - head.length - returningSql.length - STATEMENT_SLACK
    const perRow = rowText(width)
    let start = 0
    while (start < indexes.length) {
      // As many rows as the parameter count, pageSize and the byte budget allow (at least one: each fits alone).
      let end = start
      let bytes = 0
      while (end < indexes.length && end - start < perPage && (end === start || bytes + perRow + rowSizes[end] <= budget)) {
        bytes += perRow + rowSizes[end]
        end++
      }
      const page = indexes.slice(start, end)
      start = end
      if (columns.length === 0) {
        // Nothing given: one DEFAULT VALUES statement per row.
        for (const index of page) {
          const result = await connection.run<R>(defaultValuesSql(dialect, quotedTable) + returningSql)
          if (returning.length > 0) await collect(connection, dialect, [index], rows, columns, returning, result, out)
        }
        continue
      }
      let sql = sqlCache.get(page.length)
      if (sql === undefined) {
        sql = head + valuesSql(dialect, width, page.length) + returningSql
        sqlCache.set(page.length, sql)
      }
      const parameters: unknown[] = new Array(page.length * width)
      let p = 0
      for (let r = 0; r < page.length; r++) {
        const row = rows[page[r]]
        for (let c = 0; c < width; c++) {
          const value = row[columns[c]]
          parameters[p++] = value === undefined ? null : value
        }
      }
      const result = await connection.run<R>(sql, parameters)
      if (returning.length > 0) await collect(connection, dialect, page, rows, columns, returning, result, out)
    }
  }
  return out
}

/** The SQL text one row adds besides its values: placeholders, commas, parentheses. */
function rowText(width: number): number {
  return width * 8 + 4
}

/**
 * Checks a group's values (when `check` is given) and returns each row's size
 * in bytes, as sent: one tight pass, row by row.
 */
function measure(
  table: string,
  rows: readonly Record<string, unknown>[],
  columns: readonly string[],
  indexes: readonly number[],
  check: ValueCheck | undefined,
): number[] {
  const sizes: number[] = new Array(indexes.length)
  const width = columns.length
  for (let i = 0; i < indexes.length; i++) {
    const row = rows[indexes[i]]
    let bytes = 0
    for (let c = 0; c < width; c++) {
      const v = row[columns[c]]
      // Strings and numbers, nearly every value, are sized and checked inline; the rest by the general functions.
      let problem: string | undefined
      if (typeof v === 'string') {
        bytes += v.length <= 256 ? 3 * v.length + 4 : valueBytes(v)
        if (check !== undefined && !isWellFormed(v)) problem = check(v)
      } else if (typeof v === 'number') {
        bytes += 28
        if (check !== undefined && !Number.isFinite(v)) problem = check(v)
      } else {
        bytes += valueBytes(v)
        if (check !== undefined && v !== null && v !== undefined) problem = check(v)
      }
      if (problem !== undefined) throw invalidValue(table, columns[c], indexes[i], problem, 'insertMany')
    }
    sizes[i] = bytes
  }
  return sizes
}

/**
 * The error for a value that does not fit its column: names table, column,
 * row and what is wrong, never the value.
 *
 * ```ts
 * throw invalidValue('person', 'born', 3, 'an Invalid Date', 'insertMany')
 * ```
 */
export function invalidValue(table: string, column: string, row: number, problem: string, where: string): InvalidValueError {
  return new InvalidValueError(`${where} into "${table}": row ${row}, column "${column}": ${problem}`, table, column, row, problem)
}

function checkArguments(
  dialect: DialectDriver,
  table: string,
  rows: readonly Record<string, unknown>[],
  options: KnownColumnsInsertOptions,
): { returning: readonly string[]; pageSize: number; quotedTable: string } {
  if (typeof table !== 'string' || table === '') throw new InsertManyError('insertMany needs a table name (a non-empty string)')
  const reference = splitTableReference(table)
  if (reference.table === '' || reference.schema === '' || reference.table.includes('.')) {
    throw new InsertManyError(`insertMany: "${table}" is not a table reference: write "table" or "schema.table"`)
  }
  if (!Array.isArray(rows)) throw new InsertManyError(`insertMany needs an array of rows, got ${typeof rows}`)
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw new InsertManyError(`insertMany: row ${i} is not an object`)
    }
  }
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE
  if (!Number.isInteger(pageSize) || pageSize < 1) {
    throw new InsertManyError(`insertMany: pageSize must be a positive integer, got ${String(pageSize)}`)
  }
  const returning = options.returning ?? []
  if (!Array.isArray(returning) || returning.some((c) => typeof c !== 'string' || c === '')) {
    throw new InsertManyError('insertMany: returning must be an array of column names')
  }
  const columns = options.columns
  if (columns !== undefined && (!Array.isArray(columns) || columns.some((c) => typeof c !== 'string' || c === ''))) {
    throw new InsertManyError('insertMany: columns must be an array of column names')
  }
  return { returning, pageSize, quotedTable: sqlSyntax(dialect.name).quoteTable(reference.table, reference.schema) }
}

/** All rows in one group, with the caller's columns. */
function knownGroup(columns: readonly string[], count: number): Group {
  const indexes: number[] = new Array(count)
  for (let i = 0; i < count; i++) indexes[i] = i
  return { columns, indexes }
}

/** Groups row positions by the (sorted) keys each row gives. */
function groupByColumns(rows: readonly Record<string, unknown>[]): Group[] {
  const groups = new Map<string, Group>()
  // Fast path: most inputs repeat the previous row's keys in the same order.
  let previousKeys: string[] | undefined
  let previousGroup: Group | undefined
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]
    const keys = Object.keys(row)
    if (previousGroup !== undefined && previousKeys !== undefined && sameKeysAllDefined(row, keys, previousKeys)) {
      previousGroup.indexes.push(i)
      continue
    }
    const given = keys.filter((k) => row[k] !== undefined)
    const columns = [...given].sort()
    const key = columns.join('\u0000')
    let group = groups.get(key)
    if (group === undefined) {
      group = { columns, indexes: [] }
      groups.set(key, group)
    }
    group.indexes.push(i)
    previousKeys = given.length === keys.length ? keys : undefined
    previousGroup = group
  }
  return [...groups.values()]
}

function sameKeysAllDefined(row: Record<string, unknown>, keys: readonly string[], previous: readonly string[]): boolean {
  if (keys.length !== previous.length) return false
  for (let k = 0; k < keys.length; k++) {
    if (keys[k] !== previous[k] || row[keys[k]] === undefined) return false
  }
  return true
}

/** Placeholder lists by dialect, then by `columns:rows`: the same few shapes recur on every flush. */
const valuesCache = new WeakMap<DialectDriver, Map<string, string>>()
const VALUES_CACHE_LIMIT = 64

function valuesSql(dialect: DialectDriver, columnCount: number, rowCount: number): string {
  let cache = valuesCache.get(dialect)
  if (cache === undefined) valuesCache.set(dialect, (cache = new Map()))
  const key = `${columnCount}:${rowCount}`
  let text = cache.get(key)
  if (text !== undefined) {
    // Most recently used last, so eviction drops shapes not seen for a while.
    cache.delete(key)
    cache.set(key, text)
  } else {
    text = buildValuesSql(dialect, columnCount, rowCount)
    // Bounded: odd page sizes (the last page of each insert) must not grow it forever.
    if (cache.size >= VALUES_CACHE_LIMIT) cache.delete(cache.keys().next().value as string)
    cache.set(key, text)
  }
  return text
}

function buildValuesSql(dialect: DialectDriver, columnCount: number, rowCount: number): string {
  const tuples: string[] = new Array(rowCount)
  let p = 0
  for (let r = 0; r < rowCount; r++) {
    const slots: string[] = new Array(columnCount)
    for (let c = 0; c < columnCount; c++) slots[c] = dialect.placeholder(p++)
    tuples[r] = `(${slots.join(', ')})`
  }
  return tuples.join(', ')
}

function defaultValuesSql(dialect: DialectDriver, quotedTable: string): string {
  return dialect.name === 'mysql' ? `INSERT INTO ${quotedTable} () VALUES ()` : `INSERT INTO ${quotedTable} DEFAULT VALUES`
}

/** Puts one page's returned values at their input positions. */
async function collect<R extends Record<string, unknown>>(
  connection: DbConnection,
  dialect: DialectDriver,
  page: readonly number[],
  rows: readonly Record<string, unknown>[],
  columns: readonly string[],
  returning: readonly string[],
  result: { rows: R[]; insertId?: bigint },
  out: R[],
): Promise<void> {
  if (dialect.capabilities.insertReturning) {
    const returned = result.rows
    if (returned.length !== page.length) {
      throw new DatabaseError(`insertMany: the database returned ${returned.length} rows for ${page.length} inserted`)
    }
    const order = matchOrder(page, rows, columns, returning, returned)
    for (let j = 0; j < page.length; j++) out[page[j]] = returned[order === undefined ? j : order[j]]
    return
  }
  // MySQL: generated values are the auto-increment range starting at insertId.
  const generated = returning.filter((c) => !columns.includes(c))
  if (generated.length > 1) {
    throw new InsertManyError(
      `insertMany: without RETURNING only the auto-increment key can be returned, but ${generated.join(', ')} were not given in the rows`,
    )
  }
  let first: bigint | undefined
  let step = 1n
  if (generated.length === 1) {
    if (result.insertId === undefined) {
      throw new InsertManyError(`insertMany: ${generated[0]} was not given and the table produced no auto-increment id`)
    }
    first = result.insertId
    step = BigInt(await autoIncrementStep(connection))
  }
  for (let j = 0; j < page.length; j++) {
    const input = rows[page[j]]
    const row: Record<string, unknown> = {}
    for (const column of returning) {
      if (column === generated[0] && first !== undefined) {
        const id = first + BigInt(j) * step
        row[column] = id <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(id) : id
      } else {
        row[column] = input[column]
      }
    }
    out[page[j]] = row as R
  }
}

/**
 * When a returned column was also given, with distinct scalar values, maps
 * each input position to its returned row by that value (a client-side
 * sentinel); otherwise `undefined`: position order is trusted.
 */
function matchOrder(
  page: readonly number[],
  rows: readonly Record<string, unknown>[],
  columns: readonly string[],
  returning: readonly string[],
  returned: readonly Record<string, unknown>[],
): number[] | undefined {
  const sentinel = returning.find((c) => columns.includes(c))
  if (sentinel === undefined) return undefined
  const byValue = new Map<string, number>()
  for (let j = 0; j < returned.length; j++) {
    const key = scalarKey(returned[j][sentinel])
    if (key === undefined || byValue.has(key)) return undefined
    byValue.set(key, j)
  }
  const order: number[] = new Array(page.length)
  for (let j = 0; j < page.length; j++) {
    const key = scalarKey(rows[page[j]][sentinel])
    const at = key === undefined ? undefined : byValue.get(key)
    if (at === undefined) return undefined
    order[j] = at
  }
  return order
}

function scalarKey(value: unknown): string | undefined {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') return String(value)
  return undefined
}

async function autoIncrementStep(connection: DbConnection): Promise<number> {
  let step = incrementOf.get(connection)
  if (step === undefined) {
    const { rows } = await connection.run<{ step: number | string }>('SELECT @@auto_increment_increment AS step')
    step = Number(rows[0]?.step ?? 1) || 1
    incrementOf.set(connection, step)
  }
  return step
}
