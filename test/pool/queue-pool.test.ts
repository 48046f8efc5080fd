import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  AthanorError,
  ConnectTimeoutError,
  PoolConnectError,
  PoolReleaseError,
  PoolResetError,
  PoolTimeoutError,
  QueuePool,
} from '../../src/pool/index.js'
import { FakeDriver, sleep, type FakeConnection } from '../support/fake-driver.js'

function make(options: ConstructorParameters<typeof QueuePool<FakeConnection>>[1] = {}, driver = new FakeDriver()) {
  return { driver, pool: new QueuePool(driver, options) }
}

/** Settles pending promise callbacks (fake opens resolve in microtasks). */
const tick = () => sleep(0)

/**
 * A fake clock for tests that assert times: the pool reads performance.now()
 * and arms setTimeout / setImmediate, all faked, so a loaded machine cannot
 * make them flaky.
 */
function useFakeClock(): void {
  vi.useFakeTimers({ toFake: ['performance', 'Date', 'setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'] })
}
afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

describe('QueuePool sizes and overflow (SQLAlchemy semantics)', () => {
  it('starts empty with overflow at -poolSize and the exact status line', () => {
    const { pool } = make()
    expect(pool.size()).toBe(5)
    expect(pool.overflow()).toBe(-5)
    expect(pool.checkedIn()).toBe(0)
    expect(pool.checkedOut()).toBe(0)
    expect(pool.status()).toBe('Pool size: 5  Connections in pool: 0 Current Overflow: -5 Current Checked out connections: 0')
  })

  it('counts every open connection in overflow and closes overflow on return', async () => {
    const { pool, driver } = make({ poolSize: 2, maxOverflow: 2 })
    const held = await Promise.all([1, 2, 3, 4].map(() => pool.acquire()))
    expect(new Set(held.map((c) => c.id)).size).toBe(4)
    expect(pool.overflow()).toBe(2)
    expect(pool.checkedOut()).toBe(4)
    for (const c of held) pool.release(c)
    // Idle never exceeds poolSize: the two overflow connections were closed.
    expect(pool.checkedIn()).toBe(2)
    expect(driver.closes).toBe(2)
    expect(pool.overflow()).toBe(0)
    expect(pool.status()).toBe('Pool size: 2  Connections in pool: 2 Current Overflow: 0 Current Checked out connections: 0')
  })

  it('reuses idle connections instead of opening new ones', async () => {
    const { pool, driver } = make({ poolSize: 1 })
    const a = await pool.acquire()
    pool.release(a)
    const b = await pool.acquire()
    expect(b.id).toBe(a.id)
    expect(driver.opens).toBe(1)
  })

  it('maxOverflow -1 means no limit', async () => {
    const { pool } = make({ poolSize: 1, maxOverflow: -1, poolTimeout: 50 })
    const held = await Promise.all(Array.from({ length: 30 }, () => pool.acquire()))
    expect(pool.overflow()).toBe(29)
    for (const c of held) pool.release(c)
    expect(pool.checkedIn()).toBe(1)
  })

  it('poolSize 0 keeps every returned connection idle, bounded by maxOverflow', async () => {
    const { pool, driver } = make({ poolSize: 0, maxOverflow: 3, poolTimeout: 30 })
    const held = await Promise.all([1, 2, 3].map(() => pool.acquire()))
    await expect(pool.acquire()).rejects.toBeInstanceOf(PoolTimeoutError)
    for (const c of held) pool.release(c)
    expect(pool.checkedIn()).toBe(3)
    expect(driver.closes).toBe(0)
  })
})

