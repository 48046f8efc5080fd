import { describe, expect, it } from 'vitest'
import {
  AssertionPool,
  AssertionPoolError,
  NullPool,
  PoolDisposedError,
  PoolOptionError,
  PoolReleaseError,
  PoolTimeoutError,
  QueuePool,
  SingleConnectionPool,
  StaticPool,
  createPool,
} from '../../src/pool/index.js'
import { FakeDriver, sleep } from '../support/fake-driver.js'

describe('NullPool', () => {
  it('opens a connection per checkout and closes it on release', async () => {
    const driver = new FakeDriver()
    const pool = new NullPool(driver)
    const a = await pool.acquire()
    const b = await pool.acquire()
    expect(a.id).not.toBe(b.id)
    expect(pool.checkedOut()).toBe(2)
    pool.release(a)
    expect(a.closed).toBe(true)
    expect(() => pool.release(a)).toThrow(PoolReleaseError)
    const h = await pool.checkout()
    h.release()
    expect(h.connection.closed).toBe(true)
    expect(pool.status()).toBe('NullPool')
    pool.release(b)
    expect(driver.live).toBe(0)
    await pool.dispose()
    await expect(pool.acquire()).rejects.toBeInstanceOf(PoolDisposedError)
  })
})

describe('StaticPool', () => {
  it('shares one connection among all checkouts and resets it when the last holder returns', async () => {
    const driver = new FakeDriver()
    const pool = new StaticPool(driver)
    const [a, b] = await Promise.all([pool.acquire(), pool.acquire()])
    expect(a.id).toBe(b.id)
    expect(driver.opens).toBe(1)
    expect(pool.checkedOut()).toBe(2)
    pool.release(a)
    expect(driver.resets).toBe(0)
    pool.release(b)
    expect(driver.resets).toBe(1)
    expect(() => pool.release(a)).toThrow(PoolReleaseError)
    expect(pool.status()).toBe('StaticPool')
    await pool.dispose()
    expect(a.closed).toBe(true)
  })

  it('reopens the connection after a hard invalidation', async () => {
    const driver = new FakeDriver()
    const pool = new StaticPool(driver)
    const h = await pool.checkout()
    h.invalidate(new Error('gone'))
    expect(h.connection.closed).toBe(true)
    h.release()
    const next = await pool.acquire()
    expect(next).not.toBe(h.connection)
    pool.release(next)
    await pool.dispose()
  })
})

describe('AssertionPool', () => {
  it('throws AssertionPoolError with the first checkout stack on a second concurrent checkout', async () => {
    const pool = new AssertionPool(new FakeDriver())
    const c = await (async function firstCheckoutSite() {
      return pool.acquire()
    })()
    const e = await pool.acquire().catch((x: unknown) => x)
    expect(e).toBeInstanceOf(AssertionPoolError)
    expect((e as AssertionPoolError).code).toBe('POOL_ASSERTION')
    expect((e as Error).message).toContain('firstCheckoutSite')
    pool.release(c)
    const again = await pool.acquire()
    expect(again.id).toBe(c.id)
    pool.release(again)
    await pool.dispose()
  })

  it('a checkout right after a release waits for the async reset instead of failing', async () => {
    const driver = new FakeDriver()
    driver.resetDelay = 10
    const pool = new AssertionPool(driver)
    const c = await pool.acquire()
    c.inTransaction = true
    pool.release(c)
    const again = await pool.acquire()
    expect(again.inTransaction).toBe(false)
    pool.release(again)
    await pool.dispose()
  })
})

