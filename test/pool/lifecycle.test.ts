import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  ConnectTimeoutError,
  PoolConnectError,
  PoolDisposedError,
  PoolTimeoutError,
  QueuePool,
} from '../../src/pool/index.js'
import { FakeDriver, type FakeConnection } from '../support/fake-driver.js'

// Every test here runs on a fake clock (performance.now, Date, timers): exact and
// immune to a loaded machine. `sleep(ms)` below advances that clock.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['performance', 'Date', 'setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'] })
})
afterEach(() => {
  vi.useRealTimers()
})
const sleep = async (ms: number): Promise<void> => {
  await vi.advanceTimersByTimeAsync(ms)
}
/** Advances the clock by `ms`, then settles `p`. */
async function after<T>(ms: number, p: Promise<T>): Promise<T> {
  await sleep(ms)
  return p
}

function make(options: ConstructorParameters<typeof QueuePool<FakeConnection>>[1] = {}, driver = new FakeDriver()) {
  return { driver, pool: new QueuePool(driver, options) }
}

describe('dispose', () => {
  it('closes idle connections, rejects waiters, and closes checked-out ones on return', async () => {
    const { pool, driver } = make({ poolSize: 2, maxOverflow: 0 })
    const [a, b] = await Promise.all([pool.acquire(), pool.acquire()])
    pool.release(a)
    const c = await pool.acquire()
    const waiter = pool.acquire()
    const disposing = pool.dispose()
    await expect(waiter).rejects.toBeInstanceOf(PoolDisposedError)
    await expect(pool.acquire()).rejects.toMatchObject({ code: 'POOL_DISPOSED' })
    let done = false
    void disposing.then(() => (done = true))
    await sleep(5)
    expect(done).toBe(false) // still waiting for b and c
    expect(b.closed).toBe(false)
    pool.release(b)
    pool.release(c)
    await disposing
    expect(b.closed && c.closed).toBe(true)
    expect(driver.live).toBe(0)
    expect(pool.stats().open).toBe(0)
  })

  it('with a timeout, force-closes connections still held, and the holder may still release', async () => {
    const { pool } = make()
    const c = await pool.acquire()
    const t0 = performance.now()
    await after(20, pool.dispose({ timeout: 20 }))
    expect(performance.now() - t0).toBe(20)
    expect(c.closed).toBe(true)
    expect(() => pool.release(c)).not.toThrow()
  })

  it('close: false forgets connections without closing them', async () => {
    const { pool, driver } = make()
    const [a, b] = await Promise.all([pool.acquire(), pool.acquire()])
    pool.release(a)
    await pool.dispose({ close: false })
    pool.release(b)
    expect(driver.closes).toBe(0)
    expect(pool.stats().open).toBe(0)
  })

  it('closes an open that arrives after dispose', async () => {
    const { pool, driver } = make()
    driver.openDelay = 20
    const p = pool.acquire().catch((e: unknown) => e)
    const disposing = pool.dispose()
    expect(await p).toBeInstanceOf(PoolDisposedError)
    await after(20, disposing)
    expect(driver.opens).toBe(1)
    expect(driver.live).toBe(0)
  })

  it('recreate() gives a fresh pool with the same options and listeners', async () => {
    const { pool, driver } = make({ poolSize: 3 })
    const seen: number[] = []
    pool.on('connect', (c) => seen.push(c.id))
    pool.release(await pool.acquire())
    await pool.dispose()
    const next = pool.recreate()
    expect(next).toBeInstanceOf(QueuePool)
    expect(next.options.poolSize).toBe(3)
    next.release(await next.acquire())
    expect(seen).toEqual([1, 2])
    expect(driver.opens).toBe(2)
    await next.dispose()
  })
})

