/**
 * Scenario 2, kill storms on a money-transfer ledger: workers move amounts
 * between accounts in transactions while the server kills their sessions at
 * random. Afterwards the total is unchanged, every transfer the client saw
 * committed is in the table, no transfer the client saw fail is there, every
 * account balance matches its transfers, and the pool is back to at most
 * `poolSize` idle connections.
 *
 * A COMMIT whose reply was lost is "unknown" to the client: those are counted
 * apart and checked either way (all of the transfer or none of it).
 */
import { randomUUID } from 'node:crypto'
import { sql, type Kysely } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { createEngine, DisconnectError, type Engine } from '../../src/engine/index.js'
import { AthanorError, PoolConnectError } from '../../src/pool/index.js'
import { sessionmaker } from '../../src/session/index.js'
import { countBy, describeError, now, report, scoped, watchProcessFailures, withAppName } from '../support/reliability.js'
import {
  createMysqlUser,
  dropMysqlUser,
  killMysql,
  mysqlConnectionIds,
  pgBackends,
  terminatePg,
} from '../support/server-control.js'
import { PG_URL, runMysql, runPg } from '../support/servers.js'

const ACCOUNTS = 8
const START_BALANCE = 1000
const WORKERS = 12
const POOL_SIZE = 5
/**
 * The storm is paced by progress, not by the clock: a session is killed after
 * every KILL_EVERY finished transfers (as soon as the previous kill is done),
 * and the storm lasts until KILLS sessions were killed and MIN_COMMITTED
 * transfers committed, however slow the machine. MAX_TRANSFERS only stops a
 * storm that cannot reach that (the assertions below then say why).
 */
const KILL_EVERY = 3
const KILLS = 12
const MIN_COMMITTED = 20
const MAX_TRANSFERS = 20_000

type Outcome = 'committed' | 'failed' | 'unknown'

interface Storm {
  readonly name: string
  /** Transfers through `engine.connect()` (default) or through a Session's unit of work. */
  readonly via?: 'connection' | 'session'
  readonly url: string
  /** Kills one of the scenario's sessions at random; returns how many it killed. */
  kill(): Promise<number>
  backends(): Promise<number>
  cleanup(): Promise<void>
}