describe('QueuePool waiting', () => {
  it('times out a full pool with PoolTimeoutError carrying the pool state', async () => {
    useFakeClock()
    const { pool } = make({ poolSize: 2, maxOverflow: 1, poolTimeout: 40 })
    await Promise.all([1, 2, 3].map(() => pool.acquire()))
    const t0 = performance.now()
    const settled = Promise.allSettled([pool.acquire(), pool.acquire()])
    await vi.advanceTimersByTimeAsync(39)
    expect(pool.stats().waiting).toBe(2)
    await vi.advanceTimersByTimeAsync(1)
    const results = await settled
    expect(performance.now() - t0).toBe(40)
    const e = (results[0] as PromiseRejectedResult).reason as PoolTimeoutError
    expect(e).toBeInstanceOf(PoolTimeoutError)
    expect(e).toBeInstanceOf(AthanorError)
    expect(e.code).toBe('POOL_TIMEOUT')
    expect(e.message).toBe(
      'QueuePool limit of size 2 overflow 1 reached, connection timed out, timeout 40 ms (checked out: 3, waiting: 2)',
    )
    expect(e.state).toEqual({ poolSize: 2, maxOverflow: 1, timeout: 40, checkedOut: 3, waiting: 2 })
    expect(((results[1] as PromiseRejectedResult).reason as PoolTimeoutError).state.waiting).toBe(1)
    expect(pool.stats().timeouts).toBe(2)
    expect(pool.stats().waiting).toBe(0)
  })

  it('serves waiters in FIFO order, each handed the released connection directly', async () => {
    const { pool } = make({ poolSize: 1, maxOverflow: 0 })
    const first = await pool.acquire()
    const order: number[] = []
    const waits = [0, 1, 2, 3, 4].map((i) =>
      pool.acquire().then((c) => {
        order.push(i)
        return c
      }),
    )
    expect(pool.stats().waiting).toBe(5)
    pool.release(first)
    for (const w of waits) pool.release(await w)
    expect(order).toEqual([0, 1, 2, 3, 4])
    expect(pool.stats().acquires).toBe(6)
  })

  it('a waiter served before its deadline does not time out later, and the next waiter still does on time', async () => {
    useFakeClock()
    const { pool } = make({ poolSize: 1, maxOverflow: 0, poolTimeout: 60 })
    const c = await pool.acquire()
    const w1 = pool.acquire()
    await vi.advanceTimersByTimeAsync(20)
    const w2 = pool.acquire().then(
      () => [undefined, -1] as const,
      (e: unknown) => [e, performance.now()] as const,
    )
    pool.release(c)
    const got = await w1
    expect(got.id).toBe(c.id)
    await vi.advanceTimersByTimeAsync(60)
    const [error, at] = await w2
    expect(error).toBeInstanceOf(PoolTimeoutError)
    // w2 joined 20 ms after w1 and timed out 60 ms after its own start.
    expect(at).toBe(80)
  })

  it('times each waiter out on its own deadline, never early, whenever it joined the queue', async () => {
    useFakeClock()
    const { pool } = make({ poolSize: 1, maxOverflow: 0, poolTimeout: 50 })
    await pool.acquire()
    const waits: Promise<number>[] = []
    const join = () => {
      const t0 = performance.now()
      waits.push(pool.acquire().then(() => -1, () => performance.now() - t0))
    }
    join()
    await vi.advanceTimersByTimeAsync(10)
    join()
    join() // two in the same job
    await vi.advanceTimersByTimeAsync(15)
    for (let i = 0; i < 10; i++) join() // a burst
    await vi.advanceTimersByTimeAsync(100)
    expect(await Promise.all(waits)).toEqual(Array(13).fill(50))
  })

  it('LIFO hands out the most recently returned connection, FIFO the least recent', async () => {
    for (const lifo of [true, false]) {
      const { pool } = make({ poolSize: 3, poolUseLifo: lifo })
      const [a, b, c] = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()])
      pool.release(a)
      pool.release(b)
      pool.release(c)
      const next = await pool.acquire()
      expect(next.id).toBe(lifo ? c.id : a.id)
    }
  })
})

describe('QueuePool open failures', () => {
  it('gives the slot back when an open fails, so the next caller can open', async () => {
    const { pool, driver } = make({ poolSize: 1, maxOverflow: 0, connectBackoff: 0 })
    driver.failOpens(1, new Error('ECONNREFUSED'))
    const e = await pool.acquire().catch((x: unknown) => x)
    expect(e).toBeInstanceOf(PoolConnectError)
    expect((e as PoolConnectError).code).toBe('POOL_CONNECT')
    expect((e as PoolConnectError).cause).toEqual(new Error('ECONNREFUSED'))
    expect(pool.overflow()).toBe(-1)
    expect(pool.checkedOut()).toBe(0)
    const c = await pool.acquire()
    expect(c.id).toBe(1)
    expect(pool.overflow()).toBe(0)
  })

  it('a failed open for one caller lets a waiting caller open instead of timing out', async () => {
    const { pool, driver } = make({ poolSize: 1, maxOverflow: 0, poolTimeout: 1_000, connectBackoff: 0 })
    driver.openDelay = 5
    driver.failOpens(1)
    const a = pool.acquire()
    const b = pool.acquire()
    await expect(a).rejects.toBeInstanceOf(PoolConnectError)
    const got = await b
    expect(got.id).toBe(1)
    expect(pool.stats().connectErrors).toBe(1)
    expect(pool.checkedOut()).toBe(1)
  })

  it('counts add up through a burst of failed opens', async () => {
    const { pool, driver } = make({ poolSize: 2, maxOverflow: 2, connectBackoff: 0 })
    driver.failOpens(3)
    const results = await Promise.allSettled([1, 2, 3, 4].map(() => pool.acquire()))
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(3)
    expect(pool.checkedOut()).toBe(1)
    expect(pool.overflow()).toBe(-1)
    expect(pool.stats()).toMatchObject({ open: 1, pending: 0, created: 1, connectErrors: 3 })
  })
})

