/**
 * Scenario 4, idle cut: the server closes every session idle for longer than
 * its limit (MariaDB `wait_timeout` of 2 s, set on each new connection;
 * PostgreSQL `idle_session_timeout` of 1 s, set through `connectArgs`). With
 * `poolRecycle` below the limit, or with `poolPrePing`, no request ever sees
 * "server has gone away": connections cut while idle are replaced before
 * anyone uses them. A control run with neither proves the cut is real.
 *
 * Each idle period lasts at least the server's limit and then until the
 * server has really cut every session of the burst before (it lists none of
 * them): a loaded server may take longer than its limit to do so, and a
 * burst must never start before the cut it is about.
 */
import { sql, type RawBuilder } from 'kysely'
import { describe, expect, it } from 'vitest'
import { createEngine, type Engine, type EngineOptions } from '../../src/engine/index.js'
import { AthanorError } from '../../src/pool/index.js'
import { countBy, describeError, report, sleep, watchProcessFailures } from '../support/reliability.js'
import { mysqlIdleLimitSql, mysqlIdsAlive, pgIdleLimitOptions, pgPidsAlive } from '../support/server-control.js'
import { MYSQL_URL, PG_URL, runMysql, runPg } from '../support/servers.js'

const BURST = 10
const ROUNDS = 3
const POOL_SIZE = 3

/** A server and the idle limit it enforces. */
interface Target {
  readonly name: string
  readonly url: string
  /** The server's idle limit in ms. */
  readonly limitMs: number
  /** Engine options that impose the limit (if any). */
  readonly options: EngineOptions
  /** Run on each new engine (to impose the limit per connection). */
  readonly setup?: (engine: Engine<unknown>) => void
  /** A statement answering the session's id and its idle limit, as the server sees them. */
  readonly probe: () => RawBuilder<{ id: number | string; lim: number | string }>
  /** The limit as `probe` reports it. */
  readonly expectedLimit: string
  /** How many of these session ids (as `probe` reports them) the server still has. */
  readonly alive: (ids: readonly string[]) => Promise<number>
}

/** What the engine's pool hands to its 'connect' listeners: a connection that can run SQL. */
interface RunsSql {
  run(sql: string): Promise<unknown>
}

const MARIADB_LIMIT_S = 2
const mariadb: Target = {
  name: 'mariadb',
  url: MYSQL_URL,
  limitMs: MARIADB_LIMIT_S * 1000,
  options: {},
  // mysql2 has no init statement: queue one on each new connection, ahead of anything a caller sends.
  setup: (engine) =>
    engine.pool.on('connect', (c) => {
      void (c as RunsSql).run(mysqlIdleLimitSql(MARIADB_LIMIT_S)).catch(() => {})
    }),
  probe: () => sql`select connection_id() as id, @@session.wait_timeout as lim, sleep(0.02) as s`,
  expectedLimit: String(MARIADB_LIMIT_S),
  alive: (ids) => mysqlIdsAlive(ids.map(Number)),
}

const PG_LIMIT_MS = 1000
const postgres: Target = {
  name: 'postgresql',
  url: PG_URL,
  limitMs: PG_LIMIT_MS,
  options: { connectArgs: { options: pgIdleLimitOptions(PG_LIMIT_MS) } },
  probe: () => sql`select pg_backend_pid() as id, current_setting('idle_session_timeout') as lim, pg_sleep(0.02) as s`,
  expectedLimit: '1s',
  alive: (ids) => pgPidsAlive(ids.map(Number)),
}

interface Outcome {
  readonly errors: unknown[]
  /** Session ids used in each round. */
  readonly ids: string[][]
  /** Idle limits other than the target's seen on a connection in use. */
  readonly otherLimits: string[]
}

