import { CompiledQuery } from 'kysely'
import type { Connection, DialectName, Engine } from '../engine/types.js'
import type { SqlRunner } from './dialect-support.js'

/**
 * An engine (a connection is checked out for the call) or a connection you hold.
 *
 * ```ts
 * await reflect(engine); await reflect(await engine.connect())
 * ```
 */
export type MigrateBind<DB = unknown> = Engine<DB> | Connection<DB>

/** Raw statements on one held connection. Internal. */
export function sqlRunner(conn: Connection<unknown>): SqlRunner {
  return async <R>(text: string, parameters: readonly unknown[] = []) =>
    (await conn.db.executeQuery<R>(CompiledQuery.raw(text, [...parameters]))).rows as R[]
}

/** The dialect a bind talks to. */
export function dialectOf<DB>(bind: MigrateBind<DB>): DialectName {
  return 'connect' in bind ? bind.dialect : bind.engine.dialect
}

/** Runs `fn` on a held connection: the bind itself, or one checked out of the engine and returned after. */
export async function withConnection<DB, T>(bind: MigrateBind<DB>, fn: (conn: Connection<unknown>) => Promise<T>): Promise<T> {
  if (!('connect' in bind)) return fn(bind as Connection<unknown>)
  const conn = await bind.connect()
  try {
    return await fn(conn as Connection<unknown>)
  } finally {
    await conn.close()
  }
}