async function runStorm(storm: Storm): Promise<void> {
  const crashes = watchProcessFailures()
  const ACC = scoped(`kill_storm_${storm.name}_accounts`)
  const TRX = scoped(`kill_storm_${storm.name}_transfers`)
  const engine: Engine<unknown> = createEngine<unknown>(storm.url, {
    poolSize: POOL_SIZE,
    maxOverflow: 5,
    poolTimeout: 5000,
    connectTimeout: 3000,
  })
  try {
    await sql`drop table if exists ${sql.table(TRX)}`.execute(engine.db)
    await sql`drop table if exists ${sql.table(ACC)}`.execute(engine.db)
    await sql`create table ${sql.table(ACC)} (id int primary key, balance bigint not null)`.execute(engine.db)
    await sql`create table ${sql.table(TRX)} (id varchar(64) primary key, src int not null, dst int not null, amount int not null)`.execute(
      engine.db,
    )
    for (let id = 1; id <= ACCOUNTS; id++) {
      await sql`insert into ${sql.table(ACC)} (id, balance) values (${id}, ${START_BALANCE})`.execute(engine.db)
    }

    const outcomes = new Map<string, Outcome>()
    let committedCount = 0
    const committedNow = (id: string): void => {
      outcomes.set(id, 'committed')
      committedCount++
    }
    const errors: unknown[] = []
    const Session = sessionmaker<unknown>({ bind: engine })
    const pick = () => {
      const src = 1 + Math.floor(Math.random() * ACCOUNTS)
      const dst = 1 + ((src - 1 + 1 + Math.floor(Math.random() * (ACCOUNTS - 1))) % ACCOUNTS)
      const amount = 1 + Math.floor(Math.random() * 50)
      // Lock accounts in id order so transfers never deadlock each other.
      const steps: [number, number][] = src < dst ? [[src, -amount], [dst, amount]] : [[dst, amount], [src, -amount]]
      return { id: randomUUID(), src, dst, amount, steps }
    }

    // Where each statement of a transfer ran (PostgreSQL: backend pid and transaction id).
    // All statements of one transfer must share one transaction: anything else is a split.
    const ranIn = new Map<string, string[]>()
    const isPg = storm.url.startsWith('postgres')
    const step = async (db: Kysely<unknown>, id: string, acct: number, delta: number): Promise<void> => {
      if (!isPg) {
        await sql`update ${sql.table(ACC)} set balance = balance + ${delta} where id = ${acct}`.execute(db)
        return
      }
      const r = await sql<{ where: string }>`update ${sql.table(ACC)} set balance = balance + ${delta} where id = ${acct}
        returning pg_backend_pid() || '/' || txid_current() as where`.execute(db)
      const list = ranIn.get(id) ?? []
      list.push(r.rows[0].where)
      ranIn.set(id, list)
    }

    const viaConnection = async (): Promise<void> => {
      const { id, src, dst, amount, steps } = pick()
      let phase: 'connect' | 'work' | 'commit' = 'connect'
      let conn
      try {
        conn = await engine.connect()
        phase = 'work'
        await conn.begin()
        for (const [acct, delta] of steps) await step(conn.db, id, acct, delta)
        await sql`insert into ${sql.table(TRX)} (id, src, dst, amount) values (${id}, ${src}, ${dst}, ${amount})`.execute(conn.db)
        phase = 'commit'
        await conn.commit()
        committedNow(id)
      } catch (e) {
        errors.push(e)
        if (phase !== 'connect') outcomes.set(id, phase === 'commit' ? 'unknown' : 'failed')
      } finally {
        // Closing a connection whose session was killed must not throw.
        if (conn) await conn.close().catch((e: unknown) => errors.push(e))
      }
    }

    const viaSession = async (): Promise<void> => {
      const { id, src, dst, amount, steps } = pick()
      let phase: 'work' | 'commit' = 'work'
      const session = Session()
      try {
        // The session checks a connection out and begins at its first statement.
        for (const [acct, delta] of steps) await step(session.db, id, acct, delta)
        await sql`insert into ${sql.table(TRX)} (id, src, dst, amount) values (${id}, ${src}, ${dst}, ${amount})`.execute(session.db)
        phase = 'commit'
        await session.commit()
        committedNow(id)
      } catch (e) {
        errors.push(e)
        outcomes.set(id, phase === 'commit' ? 'unknown' : 'failed')
      } finally {
        await session.close().catch((e: unknown) => errors.push(e))
      }
    }
    const transfer = storm.via === 'session' ? viaSession : viaConnection

    let kills = 0
    let finished = 0
    let killedAt = 0
    let killing: Promise<void> | undefined
    const stormGoing = (): boolean => (kills < KILLS || committedCount < MIN_COMMITTED) && finished < MAX_TRANSFERS
    const t0 = now()
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        while (stormGoing()) {
          await transfer()
          finished++
          // One kill at a time, each after KILL_EVERY more transfers: the kill rate follows the work rate.
          if (killing === undefined && finished - killedAt >= KILL_EVERY) {
            killedAt = finished
            killing = storm.kill().then((n) => {
              kills += n
              killing = undefined
            })
          }
        }
      }),
    )
    const stormMs = now() - t0
    // Each kill resolves once its session has exited on the server, so its
    // notice is on the way to the pool; the server round trips below (a new
    // control connection each) give the pool's sockets loop turns to read it.
    await killing
    await expect.poll(storm.backends).toBeLessThanOrEqual(POOL_SIZE)

    // The pool is whole again: nothing checked out, at most poolSize idle.
    expect(engine.pool.checkedOut()).toBe(0)
    expect(engine.pool.checkedIn()).toBeLessThanOrEqual(POOL_SIZE)

    // Every error the client saw is typed, and says what happened: the connection was lost.
    const untyped = errors.filter((e) => !(e instanceof AthanorError)).map(describeError)
    expect(untyped).toEqual([])
    const notDisconnects = errors.filter((e) => !(e instanceof DisconnectError || e instanceof PoolConnectError)).map(describeError)
    expect(notDisconnects).toEqual([])

    // And the ledger is exact. Read it on the same pool: it must work again.
    const accounts = (await sql<{ id: number; balance: string | number }>`select id, balance from ${sql.table(ACC)} order by id`.execute(engine.db)).rows
    const transfers = (await sql<{ id: string; src: number; dst: number; amount: number }>`select id, src, dst, amount from ${sql.table(TRX)}`.execute(engine.db)).rows
    const inTable = new Set(transfers.map((t) => t.id))
    const by = (o: Outcome) => [...outcomes].filter(([, v]) => v === o).map(([k]) => k)
    const committed = by('committed')
    const failed = by('failed')
    const unknown = by('unknown')
    const splits = [...ranIn].filter(([, where]) => new Set(where).size > 1).map(([id, where]) => `${outcomes.get(id)} ${inTable.has(id)} ${where.join(' ')}`)
    expect(splits).toEqual([])
    expect(committed.filter((id) => !inTable.has(id))).toEqual([])
    expect(failed.filter((id) => inTable.has(id))).toEqual([])
    // Nothing is in the table that the client did not at least try to commit.
    expect([...inTable].filter((id) => outcomes.get(id) !== 'committed' && outcomes.get(id) !== 'unknown')).toEqual([])
    const total = accounts.reduce((s, a) => s + Number(a.balance), 0)
    expect(total).toBe(ACCOUNTS * START_BALANCE)
    const expected = new Map<number, number>()
    for (let id = 1; id <= ACCOUNTS; id++) expected.set(id, START_BALANCE)
    for (const t of transfers) {
      expected.set(t.src, expected.get(t.src)! - t.amount)
      expected.set(t.dst, expected.get(t.dst)! + t.amount)
    }
    expect(accounts.map((a) => [a.id, Number(a.balance)])).toEqual([...expected.entries()])
    const unknownLanded = unknown.filter((id) => inTable.has(id)).length

    // The storm really happened, and work still got done through it.
    expect(kills, `${kills} kills in ${finished} transfers`).toBeGreaterThanOrEqual(KILLS)
    expect(failed.length + unknown.length).toBeGreaterThan(0)
    expect(committed.length).toBeGreaterThanOrEqual(MIN_COMMITTED)

    expect(crashes.stop()).toEqual([])
    report(`kill-storm-${storm.name}`, {
      ms: stormMs,
      transfers: finished,
      kills,
      committed: committed.length,
      failed: failed.length,
      unknown: unknown.length,
      unknownLanded,
      errors: JSON.stringify(countBy(errors, (e) => (e instanceof AthanorError ? e.code : 'untyped'))),
      idleAfter: engine.pool.checkedIn(),
    })
  } finally {
    // Tables carry this process's id: drop them even when an assertion failed.
    await sql`drop table if exists ${sql.table(TRX)}`.execute(engine.db).catch(() => {})
    await sql`drop table if exists ${sql.table(ACC)}`.execute(engine.db).catch(() => {})
    await engine.dispose({ timeout: 2000 })
    await storm.cleanup()
  }
}