describe('minIdle, idleTimeout, maxUses', () => {
  it('opens minIdle connections at start and refills after a close', async () => {
    const { pool, driver } = make({ poolSize: 5, minIdle: 2 })
    await sleep(5)
    expect(driver.opens).toBe(2)
    expect(pool.checkedIn()).toBe(2)
    const c = await pool.acquire()
    pool.invalidate(c)
    await sleep(5)
    // The invalidation made the other one stale too; minIdle keeps two open.
    expect(pool.stats().open).toBe(2)
    await pool.dispose()
  })

  it('closes connections idle longer than idleTimeout, never below minIdle', async () => {
    const { pool } = make({ poolSize: 4, minIdle: 1, idleTimeout: 30 })
    const held = await Promise.all([1, 2, 3, 4].map(() => pool.acquire()))
    for (const c of held) pool.release(c)
    expect(pool.checkedIn()).toBe(4)
    await sleep(29)
    expect(pool.checkedIn()).toBe(4)
    await sleep(2)
    expect(pool.checkedIn()).toBe(1)
    expect(held.filter((c) => c.closed)).toHaveLength(3)
    await pool.dispose()
  })

  it('keeps connections that keep being used (LIFO lets the surplus idle out)', async () => {
    const { pool } = make({ poolSize: 3, idleTimeout: 40, poolUseLifo: true })
    const held = await Promise.all([1, 2, 3].map(() => pool.acquire()))
    for (const c of held) pool.release(c)
    for (let i = 0; i < 8; i++) {
      await sleep(10)
      pool.release(await pool.acquire())
    }
    // The busy one (most recently returned) survives; the other two idled out.
    expect(pool.checkedIn()).toBe(1)
    expect(held[2].closed).toBe(false)
    await pool.dispose()
  })

  it('closes a connection after maxUses checkouts', async () => {
    const { pool } = make({ poolSize: 1, maxUses: 3 })
    const first = await pool.acquire()
    pool.release(first)
    pool.release(await pool.acquire())
    pool.release(await pool.acquire())
    expect(first.closed).toBe(true)
    const next = await pool.acquire()
    expect(next.id).not.toBe(first.id)
  })
})

describe('connectTimeout and back-off', () => {
  it('fails an open that takes longer than connectTimeout and closes the late connection', async () => {
    const { pool, driver } = make({ connectTimeout: 30, poolTimeout: 1_000 })
    driver.hangNextOpens(1)
    const t0 = performance.now()
    const e = await after(30, pool.acquire().then(
      () => [undefined, -1] as const,
      (x: unknown) => [x, performance.now() - t0] as const,
    ))
    expect(e[1]).toBe(30)
    expect(e[0]).toBeInstanceOf(PoolConnectError)
    expect((e[0] as PoolConnectError).cause).toBeInstanceOf(ConnectTimeoutError)
    expect(pool.overflow()).toBe(-5)
    await sleep(320)
    expect(driver.opens).toBe(1) // it did arrive...
    expect(driver.live).toBe(0) // ...and was closed
  })

  it('does not hammer a dead database, yet every caller fails within poolTimeout with the driver error', async () => {
    const { pool, driver } = make({ poolTimeout: 60, connectBackoff: 20, connectBackoffMax: 40 })
    const refused = new Error('ECONNREFUSED 127.0.0.1:5432')
    driver.failAllOpens(refused)
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => pool.acquire()))
    for (const r of results) {
      expect(r.status).toBe('rejected')
      const e = (r as PromiseRejectedResult).reason
      expect(e).toBeInstanceOf(PoolConnectError)
      expect(e).not.toBeInstanceOf(PoolTimeoutError)
      expect((e as PoolConnectError).cause).toBe(refused)
    }
    // 5+ concurrent first attempts, then one probe per back-off period, not one per caller.
    // Ten concurrent first attempts fail their callers at once; then back-off.
    expect(driver.openAttempts).toBe(10)
    const t0 = performance.now()
    const second = Promise.allSettled(Array.from({ length: 10 }, () => pool.acquire().catch((e: unknown) => {
      expect(performance.now() - t0).toBeLessThanOrEqual(60)
      throw e
    })))
    await sleep(60)
    for (const r of await second) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(PoolConnectError)
    // Ten failures in a row put the back-off at its 40 ms cap: one probe in these 60 ms, not one per caller.
    expect(driver.openAttempts).toBe(11)
    // The database comes back: the next probe succeeds and the pool recovers.
    driver.failAllOpens(undefined)
    await sleep(45)
    const c = await pool.acquire()
    expect(c.id).toBe(1)
    expect(pool.stats().connectErrors).toBe(driver.openAttempts - 1)
  })

  it('a waiter behind a pending open that never arrives gets a PoolConnectError at poolTimeout', async () => {
    const { pool, driver } = make({ poolTimeout: 30, connectTimeout: 10_000 })
    driver.hangNextOpens(1)
    const e = await after(30, pool.acquire().catch((x: unknown) => x))
    expect(e).toBeInstanceOf(PoolConnectError)
    expect((e as Error).message).toMatch(/could not get a connection within poolTimeout 30 ms/)
    await sleep(320)
    await pool.dispose()
  })
})

