import { CompiledQuery } from 'kysely'
import { InvalidRequestError } from './errors.js'
import type { SqlDialect } from './sql-dialect.js'

/** `session.stream()`'s options. */
export interface StreamOptions {
  /** Rows fetched per round trip, and objects held strongly at a time. Default 1000. */
  readonly batchSize?: number
}

/** The default {@link StreamOptions.batchSize}. */
export const DEFAULT_STREAM_BATCH = 1000

/** The batch size asked for, checked (it is written into SQL). */
export function streamBatchSize(options: StreamOptions): number {
  const n = options.batchSize ?? DEFAULT_STREAM_BATCH
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidRequestError(`stream(): batchSize must be a positive integer, got ${String(n)}`)
  return n
}

let cursorCount = 0

/**
 * A server-side cursor over a query (PostgreSQL and PGlite, in a
 * transaction): `DECLARE`, then `FETCH FORWARD n` per batch, `CLOSE` at the end.
 *
 * ```ts
 * const c = cursorStatements(sqlDialect('postgresql'), compiled, 500)
 * c.declare.sql // 'DECLARE "athanor_stream_1" NO SCROLL CURSOR FOR select ...'
 * ```
 */
export function cursorStatements(d: SqlDialect, query: CompiledQuery, batchSize: number): { declare: CompiledQuery; fetch: CompiledQuery; close: CompiledQuery } {
  const name = d.quote(`athanor_stream_${++cursorCount}`)
  return {
    declare: CompiledQuery.raw(`DECLARE ${name} NO SCROLL CURSOR FOR ${query.sql}`, [...query.parameters]),
    fetch: CompiledQuery.raw(`FETCH FORWARD ${batchSize} FROM ${name}`, []),
    close: CompiledQuery.raw(`CLOSE ${name}`, []),
  }
}

/**
 * One keyset page of a query (MySQL, SQLite, and PostgreSQL outside a
 * transaction): the query's rows after the last key seen, in primary-key
 * order, `batchSize` at a time. Each page is an index range scan on the
 * key, however far the stream has gone (no OFFSET).
 *
 * ```ts
 * keysetPage(sqlDialect('sqlite'), compiled, ['id'], [41], 1000).sql
 * // 'SELECT * FROM (select * from "t") AS "athanor_stream" WHERE ("id") > (?) ORDER BY "id" LIMIT 1000'
 * ```
 */
export function keysetPage(d: SqlDialect, query: CompiledQuery, pk: readonly string[], after: readonly unknown[] | null, batchSize: number): CompiledQuery {
  const q = d.quote
  const n = query.parameters.length
  const where = after === null ? '' : ` WHERE (${pk.map(q).join(', ')}) > (${pk.map((_, i) => d.placeholder(n + i)).join(', ')})`
  const sql = `SELECT * FROM (${query.sql}) AS ${q('athanor_stream')}${where} ORDER BY ${pk.map(q).join(', ')} LIMIT ${batchSize}`
  return CompiledQuery.raw(sql, after === null ? [...query.parameters] : [...query.parameters, ...after])
}