describe('QueuePool release', () => {
  it('throws PoolReleaseError synchronously on a double release or a stranger', async () => {
    const { pool } = make()
    const c = await pool.acquire()
    pool.release(c)
    expect(() => pool.release(c)).toThrow(PoolReleaseError)
    const stranger: FakeConnection = { id: 99, dead: false, closed: false, inTransaction: false, resets: [] }
    expect(() => pool.release(stranger)).toThrow(/does not hold/)
    const other = make().pool
    const d = await other.acquire()
    expect(() => pool.release(d)).toThrow(PoolReleaseError)
  })

  it('a PooledConnection handle cannot be released twice nor release a later checkout', async () => {
    const { pool } = make({ poolSize: 1, maxOverflow: 0 })
    const h1 = await pool.checkout()
    expect(h1.openedAt).toBeLessThanOrEqual(Date.now())
    h1.info.set('k', 1)
    h1.release()
    const h2 = await pool.checkout()
    expect(h2.connection).toBe(h1.connection)
    expect(h2.info.get('k')).toBe(1) // info lives with the connection
    expect(() => h1.release()).toThrow(PoolReleaseError)
    expect(pool.checkedOut()).toBe(1)
    h2.release()
    expect(pool.checkedIn()).toBe(1)
  })
})

describe('QueuePool reset on return', () => {
  it('rolls back by default and does not hand the connection to a waiter before the reset finished', async () => {
    const { pool, driver } = make({ poolSize: 1, maxOverflow: 0 })
    driver.resetDelay = 20
    const c = await pool.acquire()
    c.inTransaction = true
    const waiter = pool.acquire()
    pool.release(c)
    expect(pool.checkedIn()).toBe(0)
    const got = await waiter
    expect(got.id).toBe(c.id)
    expect(got.inTransaction).toBe(false)
    expect(got.resets).toEqual(['rollback'])
  })

  it('commits when asked, and skips the reset when poolResetOnReturn is null', async () => {
    const commit = make({ poolResetOnReturn: 'commit' })
    const c = await commit.pool.acquire()
    commit.pool.release(c)
    expect(c.resets).toEqual(['commit'])
    const none = make({ poolResetOnReturn: null })
    const d = await none.pool.acquire()
    none.pool.release(d)
    expect(none.driver.resets).toBe(0)
  })

  it('closes a connection whose reset fails, frees its slot, and reports a PoolResetError', async () => {
    const { pool, driver } = make({ poolSize: 1, maxOverflow: 0 })
    const errors: unknown[] = []
    pool.on('error', (e) => errors.push(e))
    driver.resetDelay = 5
    driver.failResets(1)
    const c = await pool.acquire()
    const waiter = pool.acquire()
    pool.release(c)
    const next = await waiter
    expect(next.id).not.toBe(c.id)
    expect(c.closed).toBe(true)
    expect(errors[0]).toBeInstanceOf(PoolResetError)
    expect(pool.overflow()).toBe(0)
  })

  it('a synchronous reset failure also closes the connection', async () => {
    const { pool, driver } = make({ poolSize: 1 })
    driver.failResets(1)
    const c = await pool.acquire()
    pool.release(c) // no error listener: swallowed, never thrown
    expect(c.closed).toBe(true)
    expect(pool.checkedIn()).toBe(0)
    expect(pool.overflow()).toBe(-1)
  })
})

