/**
 * Scenario 3, half-open network: the fault proxy stalls traffic between the
 * pool and the server (PostgreSQL, MariaDB) without closing anything, like a partition. Every
 * checkout returns or throws within poolTimeout + 50 ms (plus the event
 * loop's own lateness, measured over the same checkouts); "database
 * unreachable" (PoolConnectError) is a different class from "pool exhausted"
 * (PoolTimeoutError); when traffic flows again the pool recovers and no
 * socket is leaked.
 *
 * Opening a connection takes 100-700 ms on a loaded 2-core machine, so the
 * engines open theirs with a `connectTimeout` that fits that; only the
 * slow-network case uses a short one, as its subject. Set-up checkouts on a
 * healthy network retry an open that outlived `poolTimeout` (it still lands in
 * the pool): the bounds are asserted on the checkouts made under the fault.
 */
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEngine, type Connection, type Engine } from '../../src/engine/index.js'
import { AthanorError, PoolConnectError, PoolTimeoutError } from '../../src/pool/index.js'
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js'
import { probeLateness, type LatenessProbe } from '../support/lateness.js'
import { describeError, now, report, retrySlowOpen, scoped, watchProcessFailures, withAppName } from '../support/reliability.js'
import { createMysqlUser, dropMysqlUser, mysqlConnectionIds, pgBackends } from '../support/server-control.js'
import { MYSQL, PG, PG_URL, runMysql, runPg } from '../support/servers.js'

