/**
 * Scenario 3, half-open network: the fault proxy stalls traffic between the
 * pool and the server (PostgreSQL, MariaDB) without closing anything, like a partition. Every
 * checkout returns or throws within poolTimeout + 50 ms; "database
 * unreachable" (PoolConnectError) is a different class from "pool exhausted"
 * (PoolTimeoutError); when traffic flows again the pool recovers and no
 * socket is leaked.
 */
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEngine, type Connection, type Engine } from '../../src/engine/index.js'
import { AthanorError, PoolConnectError, PoolTimeoutError } from '../../src/pool/index.js'
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js'
import { describeError, now, report, scoped, watchProcessFailures, withAppName } from '../support/reliability.js'
import { createMysqlUser, dropMysqlUser, mysqlConnectionIds, pgBackends } from '../support/server-control.js'
import { MYSQL, PG, PG_URL, runMysql, runPg } from '../support/servers.js'

const TIMEOUT = 400
const BOUND = TIMEOUT + 50
const CONNECT_TIMEOUT = 200

type Checkout = { ok: true; conn: Connection<unknown>; ms: number } | { ok: false; error: unknown; ms: number }

/** One timed checkout. */
async function checkout(engine: Engine<unknown>): Promise<Checkout> {
  const t0 = now()
  try {
    const conn = await engine.connect()
    return { ok: true, conn, ms: now() - t0 }
  } catch (error) {
    return { ok: false, error, ms: now() - t0 }
  }
}

/** A server behind the proxy, and how to count this scenario's sessions on it. */
interface Target {
  readonly name: string
  readonly run: boolean
  readonly server: { host: string; port: number }
  /** The URL to proxy (its host and port are rewritten) and a counter of this test's server sessions. */
  setup(): Promise<{ url: string; sessions: () => Promise<number> }>
  cleanup(): Promise<void>
}

const PG_APP = scoped('half_open_test')
const MY_USER = scoped('half_open')
const targets: Target[] = [
  {
    name: 'PostgreSQL',
    run: runPg,
    server: PG,
    setup: async () => ({ url: withAppName(PG_URL, PG_APP), sessions: () => pgBackends(PG_APP) }),
    cleanup: async () => {},
  },
  {
    name: 'MariaDB',
    run: runMysql,
    server: MYSQL,
    setup: async () => ({ url: await createMysqlUser(MY_USER), sessions: async () => (await mysqlConnectionIds(MY_USER)).length }),
    cleanup: () => dropMysqlUser(MY_USER),
  },
]