describe('leak detection', () => {
  it("emits 'leak' with the checkout's stack when a connection is held too long", async () => {
    const { pool } = make({ leakDetectionThreshold: 20 })
    const leaks: { id: number; heldMs: number; stack: string }[] = []
    pool.on('leak', (c, heldMs, stack) => leaks.push({ id: c.id, heldMs, stack }))
    const quick = await pool.acquire()
    pool.release(quick)
    const held = await (async function leakyRequestHandler() {
      return pool.acquire()
    })()
    await sleep(19)
    expect(leaks).toHaveLength(0)
    await sleep(1)
    expect(leaks).toHaveLength(1)
    expect(leaks[0].id).toBe(held.id)
    expect(leaks[0].heldMs).toBe(20)
    expect(leaks[0].stack).toContain('leakyRequestHandler')
    pool.release(held)
  })

  it('the timeout error lists the holders and their checkout stacks', async () => {
    const { pool } = make({ poolSize: 1, maxOverflow: 0, poolTimeout: 20, leakDetectionThreshold: 1_000 })
    await (async function forgetfulJob() {
      return pool.acquire()
    })()
    const e = await after(20, pool.acquire().catch((x: unknown) => x))
    expect(e).toBeInstanceOf(PoolTimeoutError)
    expect((e as Error).message).toMatch(/connections held:\n {2}held for \d+ ms, checked out at:\n/)
    expect((e as Error).message).toContain('forgetfulJob')
  })

  it('without leak detection the timeout message stays one line', async () => {
    const { pool } = make({ poolSize: 1, maxOverflow: 0, poolTimeout: 10 })
    await pool.acquire()
    const e = (await after(10, pool.acquire().catch((x: unknown) => x))) as Error
    expect(e.message).not.toContain('\n')
  })
})

describe('dispose with a driver whose close hangs', () => {
  it('still resolves within its timeout', async () => {
    const driver = new FakeDriver()
    driver.close = () => new Promise<void>(() => {})
    const pool = new QueuePool(driver, { poolSize: 2 })
    pool.release(await pool.acquire())
    const t0 = performance.now()
    await after(30, pool.dispose({ timeout: 30 }))
    expect(performance.now() - t0).toBe(30)
  })

  it('never lets a close error escape; it goes to the error event', async () => {
    const driver = new FakeDriver()
    driver.close = () => Promise.reject(new Error('socket already closed'))
    const pool = new QueuePool(driver, { poolSize: 1, maxOverflow: 1 })
    const errors: unknown[] = []
    pool.on('error', (e) => errors.push(e))
    const [a, b] = await Promise.all([pool.acquire(), pool.acquire()])
    pool.release(a)
    pool.release(b) // overflow: closed, and the close fails
    await pool.dispose()
    expect(errors).toHaveLength(2)
    expect(errors[0]).toMatchObject({ code: 'POOL_CLOSE', cause: new Error('socket already closed') })
  })
})

describe('more edge cases', () => {
  it('dispose while an async pre-ping is in flight closes the connection and rejects the caller', async () => {
    const { pool, driver } = make({ poolSize: 1, poolPrePing: true })
    const c = await pool.acquire()
    pool.release(c)
    driver.pingDelay = 20
    const p = pool.acquire().catch((e: unknown) => e)
    const disposing = pool.dispose()
    expect(await after(20, p)).toBeInstanceOf(PoolDisposedError)
    await disposing
    expect(c.closed).toBe(true)
    expect(driver.live).toBe(0)
  })

  it('minIdle against a dead database backs off and reports through the error event', async () => {
    const driver = new FakeDriver()
    driver.failAllOpens(new Error('ECONNREFUSED'))
    const pool = new QueuePool(driver, { poolSize: 2, minIdle: 2, connectBackoff: 20, connectBackoffMax: 20 })
    const errors: unknown[] = []
    pool.on('error', (e) => errors.push(e))
    await sleep(70)
    // Two at start, then one probe per 20 ms back-off period (20, 40, 60 ms): not a tight loop.
    expect(driver.openAttempts).toBe(5)
    expect(errors.length).toBeGreaterThan(0)
    expect(errors[0]).toBeInstanceOf(PoolConnectError)
    driver.failAllOpens(undefined)
    await sleep(40)
    expect(pool.checkedIn()).toBe(2)
    await pool.dispose()
  })

  it('a disconnect on a connection from an already-stale generation does not condemn newer ones', async () => {
    const { pool } = make({ poolSize: 3 })
    const old1 = await pool.acquire()
    const old2 = await pool.acquire()
    pool.invalidate(old1) // old2 is now stale
    const fresh = await pool.acquire()
    pool.invalidate(old2) // stale generation: fresh stays good
    pool.release(old1)
    pool.release(old2)
    pool.release(fresh)
    expect((await pool.acquire()).id).toBe(fresh.id)
  })

  it('a handle cannot invalidate after its release', async () => {
    const { pool } = make()
    const h = await pool.checkout()
    h.release()
    expect(() => h.invalidate()).toThrow(/already released/)
  })

  it('acquire() on a disposed pool rejects at once', async () => {
    const { pool } = make()
    await pool.dispose()
    await expect(pool.checkout()).rejects.toBeInstanceOf(PoolDisposedError)
  })
})
