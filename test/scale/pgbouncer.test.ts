/**
 * PgBouncer specifics. Transaction pooling (`?pgbouncer=transaction`): the
 * engine's statement timeout and isolation levels ride on each transaction
 * (SET LOCAL, START TRANSACTION ISOLATION LEVEL) and never stay on a server
 * session; what cannot work (session SET, session advisory locks, LISTEN,
 * PREPARE) is refused with a typed error, before anything is sent. Session
 * pooling needs no option, even for the settings PgBouncer refuses in the
 * start-up packet. A PgBouncer restart under load: typed errors while it is
 * down, full service after.
 */
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createEngine,
  StatementTimeoutError,
  TransactionPoolingError,
  type Engine,
} from '../../src/engine/index.js'
import { AthanorError } from '../../src/pool/index.js'
import { countBy, describeError, now, report, sleep, until, watchProcessFailures } from '../support/reliability.js'
import { PGBOUNCER_URL, runPgbouncer, withPooler } from '../support/servers.js'
import { startPgbouncer, type PgbouncerInstance } from './pgbouncer-control.js'

const TX_URL = withPooler(PGBOUNCER_URL, 'transaction')

/** The server-side setting as a fresh transaction through PgBouncer sees it, from a plain engine. */
async function seenByOthers(other: Engine<unknown>, setting: string): Promise<string[]> {
  // Many transactions at once spread over the server connections PgBouncer holds.
  return Promise.all(
    Array.from({ length: 12 }, () =>
      other.begin(async (c) => (await sql<{ v: string }>`SELECT current_setting(${setting}) AS v`.execute(c.db)).rows[0].v),
    ),
  )
}

describe.skipIf(!runPgbouncer)('PgBouncer, pool_mode = transaction, ?pgbouncer=transaction', () => {
  let engine: Engine<unknown>
  let plain: Engine<unknown>
  beforeAll(() => {
    engine = createEngine(TX_URL, { poolSize: 4, maxOverflow: 4, statementTimeout: 250, isolationLevel: 'REPEATABLE READ' })
    plain = createEngine(TX_URL, { poolSize: 4, maxOverflow: 8 })
  })
  afterAll(async () => {
    await engine?.dispose()
    await plain?.dispose()
  })

  it('sets the statement timeout and isolation level per transaction, never on the server session', async () => {
    const inside = await engine.begin(async (c) => {
      const { rows } = await sql<{ t: string; i: string }>`SELECT current_setting('statement_timeout') AS t, current_setting('transaction_isolation') AS i`.execute(c.db)
      return rows[0]
    })
    expect(inside).toEqual({ t: '250ms', i: 'repeatable read' })
    const error = await engine.begin((c) => sql`SELECT pg_sleep(2)`.execute(c.db)).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(StatementTimeoutError)
    // A connection's own level goes into its BEGIN too.
    const conn = await engine.connect({ isolationLevel: 'SERIALIZABLE' })
    try {
      await conn.begin()
      const { rows } = await sql<{ i: string }>`SELECT current_setting('transaction_isolation') AS i`.execute(conn.db)
      expect(rows[0].i).toBe('serializable')
      await conn.commit()
    } finally {
      await conn.close()
    }
    // Kysely's own settings win for that transaction.
    const viaKysely = await engine.db
      .transaction()
      .setIsolationLevel('serializable')
      .execute(async (trx) => (await sql<{ i: string }>`SELECT current_setting('transaction_isolation') AS i`.execute(trx)).rows[0].i)
    expect(viaKysely).toBe('serializable')
    // Whichever server connection another client gets has the server's defaults.
    await Promise.all(Array.from({ length: 8 }, () => engine.begin((c) => sql`SELECT 1`.execute(c.db))))
    expect(new Set(await seenByOthers(plain, 'statement_timeout'))).toEqual(new Set(['0']))
    expect(new Set(await seenByOthers(plain, 'transaction_isolation'))).toEqual(new Set(['read committed']))
  })

  it('refuses what needs a session with a typed error saying why, and sends nothing', async () => {
    const cases: [string, RegExp][] = [
      ['LISTEN jobs', /LISTEN needs a session/],
      ['  -- a comment\n SET search_path TO public', /SET LOCAL/],
      ['SET SESSION statement_timeout = 5', /session-level SET/],
      ['SELECT pg_advisory_lock(42)', /pg_advisory_xact_lock/],
      ['SELECT pg_try_advisory_lock(42)', /advisory lock/],
      ['SELECT pg_advisory_unlock_all()', /advisory lock/],
      ['PREPARE q AS SELECT 1', /prepared statement/],
    ]
    for (const [statement, why] of cases) {
      const error = await sql.raw(statement).execute(engine.db).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error, statement).toBeInstanceOf(TransactionPoolingError)
      expect((error as TransactionPoolingError).code).toBe('TRANSACTION_POOLING')
      expect((error as Error).message).toMatch(why)
      expect((error as Error).message).toMatch(/pgbouncer=transaction/)
      expect((error as TransactionPoolingError).statement).toBe(statement)
    }
    // Inside a transaction the same refusals hold, and the transaction carries on.
    const after = await engine.begin(async (c) => {
      await expect(sql`LISTEN jobs`.execute(c.db)).rejects.toBeInstanceOf(TransactionPoolingError)
      // What is transaction-scoped works.
      await sql`SET LOCAL search_path TO public`.execute(c.db)
      await sql`SELECT set_config('application_name', 'scoped', true)`.execute(c.db)
      await sql`SELECT pg_advisory_xact_lock(42)`.execute(c.db)
      return (await sql<{ one: number }>`SELECT 1 AS one`.execute(c.db)).rows[0].one
    })
    expect(after).toBe(1)
    expect(engine.pool.stats().invalidated).toBe(0)
  })

  it('never names a prepared statement (PgBouncer before 1.21 cannot route them)', async () => {
    // Parameters go through the unnamed statement: many distinct queries, each once, all fine.
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => sql<{ v: number }>`SELECT ${i}::int + ${1}::int AS v`.execute(engine.db)),
    )
    expect(results.map((r) => r.rows[0].v)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1))
  })
})