const TIMEOUT = 400
const BOUND = TIMEOUT + 50
/** The slow-network case: a per-packet delay of this long cannot finish a connection's start-up within it. */
const CONNECT_TIMEOUT = 200
/** Everywhere else: an open on a healthy (if loaded) machine finishes within this. */
const HEALTHY_CONNECT_TIMEOUT = 5_000

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
  /** The event loop's lateness over all timed checkouts (allowed for in each bound). */
  let loopMaxMs = 0
  const crashes = watchProcessFailures()

  const make = (options: { poolPrePing?: boolean; connectTimeout?: number } = {}): Engine<unknown> => {
    const engine = createEngine<unknown>(proxy.rewrite(url), {
      poolSize: 2,
      maxOverflow: 1,
      poolTimeout: TIMEOUT,
      connectTimeout: HEALTHY_CONNECT_TIMEOUT,
      connectBackoff: 20,
      connectBackoffMax: 50,
      ...options,
    })
    engines.push(engine)
    return engine
  }
  /** `n` concurrent checkouts, timed, with the event loop's lateness over the same window. */
  const timed = async (engine: Engine<unknown>, n: number): Promise<Checkout[] & { lateness: LatenessProbe }> => {
    const lateness = probeLateness()
    const rs = await Promise.all(Array.from({ length: n }, () => checkout(engine)))
    loopMaxMs = Math.max(loopMaxMs, lateness.stop().maxMs)
    for (const r of rs) times.push(r.ms)
    return Object.assign(rs, { lateness })
  }
  /** The bound on one checkout of `rs`: poolTimeout + 50 ms + what the loop alone delayed its timer by. */
  const bound = (rs: { lateness: LatenessProbe }): number => BOUND + rs.lateness.read().allowanceMs
  /** `n` connections on a healthy network (set-up, not under test): a slow open is retried. */
  const open = (engine: Engine<unknown>, n: number): Promise<Connection<unknown>[]> =>
    Promise.all(Array.from({ length: n }, () => retrySlowOpen(() => engine.connect())))

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
    const engine = make({ connectTimeout: CONNECT_TIMEOUT })
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
        expect(r.ms).toBeLessThanOrEqual(bound(rs))
      }
    }
    expect(engine.pool.stats().open).toBe(0)
    proxy.pass()
  })

  it('exhausted: all connections held gives PoolTimeoutError within the bound, a different class', async () => {
    proxy.pass()
    const engine = make()
    const held = await open(engine, 3)
    const rs = await timed(engine, 1)
    const [r] = rs
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.error, describeError(r.error)).toBeInstanceOf(PoolTimeoutError)
      expect(r.error).not.toBeInstanceOf(PoolConnectError)
      expect(r.ms).toBeGreaterThanOrEqual(TIMEOUT - 1)
      expect(r.ms).toBeLessThanOrEqual(bound(rs))
    }
    expect(PoolTimeoutError).not.toBe(PoolConnectError)
    for (const h of held) await h.close()
  })

  it('slow network: a delay beyond connectTimeout is "unreachable" within the bound; a short one only slows queries', async () => {
    proxy.pass()
    const engine = make({ connectTimeout: CONNECT_TIMEOUT })
    proxy.delay(CONNECT_TIMEOUT)
    // The startup exchange takes several round trips: it cannot finish within connectTimeout.
    const slow = await timed(engine, 2)
    for (const r of slow) {
      expect(r.ok).toBe(false)
      if (!r.ok) expect(r.error, describeError(r.error)).toBeInstanceOf(PoolConnectError)
      expect(r.ms).toBeLessThanOrEqual(bound(slow))
    }
    proxy.delay(10)
    // A short delay only slows things down: on an engine whose connectTimeout fits a loaded machine, all works.
    const [ok] = await open(make(), 1)
    const t0 = now()
    expect((await sql<{ n: number }>`select 5 as n`.execute(ok.db)).rows[0].n).toBe(5)
    // One round trip: at least one delayed chunk each way.
    expect(now() - t0).toBeGreaterThanOrEqual(2 * 10 - 1)
    await ok.close()
    proxy.delay(0)
  })

  it('stalled mid-use: checkouts stay bounded; when traffic flows the hung queries finish and the pool recovers', async () => {
    proxy.pass()
    const plain = make()
    const pinging = make({ poolPrePing: true })
    // Two idle connections each, opened while the network is fine.
    for (const e of [plain, pinging]) {
      for (const c of await open(e, 2)) await c.close()
      await expect.poll(() => e.pool.checkedIn()).toBe(2)
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
      expect(p.ms).toBeLessThanOrEqual(bound(pinged))
      if (!p.ok) expect(p.error, describeError(p.error)).toBeInstanceOf(AthanorError)
      else await p.conn.close()
    }

    proxy.pass()
    expect(await Promise.all(hung)).toEqual([7, 7])
    for (const t of taken) if (t.ok) await t.conn.close()
    const t0 = now()
    for (const e of [plain, pinging]) {
      // The pool opens what the stall cost it (a slow open on a loaded machine is retried), then serves
      // every statement, poolSize at a time so that none waits behind another for poolTimeout.
      for (const c of await open(e, 2)) await c.close()
      const ns: number[] = []
      for (let i = 0; i < 10; i += 2) {
        const rs = await Promise.all([i, i + 1].map((n) => sql<{ n: number }>`select ${sql.lit(n)} as n`.execute(e.db)))
        ns.push(...rs.map((r) => r.rows[0].n))
      }
      expect(ns).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    }
    const recoveryMs = now() - t0

    // Nothing leaked: after dispose, the proxy holds no socket and the server no session.
    for (const e of engines) await e.dispose({ timeout: 1000 })
    await proxy.waitForSockets(0)
    expect(proxy.counts().server).toBe(0)
    await expect.poll(sessions).toBe(0)
    expect(crashes.stop()).toEqual([])
    report(`half-open-${target.name === 'MariaDB' ? 'my' : 'pg'}`, {
      poolTimeoutMs: TIMEOUT,
      checkouts: times.length,
      checkoutMaxMs: Math.max(...times),
      overBoundMs: Math.max(0, Math.max(...times) - TIMEOUT),
      loopLateMaxMs: loopMaxMs,
      recoveryMs,
      leakedSockets: proxy.counts().client,
    })
  })
})