describe.skipIf(!runPg)('scenario 2: kill storm on a ledger (PostgreSQL)', () => {
  const APP = scoped('kill_storm_pg')
  it('loses no committed transfer and keeps no failed one while sessions are terminated', async () => {
    await runStorm({
      name: 'pg',
      url: withAppName(PG_URL, APP),
      kill: () => terminatePg(APP, { limit: 1, waitMs: 10_000 }),
      backends: () => pgBackends(APP),
      cleanup: async () => {
        await terminatePg(APP)
      },
    })
  }, 60_000)
})

describe.skipIf(!runPg)('scenario 2: kill storm on a ledger through Sessions (PostgreSQL)', () => {
  const APP = scoped('kill_storm_pgs')
  it('a Session commit the client saw is kept, a failed one is not, while sessions are terminated', async () => {
    await runStorm({
      name: 'pgs',
      via: 'session',
      url: withAppName(PG_URL, APP),
      kill: () => terminatePg(APP, { limit: 1, waitMs: 10_000 }),
      backends: () => pgBackends(APP),
      cleanup: async () => {
        await terminatePg(APP)
      },
    })
  }, 60_000)
})

describe.skipIf(!runMysql)('scenario 2: kill storm on a ledger (MariaDB)', () => {
  const USER = scoped('kill_storm_my')
  let url = ''
  afterAll(async () => {
    await dropMysqlUser(USER).catch(() => {})
  })
  it('loses no committed transfer and keeps no failed one while connections are killed', async () => {
    url = await createMysqlUser(USER)
    await runStorm({
      name: 'my',
      url,
      kill: async () => {
        const ids = await mysqlConnectionIds(USER)
        if (ids.length === 0) return 0
        return killMysql([ids[Math.floor(Math.random() * ids.length)]], { waitMs: 10_000 })
      },
      backends: async () => (await mysqlConnectionIds(USER)).length,
      cleanup: async () => {},
    })
  }, 60_000)
})
