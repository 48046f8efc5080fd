/**
 * `SELECT 1` through athanor's `engine.db`, straight to PostgreSQL and
 * through PgBouncer in transaction pooling (`?pgbouncer=transaction`), in
 * the same run, interleaved, medians of rounds. PgBouncer must be running
 * (scripts/pgbouncer.sh start); PGBOUNCER_URL says where.
 *
 * ```sh
 * npx tsx bench/pgbouncer.ts
 * ```
 */
import { sql } from 'kysely'
import { createEngine } from '../src/index.js'
import { PG_URL, QUICK } from './support/config.js'
import { median } from './support/stats.js'
import { interleavedRounds, type Contender } from './support/throughput.js'

const PGBOUNCER_URL = process.env.PGBOUNCER_URL ?? 'postgresql://postgres@127.0.0.1:6432/test'
const ROUNDS = QUICK ? 2 : 5

function contender(name: string, url: string): Contender {
  return {
    name,
    async open() {
      const engine = createEngine(url, { poolSize: 10, maxOverflow: 0, connectionBudget: false })
      return { call: () => sql`SELECT 1`.execute(engine.db), close: () => engine.dispose() }
    },
  }
}

const pooled = `${PGBOUNCER_URL}${PGBOUNCER_URL.includes('?') ? '&' : '?'}pgbouncer=transaction`
const results = await interleavedRounds([contender('direct', PG_URL), contender('through PgBouncer', pooled)], {
  rounds: ROUNDS,
  durationMs: QUICK ? 1000 : 2000,
  warmupMs: 300,
  concurrency: 32,
})
const direct = median(results.get('direct')!.map((r) => r.perSecond))
const bounced = median(results.get('through PgBouncer')!.map((r) => r.perSecond))
console.log(`SELECT 1 via engine.db, 32 callers, pool 10, median of ${ROUNDS} interleaved rounds`)
console.log(`direct              ${Math.round(direct)} /s`)
console.log(`through PgBouncer   ${Math.round(bounced)} /s  (${(bounced / direct).toFixed(2)}x of direct)`)
