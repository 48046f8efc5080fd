import type { CompiledQuery, QueryResult } from 'kysely'
import type { DbConnection } from './dialect.js'
import { NotSupportedError } from './errors.js'
import type { StatementQueue } from './statement-queue.js'

/**
 * Why a statement is refused while a `.stream()` is being read on the same
 * holder: the driver cannot run it before the stream ends (mysql2 queues it
 * behind the streamed result, better-sqlite3 refuses it), so awaiting it in
 * the loop would wait forever.
 */
export const STREAM_OPEN =
  "a .stream() on this connection is still being read: finish or break out of it before running another statement on the same connection (use engine.db, or another connection, inside the loop); the statement was not sent"

/**
 * Runs Kysely's `.stream()` on a holder's connection: waits its turn in the
 * holder's queue, keeps the queue to itself until the iterator ends (read to
 * the end, broken out of, or failed), and calls `streaming(true)` /
 * `streaming(false)` around it so the holder refuses its other statements
 * meanwhile. Internal.
 *
 * ```ts
 * yield* streamOnQueue(this.#queue, () => this.#live(), query, chunkSize, (on) => (this.#streaming = on))
 * ```
 */
export async function* streamOnQueue<R>(
  queue: StatementQueue,
  connection: () => DbConnection | Promise<DbConnection>,
  query: CompiledQuery,
  chunkSize: number,
  streaming: (on: boolean) => void,
): AsyncIterableIterator<QueryResult<R>> {
  if (!Number.isInteger(chunkSize) || chunkSize <= 0) {
    throw new NotSupportedError(`.stream(chunkSize): chunkSize must be a positive integer, got ${String(chunkSize)}`)
  }
  let finish!: () => void
  const held = new Promise<void>((resolve) => (finish = resolve))
  // The queue's section lasts until `finish()`: statements issued before the stream run first.
  await new Promise<void>((started, refused) => {
    queue
      .exclusive(
        () => {
          started()
          return held
        },
        true,
        query.sql,
      )
      .catch(refused)
  })
  streaming(true)
  try {
    yield* (await connection()).streamQuery<R>(query, chunkSize)
  } finally {
    streaming(false)
    finish()
  }
}