/** Bursts of BURST concurrent requests, separated by idle periods longer than the server's limit. */
async function idleWorkload(target: Target, options: EngineOptions): Promise<Outcome> {
  const engine = createEngine<unknown>(target.url, {
    poolSize: POOL_SIZE,
    maxOverflow: 2,
    poolTimeout: 5000,
    ...target.options,
    ...options,
  })
  target.setup?.(engine)
  const outcome: Outcome = { errors: [], ids: [], otherLimits: [] }
  try {
    for (let round = 0; round < ROUNDS; round++) {
      if (round > 0) {
        await sleep(target.limitMs)
        const last = outcome.ids[round - 1]
        for (let waited = 0; (await target.alive(last)) > 0; waited += 50) {
          if (waited > 20_000) throw new Error(`the server did not cut sessions ${last.join(', ')} idle for 20 s past its limit`)
          await sleep(50)
        }
      }
      const rs = await Promise.all(
        Array.from({ length: BURST }, () =>
          target
            .probe()
            .execute(engine.db)
            .then(
              (r) => r.rows[0],
              (e: unknown) => {
                outcome.errors.push(e)
                return undefined
              },
            ),
        ),
      )
      const ok = rs.filter((r) => r !== undefined)
      outcome.otherLimits.push(...ok.map((r) => String(r.lim)).filter((l) => l !== target.expectedLimit))
      outcome.ids.push([...new Set(ok.map((r) => String(r.id)))])
    }
  } finally {
    await engine.dispose({ timeout: 1000 })
  }
  return outcome
}

/** Session ids used in a round that were also used in an earlier one (i.e. survived an idle period). */
function reused(ids: string[][]): string[] {
  const seen = new Set<string>()
  const again: string[] = []
  for (const round of ids) {
    for (const id of round) if (seen.has(id)) again.push(id)
    for (const id of round) seen.add(id)
  }
  return again
}

for (const target of [mariadb, postgres]) {
  const run = target === mariadb ? runMysql : runPg
  describe.skipIf(!run)(`scenario 4: idle cut by the server (${target.name}, limit ${target.limitMs} ms)`, () => {
    it.concurrent('poolRecycle below the limit: no request sees "server has gone away"', async () => {
      const crashes = watchProcessFailures()
      const outcome = await idleWorkload(target, { poolRecycle: target.limitMs - 400 })
      expect(outcome.errors.map(describeError)).toEqual([])
      expect(outcome.otherLimits).toEqual([])
      expect(outcome.ids.flat().length).toBeGreaterThan(0)
      expect(reused(outcome.ids)).toEqual([])
      expect(crashes.failures).toEqual([])
      crashes.stop()
      report(`idle-cut-${target.name}-recycle`, { limitMs: target.limitMs, requests: BURST * ROUNDS, errors: outcome.errors.length })
    })

    it.concurrent('poolPrePing: no request sees "server has gone away"', async () => {
      const crashes = watchProcessFailures()
      const outcome = await idleWorkload(target, { poolPrePing: true })
      expect(outcome.errors.map(describeError)).toEqual([])
      expect(outcome.otherLimits).toEqual([])
      expect(reused(outcome.ids)).toEqual([])
      expect(crashes.failures).toEqual([])
      crashes.stop()
      report(`idle-cut-${target.name}-preping`, { limitMs: target.limitMs, requests: BURST * ROUNDS, errors: outcome.errors.length })
    })

    it.concurrent('control, neither: the cut is real; whatever a request sees is a typed disconnect', async () => {
      const crashes = watchProcessFailures()
      const outcome = await idleWorkload(target, {})
      expect(outcome.otherLimits).toEqual([])
      // The server did cut the idle sessions: without recycling, a surviving
      // idle connection would have been reused in the next burst.
      expect(reused(outcome.ids)).toEqual([])
      for (const e of outcome.errors) {
        expect(e, describeError(e)).toBeInstanceOf(AthanorError)
        expect((e as AthanorError).code).toBe('DB_DISCONNECT')
      }
      // Each dead connection is noticed at most once: never more errors than idle connections cut.
      expect(outcome.errors.length).toBeLessThanOrEqual(POOL_SIZE * (ROUNDS - 1))
      expect(crashes.failures).toEqual([])
      crashes.stop()
      report(`idle-cut-${target.name}-control`, {
        limitMs: target.limitMs,
        requests: BURST * ROUNDS,
        goneAwayErrors: outcome.errors.length,
        kinds: JSON.stringify(countBy(outcome.errors, describeError)),
      })
    })
  })
}
