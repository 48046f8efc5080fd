/**
 * `pool.resize({ poolSize, maxOverflow })` while the pool runs: growing
 * serves the callers waiting now, shrinking closes idle connections first and
 * held ones as they come back, never taking a connection from its holder.
 */
import { sql } from 'kysely'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/index.js'
import {
  NullPool,
  PoolDisposedError,
  PoolOptionError,
  QueuePool,
  SingleConnectionPool,
  StaticPool,
} from '../../src/pool/index.js'
import { FakeDriver, sleep, type FakeConnection } from '../support/fake-driver.js'
import { PG_URL, pgConfig, runPg } from '../support/servers.js'

const tick = () => sleep(0)

describe('QueuePool.resize on the fake driver', () => {
  it('growing serves the waiting callers at once, without any holder giving back', async () => {
    const driver = new FakeDriver()
    const pool = new QueuePool(driver, { poolSize: 2, maxOverflow: 0, poolTimeout: 10_000 })
    const held = await Promise.all([pool.checkout(), pool.checkout()])
    let served = 0
    const waiting = Array.from({ length: 5 }, () => pool.checkout().then((c) => (served++, c)))
    await tick()
    expect(served).toBe(0)
    expect(pool.stats().waiting).toBe(5)
    pool.resize({ poolSize: 7 })
    const got = await Promise.all(waiting)
    expect(served).toBe(5)
    expect(pool.stats().open).toBe(7)
    expect(pool.size()).toBe(7)
    expect(pool.options.poolSize).toBe(7)
    expect(pool.status()).toContain('Pool size: 7')
    for (const c of [...held, ...got]) c.release()
    expect(pool.checkedIn()).toBe(7)
    await pool.dispose()
  })

  it('shrinking closes idle connections first, held ones only when they come back', async () => {
    const driver = new FakeDriver()
    const pool = new QueuePool(driver, { poolSize: 5, maxOverflow: 5 })
    const all = await Promise.all(Array.from({ length: 8 }, () => pool.checkout()))
    // 3 held, 5 idle (8 opened: 3 are overflow, closed on return beyond poolSize... keep them all idle by size 10)
    pool.resize({ poolSize: 8 })
    for (const c of all.slice(3)) c.release()
    const held = all.slice(0, 3)
    expect(pool.stats()).toMatchObject({ open: 8, idle: 5, inUse: 3 })

    pool.resize({ poolSize: 2, maxOverflow: 0 })
    // Every idle one closed (open 3 > 2 even with none idle); no held one touched.
    expect(pool.stats()).toMatchObject({ open: 3, idle: 0, inUse: 3 })
    expect(held.every((c) => !c.connection.closed)).toBe(true)
    expect(driver.connections.filter((c) => c.closed)).toHaveLength(5)

    held[0].release() // over capacity: closed on return
    expect(held[0].connection.closed).toBe(true)
    expect(pool.stats()).toMatchObject({ open: 2, idle: 0, inUse: 2 })
    held[1].release() // within capacity: kept
    expect(held[1].connection.closed).toBe(false)
    expect(pool.stats()).toMatchObject({ open: 2, idle: 1, inUse: 1 })
    held[2].release()
    expect(pool.stats()).toMatchObject({ open: 2, idle: 2 })
    await pool.dispose()
  })

  it('a shrink that leaves idle connections beyond poolSize closes the longest idle', async () => {
    const driver = new FakeDriver()
    const pool = new QueuePool(driver, { poolSize: 4, maxOverflow: 0 })
    const cs = await Promise.all(Array.from({ length: 4 }, () => pool.checkout()))
    const order = cs.map((c) => c.connection)
    for (const c of cs) c.release() // idle in this order: 0 is the longest idle
    pool.resize({ poolSize: 2, maxOverflow: 5 })
    expect(order.map((c) => c.closed)).toEqual([true, true, false, false])
    expect(pool.stats()).toMatchObject({ open: 2, idle: 2 })
    await pool.dispose()
  })

  it('an open still in flight past the new capacity is closed when it arrives, and its caller waits on', async () => {
    const driver = new FakeDriver()
    driver.openDelay = 20
    const pool = new QueuePool(driver, { poolSize: 2, maxOverflow: 0, poolTimeout: 10_000 })
    const first = pool.checkout()
    const second = pool.checkout()
    await tick()
    expect(pool.stats().pending).toBe(2)
    pool.resize({ poolSize: 1 })
    const a = await first
    let secondServed = false
    void second.then(() => (secondServed = true))
    await expect.poll(() => driver.closes).toBe(1)
    expect(secondServed).toBe(false)
    a.release()
    const b = await second
    expect(b.connection).toBe(a.connection)
    b.release()
    expect(pool.stats().open).toBe(1)
    await pool.dispose()
  })

  it('under load: 32 workers through grow and shrink steps, no holder interrupted, no caller failed', async () => {
    const driver = new FakeDriver()
    const pool = new QueuePool(driver, { poolSize: 4, maxOverflow: 0, poolTimeout: 30_000 })
    const steps = [
      { poolSize: 12, maxOverflow: 4 },
      { poolSize: 1, maxOverflow: 0 },
      { poolSize: 20, maxOverflow: 0 },
      { poolSize: 3, maxOverflow: 2 },
    ]
    let cycles = 0
    let holding = 0
    let maxHoldingAfterShrink = 0
    let settledCap = Infinity
    let interrupted = 0
    const failures: unknown[] = []
    let stop = false
    const worker = async (): Promise<void> => {
      while (!stop) {
        let c
        try {
          c = await pool.checkout()
        } catch (error) {
          failures.push(error)
          return
        }
        holding++
        if (holding > maxHoldingAfterShrink && settledCap !== Infinity) maxHoldingAfterShrink = holding
        if ((c.connection as FakeConnection).closed) interrupted++
        await (cycles % 3 === 0 ? sleep(0) : Promise.resolve())
        if ((c.connection as FakeConnection).closed) interrupted++
        holding--
        cycles++
        c.release()
      }
    }
    const workers = Array.from({ length: 32 }, worker)
    for (const step of steps) {
      const before = cycles
      await expect.poll(() => cycles >= before + 500).toBe(true)
      settledCap = Infinity
      pool.resize(step)
      const cap = step.poolSize + step.maxOverflow
      // Every shrink takes effect as holders give back: open connections come down to the capacity.
      await expect.poll(() => pool.stats().open + pool.stats().pending <= cap).toBe(true)
      maxHoldingAfterShrink = 0
      settledCap = cap
      const mark = cycles
      await expect.poll(() => cycles >= mark + 500).toBe(true)
      expect(maxHoldingAfterShrink).toBeLessThanOrEqual(cap)
    }
    stop = true
    await Promise.all(workers)
    expect(failures).toEqual([])
    expect(interrupted).toBe(0)
    expect(pool.stats().open).toBeLessThanOrEqual(5)
    expect(pool.stats().timeouts).toBe(0)
    // Growing to 20 did open 20 for the 32 workers.
    expect(driver.opens).toBeGreaterThanOrEqual(20)
    await pool.dispose()
    expect(driver.live).toBe(0)
  })

  it('refuses bad sizes with a typed error and keeps its size', async () => {
    const pool = new QueuePool(new FakeDriver(), { poolSize: 3, maxOverflow: 1, minIdle: 2 })
    expect(() => pool.resize({ poolSize: -1 })).toThrow(PoolOptionError)
    expect(() => pool.resize({ poolSize: 1.5 })).toThrow(/poolSize/)
    expect(() => pool.resize({ maxOverflow: -2 })).toThrow(/maxOverflow/)
    expect(() => pool.resize({ poolSize: 1 })).toThrow(/minIdle/)
    expect(() => pool.resize({ poolTimeout: 5 } as never)).toThrow(/poolSize and maxOverflow only/)
    expect(() => pool.resize(null as never)).toThrow(PoolOptionError)
    expect(pool.options).toMatchObject({ poolSize: 3, maxOverflow: 1 })
    pool.resize({ maxOverflow: -1 })
    expect(pool.options).toMatchObject({ poolSize: 3, maxOverflow: -1 })
    // recreate() makes a pool of the new size.
    const again = pool.recreate()
    expect(again.options).toMatchObject({ poolSize: 3, maxOverflow: -1, minIdle: 2 })
    await pool.dispose()
    await again.dispose()
    expect(() => pool.resize({ poolSize: 4 })).toThrow(PoolDisposedError)
  })

  it('only QueuePool resizes: the others say so', async () => {
    for (const pool of [new NullPool(new FakeDriver()), new SingleConnectionPool(new FakeDriver()), new StaticPool(new FakeDriver())]) {
      expect(() => pool.resize({ poolSize: 2 })).toThrow(/only QueuePool/)
      await pool.dispose()
    }
  })
})

