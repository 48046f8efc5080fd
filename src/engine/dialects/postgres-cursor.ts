import type { CompiledQuery, QueryResult } from 'kysely'
import { wholeInBatches } from '../dialect.js'
import type { DbConnection } from '../dialect.js'

/** Statements a cursor can be declared for (PostgreSQL's DECLARE takes a SELECT or VALUES). */
const CURSOR_STATEMENT = /^[\s(]*(select|values|table|with)\b/i

let cursors = 0

/**
 * Kysely's `.stream()` on PostgreSQL and PGlite: a server-side cursor,
 * `DECLARE ... NO SCROLL CURSOR FOR <query>` then `FETCH FORWARD <chunkSize>`
 * until a short batch, so only one batch is in memory. A cursor lives in a
 * transaction: outside one, the stream opens its own and commits it at the
 * end (rolls it back on error); inside the caller's, it only closes the
 * cursor. A statement a cursor cannot hold (INSERT ... RETURNING) runs whole.
 * Internal.
 *
 * ```ts
 * for await (const { rows } of cursorStream(connection, query, 100)) handle(rows)
 * ```
 */
export async function* cursorStream<R>(connection: DbConnection, query: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
  if (!CURSOR_STATEMENT.test(query.sql)) {
    yield* wholeInBatches<R>(connection, query, chunkSize)
    return
  }
  const cursor = `athanor_cursor_${++cursors}`
  const own = !connection.inTransaction
  if (own) {
    connection.rolledBackBy = undefined
    connection.failedBy = undefined
    for (const statement of connection.dialect.beginStatements()) await connection.run(statement)
  }
  let done = false
  let thrown = false
  try {
    await connection.run(`DECLARE ${cursor} NO SCROLL CURSOR FOR ${query.sql}`, query.parameters)
    const fetch = `FETCH FORWARD ${chunkSize} FROM ${cursor}`
    for (;;) {
      const { rows } = await connection.run<R>(fetch)
      if (rows.length > 0) yield { rows }
      if (rows.length < chunkSize) break
    }
    done = true
  } catch (error) {
    thrown = true
    throw error
  } finally {
    // Read to the end, broken out of early, or failed: the cursor (and our own transaction) goes.
    const ending = own ? (done ? connection.commit() : connection.rollback()) : connection.failedBy === undefined ? connection.run(`CLOSE ${cursor}`) : undefined
    // After a failure its error is the one to see; the pool's reset rolls back what is left.
    if (ending !== undefined) await (thrown ? ending.catch(() => undefined) : ending)
  }
}