describe('QueuePool invalidation', () => {
  it('hard: closes now, and every connection opened before it is replaced at its next checkout', async () => {
    const { pool, driver } = make({ poolSize: 3 })
    const [a, b, c] = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()])
    pool.release(a)
    pool.release(b)
    const invalidated: number[] = []
    pool.on('invalidate', (conn, _e, soft) => invalidated.push(soft ? -conn.id : conn.id))
    pool.invalidate(c, new Error('server closed the connection'))
    expect(c.closed).toBe(true)
    expect(invalidated).toEqual([c.id])
    expect(pool.checkedOut()).toBe(0)
    pool.release(c) // the holder's release after invalidation is fine
    const fresh = await pool.acquire()
    expect([a.id, b.id]).not.toContain(fresh.id)
    expect(a.closed && b.closed).toBe(true)
    expect(driver.opens).toBe(4)
    // A connection opened after the invalidation is not stale.
    pool.release(fresh)
    expect((await pool.acquire()).id).toBe(fresh.id)
  })

  it('soft: the connection stays usable, is closed on return, and others are untouched', async () => {
    const { pool } = make({ poolSize: 2 })
    const h = await pool.checkout()
    const other = await pool.acquire()
    h.invalidate(new Error('odd state'), { soft: true })
    expect(h.connection.closed).toBe(false)
    h.release()
    expect(h.connection.closed).toBe(true)
    pool.release(other)
    expect((await pool.acquire()).id).toBe(other.id)
  })

  it('invalidateAll marks every connection stale', async () => {
    const { pool } = make({ poolSize: 2 })
    const [a, b] = await Promise.all([pool.acquire(), pool.acquire()])
    pool.release(a)
    pool.invalidateAll()
    pool.release(b) // stale on return: closed
    expect(b.closed).toBe(true)
    const c = await pool.acquire()
    expect(c.id).not.toBe(a.id)
    expect(a.closed).toBe(true)
  })

  it('invalidate of a connection that is not checked out throws PoolReleaseError', async () => {
    const { pool } = make()
    const c = await pool.acquire()
    pool.release(c)
    expect(() => pool.invalidate(c)).toThrow(PoolReleaseError)
  })
})

describe('QueuePool pre-ping and recycle', () => {
  it('pre-ping replaces a dead connection with a fresh one, invisibly to the caller', async () => {
    const { pool, driver } = make({ poolSize: 2, poolPrePing: true })
    const [a, b] = await Promise.all([pool.acquire(), pool.acquire()])
    pool.release(a)
    pool.release(b)
    a.dead = true
    const got = await pool.acquire()
    expect(got.id).not.toBe(a.id)
    expect(got.dead).toBe(false)
    expect(a.closed).toBe(true)
    // b was opened before a died: stale, replaced rather than pinged again at its checkout.
    expect(pool.stats().invalidated).toBe(1)
    expect(driver.pings).toBe(1)
    expect(driver.opens).toBe(3)
  })

  it('a pre-ping that hangs past the caller deadline is a PoolTimeoutError; past poolPrePingTimeout it condemns', async () => {
    useFakeClock()
    const { pool, driver } = make({ poolSize: 1, maxOverflow: 0, poolPrePing: true, poolTimeout: 40, poolPrePingTimeout: 100, connectBackoff: 0 })
    const c = await pool.acquire()
    pool.release(c)
    driver.pingDelay = Infinity
    const t0 = performance.now()
    const p = pool.acquire().then(
      () => [undefined, -1] as const,
      (x: unknown) => [x, performance.now() - t0] as const,
    )
    await vi.advanceTimersByTimeAsync(40)
    const [e, at] = await p
    expect(at).toBe(40)
    expect(e).toBeInstanceOf(PoolTimeoutError)
    expect((e as Error).message).toMatch(/pre-ping/)
    // Not condemned by the caller's deadline: the ping's own limit decides.
    expect(driver.closes).toBe(0)
    await vi.advanceTimersByTimeAsync(60)
    expect(driver.closes).toBe(1)
    expect(pool.stats().invalidated).toBe(1)
  })

  it('async pre-ping passes a live connection through', async () => {
    const { pool, driver } = make({ poolSize: 1, poolPrePing: true })
    driver.pingDelay = 2
    const c = await pool.acquire()
    pool.release(c)
    expect((await pool.acquire()).id).toBe(c.id)
    expect(driver.pings).toBe(1)
  })

  it('recycles a connection older than poolRecycle at checkout, never a held one', async () => {
    useFakeClock()
    const { pool } = make({ poolSize: 1, poolRecycle: 30, poolRecycleJitter: 0 })
    const a = await pool.acquire()
    pool.release(a)
    await vi.advanceTimersByTimeAsync(29)
    const again = await pool.acquire()
    expect(again.id).toBe(a.id)
    await vi.advanceTimersByTimeAsync(11)
    expect(again.closed).toBe(false) // held: untouched
    pool.release(again)
    const b = await pool.acquire()
    expect(b.id).not.toBe(a.id)
    expect(a.closed).toBe(true)
  })

  it('jitter takes up to poolRecycleJitter off each lifetime so connections do not expire together', async () => {
    useFakeClock()
    // Lifetimes 60 - r * 50 ms for r = 0, 0.1, ..., 0.9: 60, 55, ..., 15 ms.
    let i = 0
    vi.spyOn(Math, 'random').mockImplementation(() => (i++ % 10) / 10)
    const { pool } = make({ poolSize: 10, poolRecycle: 60, poolRecycleJitter: 50 })
    const held = await Promise.all(Array.from({ length: 10 }, () => pool.acquire()))
    for (const c of held) pool.release(c)
    await vi.advanceTimersByTimeAsync(35)
    // Lifetimes of 15, 20, 25, 30, 35 ms have run out; 40..60 ms have not.
    const again = await Promise.all(Array.from({ length: 10 }, () => pool.acquire()))
    expect(held.filter((c) => c.closed).map((c) => c.id)).toEqual([6, 7, 8, 9, 10])
    expect(again.filter((c) => !held.some((h) => h.id === c.id))).toHaveLength(5)
  })

  it('defaults the jitter to 2.5% of poolRecycle', () => {
    expect(make({ poolRecycle: 3_600_000 }).pool.options.poolRecycleJitter).toBe(90_000)
  })
})

