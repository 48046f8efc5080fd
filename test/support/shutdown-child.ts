/**
 * A small program for the graceful-shutdown scenario: it uses an engine the
 * way a service does (concurrent queries, a transaction, the timers that
 * leak detection, idle timeout and recycling start), disposes it, and must
 * then exit by itself: no `process.exit`, so any socket or timer left behind
 * keeps it alive and fails the test.
 *
 * ```sh
 * node --import tsx test/support/shutdown-child.ts
 * ```
 */
import { sql } from 'kysely'
import { createEngine } from '../../src/engine/index.js'
import { PG_URL } from './servers.js'

const app = process.env.ATHANOR_CHILD_APP ?? 'shutdown_child'
const url = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}application_name=${app}`
const engine = createEngine<unknown>(url, {
  poolSize: 3,
  maxOverflow: 2,
  poolPrePing: true,
  poolRecycle: 60_000,
  idleTimeout: 30_000,
  leakDetectionThreshold: 30_000,
  poolTimeout: 5_000,
})

const results = await Promise.all(
  Array.from({ length: 10 }, (_, i) => sql<{ n: number }>`select ${i}::int as n`.execute(engine.db)),
)
await engine.begin(async (conn) => {
  await sql`select 1`.execute(conn.db)
})
// A query still in flight when dispose() is called must finish.
// By progress, not by the clock: dispose once the query has its connection (past pre-ping), however busy the machine.
const handedOut = new Promise<void>((resolve) => {
  const seen = (): void => void (engine.pool.off('checkout', seen), resolve())
  engine.pool.on('checkout', seen)
})
const inFlight = sql<{ n: number }>`select 42 as n from pg_sleep(0.2)`.execute(engine.db)
await handedOut
await engine.dispose({ timeout: 5_000 })
const last = await inFlight
console.log(
  `athanor-child: done ${JSON.stringify({ queries: results.length, inFlight: last.rows[0].n, open: engine.pool.stats().open })}`,
)