describe.skipIf(!runPg)('QueuePool.resize on PostgreSQL, under load', () => {
  it('the server sees the pool grow and shrink while 24 workers run queries; none fails', async () => {
    const app = `resize_test_${process.pid}`
    const url = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}application_name=${app}`
    const engine = createEngine(url, { poolSize: 2, maxOverflow: 0, poolTimeout: 30_000 })
    const observer = new pg.Client(pgConfig)
    await observer.connect()
    const onServer = async (): Promise<number> =>
      Number((await observer.query('SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1', [app])).rows[0].n)
    let done = 0
    let stop = false
    const failures: unknown[] = []
    const worker = async (): Promise<void> => {
      while (!stop) {
        try {
          await engine.begin(async (c) => {
            await sql`SELECT pg_sleep(0.002)`.execute(c.db)
            await sql`SELECT 1`.execute(c.db)
          })
          done++
        } catch (error) {
          failures.push(error)
          return
        }
      }
    }
    try {
      const workers = Array.from({ length: 24 }, worker)
      await expect.poll(() => done >= 50).toBe(true)
      expect(await onServer()).toBe(2)
      engine.pool.resize({ poolSize: 8, maxOverflow: 2 })
      await expect.poll(onServer).toBe(10)
      engine.pool.resize({ poolSize: 1, maxOverflow: 0 })
      await expect.poll(onServer).toBe(1)
      const mark = done
      await expect.poll(() => done >= mark + 50).toBe(true)
      expect(await onServer()).toBe(1)
      stop = true
      await Promise.all(workers)
      expect(failures).toEqual([])
    } finally {
      stop = true
      await engine.dispose()
      await observer.end()
    }
  })
})