describe.skipIf(!runPgbouncer)('PgBouncer, pool_mode = session, no option', () => {
  let bouncer: PgbouncerInstance | undefined
  beforeAll(async () => {
    bouncer = await startPgbouncer('session')
  })
  afterAll(async () => {
    await bouncer?.stop()
  })

  it('works with the engine settings PgBouncer refuses in the start-up packet: they become session SETs', async () => {
    const engine = createEngine(bouncer!.url, { poolSize: 2, statementTimeout: 300, isolationLevel: 'SERIALIZABLE' })
    try {
      const { rows } = await sql<{ t: string; i: string }>`SELECT current_setting('statement_timeout') AS t, current_setting('default_transaction_isolation') AS i`.execute(engine.db)
      expect(rows[0]).toEqual({ t: '300ms', i: 'serializable' })
      await expect(sql`SELECT pg_sleep(2)`.execute(engine.db)).rejects.toBeInstanceOf(StatementTimeoutError)
      // LISTEN and session state are fine: the session is ours while we hold it.
      const conn = await engine.connect({ isolationLevel: 'READ COMMITTED' })
      await sql`LISTEN jobs`.execute(conn.db)
      await sql`UNLISTEN jobs`.execute(conn.db)
      await conn.close()
      // The connection's own level was reverted to the engine's on return.
      const again = await sql<{ i: string }>`SELECT current_setting('default_transaction_isolation') AS i`.execute(engine.db)
      expect(again.rows[0].i).toBe('serializable')
    } finally {
      await engine.dispose()
    }
  })
})

describe.skipIf(!runPgbouncer)('PgBouncer restart under load (a private transaction-pooling PgBouncer)', () => {
  let bouncer: PgbouncerInstance | undefined
  beforeAll(async () => {
    bouncer = await startPgbouncer('transaction')
  })
  afterAll(async () => {
    await bouncer?.stop()
  })

  it('typed errors only while it is down, every request served after it is back', async () => {
    const WORKERS = 32
    const crashes = watchProcessFailures()
    const engine = createEngine(withPooler(bouncer!.url, 'transaction'), {
      poolSize: 8,
      maxOverflow: 8,
      poolPrePing: true,
      poolTimeout: 5000,
      connectTimeout: 3000,
      connectBackoff: 50,
      connectBackoffMax: 250,
    })
    interface Request {
      readonly start: number
      readonly end: number
      readonly error?: unknown
    }
    const requests: Request[] = []
    let running = true
    const worker = async (): Promise<void> => {
      while (running) {
        const start = now()
        try {
          await engine.begin(async (c) => {
            await sql`SELECT 1`.execute(c.db)
          })
          requests.push({ start, end: now() })
          await sleep(2)
        } catch (error) {
          requests.push({ start, end: now(), error })
          await sleep(20)
        }
      }
    }
    try {
      const workers = Array.from({ length: WORKERS }, worker)
      const okSince = (t: number): number => requests.filter((r) => r.start >= t && r.error === undefined).length
      await until(() => okSince(0) >= 4 * WORKERS, 'requests served before the stop')
      const tDown = now()
      await bouncer!.stop()
      // Down until the workers have felt it (progress, not a sleep).
      await until(() => requests.some((r) => r.error !== undefined && r.end >= tDown), 'an error while PgBouncer is down', { timeoutMs: 20_000 })
      await bouncer!.start()
      const tUp = now()
      await until(() => requests.filter((r) => r.start >= tUp).length >= 4 * WORKERS, 'requests after the restart', { timeoutMs: 30_000 })
      running = false
      await Promise.all(workers)

      const failed = requests.filter((r) => r.error !== undefined)
      expect(failed.filter((r) => !(r.error instanceof AthanorError)).map((r) => describeError(r.error))).toEqual([])
      // Errors only for requests under way while it was down.
      expect(failed.filter((r) => !(r.start < tUp && r.end > tDown)).map((r) => describeError(r.error))).toEqual([])
      const after = requests.filter((r) => r.start >= tUp)
      expect(after.filter((r) => r.error !== undefined).map((r) => describeError(r.error))).toEqual([])
      await expect.poll(() => engine.pool.checkedOut()).toBe(0)
      expect(crashes.stop()).toEqual([])
      report('pgbouncer-restart', {
        workers: WORKERS,
        downMs: Math.round(tUp - tDown),
        requests: requests.length,
        outageErrors: failed.length,
        errors: JSON.stringify(countBy(failed, (r) => (r.error as AthanorError).code)),
        firstSuccessAfterUpMs: Math.round(Math.min(...after.filter((r) => r.error === undefined).map((r) => r.end)) - tUp),
      })
    } finally {
      running = false
      await engine.dispose()
    }
  })
})