describe('QueuePool events and stats', () => {
  it('emits connect, checkout, checkin, reset, close in order', async () => {
    const { pool } = make({ poolSize: 1, maxOverflow: 1 })
    const log: string[] = []
    for (const e of ['connect', 'checkout', 'checkin', 'reset', 'close'] as const) {
      pool.on(e, ((c: FakeConnection) => void log.push(`${e}:${c.id}`)) as never)
    }
    const a = await pool.acquire()
    const b = await pool.acquire()
    pool.release(a)
    pool.release(b)
    expect(log).toEqual(['connect:1', 'checkout:1', 'connect:2', 'checkout:2', 'reset:1', 'checkin:1', 'reset:2', 'checkin:2', 'close:2'])
  })

  it('a listener that throws never breaks the pool; its error goes to error listeners', async () => {
    const { pool } = make()
    const errors: unknown[] = []
    pool.on('checkout', () => {
      throw new Error('listener bug')
    })
    const c = await pool.acquire()
    pool.on('error', (e) => errors.push(e))
    pool.release(c)
    pool.release(await pool.acquire())
    expect(errors).toEqual([new Error('listener bug')])
  })

  it('off removes a listener', async () => {
    const { pool } = make()
    let n = 0
    const l = () => n++
    pool.on('checkout', l).off('checkout', l)
    pool.release(await pool.acquire())
    expect(n).toBe(0)
  })

  it('stats count what a dashboard needs', async () => {
    useFakeClock()
    const { pool } = make({ poolSize: 1, maxOverflow: 0, poolTimeout: 20 })
    const c = await pool.acquire()
    const w = pool.acquire()
    await vi.advanceTimersByTimeAsync(10)
    pool.release(c)
    pool.release(await w)
    pool.release(await pool.acquire())
    const s = pool.stats()
    expect(s).toMatchObject({ open: 1, idle: 1, inUse: 0, waiting: 0, pending: 0, created: 1, closed: 0, acquires: 3, timeouts: 0 })
    // The first open and the third checkout were immediate; the second waited 10 ms.
    expect(s.acquireTimeMax).toBe(10)
    expect(s.acquireTimeMean).toBeCloseTo(10 / 3, 5)
  })

  it('names the pool in status() and errors when given a name', async () => {
    const { pool } = make({ name: 'reports', poolSize: 1, maxOverflow: 0, poolTimeout: 10 })
    expect(pool.status()).toMatch(/^reports: Pool size: 1 {2}Connections in pool: 0/)
    await pool.acquire()
    await expect(pool.acquire()).rejects.toThrow(/^QueuePool "reports" limit of size 1 overflow 0 reached/)
  })
})

describe('QueuePool under concurrent load', () => {
  it('keeps its counts consistent and never hands one connection to two callers', async () => {
    const { pool, driver } = make({ poolSize: 3, maxOverflow: 2, poolTimeout: 5_000 })
    driver.resetDelay = 1
    const holding = new Set<number>()
    let violations = 0
    const worker = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const c = await pool.acquire()
        if (holding.has(c.id)) violations++
        holding.add(c.id)
        if (pool.checkedOut() + pool.checkedIn() !== pool.size() + pool.overflow()) violations++
        if (pool.checkedIn() > 3 || pool.overflow() > 2) violations++
        await tick()
        holding.delete(c.id)
        pool.release(c)
      }
    }
    await Promise.all(Array.from({ length: 12 }, () => worker(20)))
    expect(violations).toBe(0)
    await sleep(5)
    expect(pool.checkedOut()).toBe(0)
    expect(pool.checkedIn()).toBe(3)
    expect(driver.live).toBe(3)
  })
})