describe('SingleConnectionPool', () => {
  it('serializes checkouts of its one connection through a FIFO queue with poolTimeout', async () => {
    const driver = new FakeDriver()
    // A generous poolTimeout while the waiters queue (a busy machine is slow), a short one to prove the timeout.
    const pool = new SingleConnectionPool(driver, { poolSize: 10, poolTimeout: 30_000 })
    expect(pool.size()).toBe(1)
    const a = await pool.acquire()
    const order: number[] = []
    const w1 = pool.acquire().then((c) => (order.push(1), c))
    const w2 = pool.acquire().then((c) => (order.push(2), c))
    expect(pool.stats().waiting).toBe(2)
    await sleep(5)
    expect(order).toEqual([])
    pool.release(a)
    pool.release(await w1)
    pool.release(await w2)
    expect(order).toEqual([1, 2])
    expect(driver.opens).toBe(1)
    await pool.dispose()
    const short = new SingleConnectionPool(new FakeDriver(), { poolTimeout: 30 })
    const held = await short.acquire()
    await expect(short.acquire()).rejects.toBeInstanceOf(PoolTimeoutError)
    short.release(held)
    await short.dispose()
  })

  it('never recycles or idles out its connection (the in-memory data lives in it)', () => {
    const pool = new SingleConnectionPool(new FakeDriver(), { poolRecycle: 10, idleTimeout: 10, maxUses: 2 })
    expect(pool.options).toMatchObject({ poolSize: 1, maxOverflow: 0, poolRecycle: -1, idleTimeout: -1, maxUses: -1 })
  })
})

describe('createPool', () => {
  it('maps names to classes and calls factories', () => {
    const driver = new FakeDriver()
    expect(createPool('queue', driver)).toBeInstanceOf(QueuePool)
    expect(createPool('null', driver)).toBeInstanceOf(NullPool)
    expect(createPool('static', driver)).toBeInstanceOf(StaticPool)
    expect(createPool('assertion', driver)).toBeInstanceOf(AssertionPool)
    expect(createPool('single', driver)).toBeInstanceOf(SingleConnectionPool)
    const made = createPool((d, o) => new QueuePool(d, { ...o, poolSize: 7 }), driver, {})
    expect(made.size()).toBe(7)
  })

  it('throws PoolOptionError naming an unknown class', () => {
    const driver = new FakeDriver()
    expect(() => createPool('queued' as never, driver)).toThrow(PoolOptionError)
    expect(() => createPool('queued' as never, driver)).toThrow(/poolClass.*"queued"/)
    expect(() => createPool('toString' as never, driver)).toThrow(PoolOptionError)
  })

  it('recreate() keeps the class', async () => {
    const pool = createPool('null', new FakeDriver())
    expect(pool.recreate()).toBeInstanceOf(NullPool)
  })
})

describe('invalidate without release (what the engine does with a dead connection)', () => {
  it('QueuePool frees the slot and forgets the connection; a late release is still accepted once', async () => {
    const pool = new QueuePool(new FakeDriver(), { poolSize: 1, maxOverflow: 0, poolTimeout: 1_000 })
    const a = await pool.acquire()
    const waiter = pool.acquire()
    pool.invalidate(a, new Error('connection reset'))
    const b = await waiter
    expect(b.id).not.toBe(a.id)
    expect(pool.checkedOut()).toBe(1)
    expect(pool.stats()).toMatchObject({ open: 1, inUse: 1 })
    expect(() => pool.invalidate(a)).not.toThrow() // twice: already done
    pool.release(a)
    expect(() => pool.release(a)).toThrow(PoolReleaseError)
    pool.release(b)
    await pool.dispose()
  })

  it('NullPool and AssertionPool forget the checkout too', async () => {
    const nul = new NullPool(new FakeDriver())
    const c = await nul.acquire()
    nul.invalidate(c)
    expect(nul.checkedOut()).toBe(0)
    await nul.dispose() // nothing held: resolves
    const assertion = new AssertionPool(new FakeDriver())
    const d = await assertion.acquire()
    assertion.invalidate(d)
    const e = await assertion.acquire() // not an AssertionPoolError: the first checkout is over
    expect(e.id).not.toBe(d.id)
    assertion.release(d) // a late release of the invalidated one is fine
    assertion.release(e)
    await assertion.dispose()
  })
})