for (const target of targets) describe.skipIf(!target.run)(`scenario 3: half-open network (${target.name} through the fault proxy)`, () => {
  let proxy: FaultProxy
  let url = ''
  let sessions: () => Promise<number> = async () => 0
  const engines: Engine<unknown>[] = []
  const times: number[] = []
  const crashes = watchProcessFailures()

  const make = (options: { poolPrePing?: boolean } = {}): Engine<unknown> => {
    const engine = createEngine<unknown>(proxy.rewrite(url), {
      poolSize: 2,
      maxOverflow: 1,
      poolTimeout: TIMEOUT,
      connectTimeout: CONNECT_TIMEOUT,
      connectBackoff: 20,
      connectBackoffMax: 50,
      ...options,
    })
    engines.push(engine)
    return engine
  }
  const timed = async (engine: Engine<unknown>, n: number): Promise<Checkout[]> => {
    const rs = await Promise.all(Array.from({ length: n }, () => checkout(engine)))
    for (const r of rs) times.push(r.ms)
    return rs
  }

  beforeAll(async () => {
    proxy = await startFaultProxy(target.server)
    ;({ url, sessions } = await target.setup())
  })
  afterAll(async () => {
    proxy.pass()
    for (const e of engines) await e.dispose({ timeout: 1000 }).catch(() => {})
    await proxy.close()
    await target.cleanup()
  })

  it('unreachable: a stalled server gives PoolConnectError within the bound, carrying the cause', async () => {
    const engine = make()
    proxy.stall()
    for (let round = 0; round < 2; round++) {
      const rs = await timed(engine, 3)
      for (const r of rs) {
        expect(r.ok).toBe(false)
        if (r.ok) continue
        expect(r.error, describeError(r.error)).toBeInstanceOf(PoolConnectError)
        expect(r.error).not.toBeInstanceOf(PoolTimeoutError)
        expect((r.error as PoolConnectError).code).toBe('POOL_CONNECT')
        expect((r.error as Error).cause).toBeDefined()
        expect(r.ms).toBeLessThanOrEqual(BOUND)
      }
    }
    expect(engine.pool.stats().open).toBe(0)
    proxy.pass()
  })

  it('exhausted: all connections held gives PoolTimeoutError within the bound, a different class', async () => {
    proxy.pass()
    const engine = make()
    const held = await timed(engine, 3)
    expect(held.every((r) => r.ok)).toBe(true)
    const [r] = await timed(engine, 1)
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.error, describeError(r.error)).toBeInstanceOf(PoolTimeoutError)
      expect(r.error).not.toBeInstanceOf(PoolConnectError)
      expect(r.ms).toBeGreaterThanOrEqual(TIMEOUT - 1)
      expect(r.ms).toBeLessThanOrEqual(BOUND)
    }
    expect(PoolTimeoutError).not.toBe(PoolConnectError)
    for (const h of held) if (h.ok) await h.conn.close()
  })

  it('slow network: a delay beyond connectTimeout is "unreachable" within the bound; a short one only slows queries', async () => {
    proxy.pass()
    const engine = make()
    proxy.delay(CONNECT_TIMEOUT)
    // The startup exchange takes several round trips: it cannot finish within connectTimeout.
    const slow = await timed(engine, 2)
    for (const r of slow) {
      expect(r.ok).toBe(false)
      if (!r.ok) expect(r.error, describeError(r.error)).toBeInstanceOf(PoolConnectError)
      expect(r.ms).toBeLessThanOrEqual(BOUND)
    }
    proxy.delay(10)
    const [ok] = await timed(engine, 1)
    expect(ok.ok).toBe(true)
    if (ok.ok) {
      const t0 = now()
      expect((await sql<{ n: number }>`select 5 as n`.execute(ok.conn.db)).rows[0].n).toBe(5)
      // One round trip: at least one delayed chunk each way.
      expect(now() - t0).toBeGreaterThanOrEqual(2 * 10 - 1)
      await ok.conn.close()
    }
    proxy.delay(0)
  })

  it('stalled mid-use: checkouts stay bounded; when traffic flows the hung queries finish and the pool recovers', async () => {
    proxy.pass()
    const plain = make()
    const pinging = make({ poolPrePing: true })
    // Two idle connections each, opened while the network is fine.
    for (const e of [plain, pinging]) {
      const warm = await timed(e, 2)
      for (const w of warm) if (w.ok) await w.conn.close()
      expect(e.pool.checkedIn()).toBe(2)
    }

    proxy.stall()
    // Without pre-ping the idle connections are handed out at once; their queries hang.
    const taken = await timed(plain, 2)
    const hung = taken.map((t) => {
      if (!t.ok) throw new Error(`checkout of an idle connection failed: ${describeError(t.error)}`)
      return sql<{ n: number }>`select 7 as n`.execute(t.conn.db).then(
        (r) => r.rows[0].n,
        (e: unknown) => describeError(e),
      )
    })
    // The overflow slot must open a connection: unreachable, within the bound.
    const [third] = await timed(plain, 1)
    expect(third.ok).toBe(false)
    if (!third.ok) expect(third.error, describeError(third.error)).toBeInstanceOf(AthanorError)

    // With pre-ping the ping hangs: the checkout must still end within the bound.
    const pinged = await timed(pinging, 3)
    for (const p of pinged) {
      expect(p.ms).toBeLessThanOrEqual(BOUND)
      if (!p.ok) expect(p.error, describeError(p.error)).toBeInstanceOf(AthanorError)
      else await p.conn.close()
    }

    proxy.pass()
    expect(await Promise.all(hung)).toEqual([7, 7])
    for (const t of taken) if (t.ok) await t.conn.close()
    const t0 = now()
    for (const e of [plain, pinging]) {
      const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => sql<{ n: number }>`select ${sql.lit(i)} as n`.execute(e.db)))
      expect(rs.map((r) => r.rows[0].n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    }
    const recoveryMs = now() - t0

    // Nothing leaked: after dispose, the proxy holds no socket and the server no session.
    for (const e of engines) await e.dispose({ timeout: 1000 })
    await proxy.waitForSockets(0, 3000)
    expect(proxy.counts().server).toBe(0)
    await expect.poll(sessions, { timeout: 3000 }).toBe(0)
    expect(crashes.stop()).toEqual([])
    report(`half-open-${target.name === 'MariaDB' ? 'my' : 'pg'}`, {
      poolTimeoutMs: TIMEOUT,
      checkouts: times.length,
      checkoutMaxMs: Math.max(...times),
      overBoundMs: Math.max(0, Math.max(...times) - TIMEOUT),
      recoveryMs,
      leakedSockets: proxy.counts().client,
    })
    expect(Math.max(...times)).toBeLessThanOrEqual(BOUND)
  })
})
