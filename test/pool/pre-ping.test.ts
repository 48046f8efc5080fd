/**
 * A pre-ping never condemns a healthy connection because its caller waited:
 * the ping has its own `poolPrePingTimeout`; a caller whose `poolTimeout`
 * runs out during the ping gets a PoolTimeoutError and the connection stays
 * in the pool; only a ping that fails (or outlives its own limit) condemns.
 */
import { sql } from 'kysely'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createEngine } from '../../src/engine/index.js'
import { PoolConnectError, PoolOptionError, PoolTimeoutError, QueuePool } from '../../src/pool/index.js'
import { FakeDriver } from '../support/fake-driver.js'
import { scoped, withAppName } from '../support/reliability.js'
import { PG_URL, runPg } from '../support/servers.js'

afterEach(() => {
  vi.useRealTimers()
})

/** The pool reads performance.now() and arms timers: all faked, so a busy machine cannot shift them. */
function useFakeClock(): void {
  vi.useFakeTimers({ toFake: ['performance', 'Date', 'setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'] })
}

describe('pre-ping on the fake driver', () => {
  it('a caller whose wait ends during the ping gets PoolTimeoutError; the healthy connection stays', async () => {
    useFakeClock()
    const driver = new FakeDriver()
    const pool = new QueuePool(driver, { poolSize: 1, maxOverflow: 0, poolTimeout: 100, poolPrePing: true })
    const held = await pool.acquire()
    driver.pingDelay = 30
    const late = pool.acquire().then(
      () => 'served',
      (e: unknown) => e,
    )
    // The holder returns the connection at 90 of the waiter's 100 ms: the ping needs 30.
    await vi.advanceTimersByTimeAsync(90)
    pool.release(held)
    await vi.advanceTimersByTimeAsync(10)
    const outcome = await late
    expect(outcome).toBeInstanceOf(PoolTimeoutError)
    expect(outcome).not.toBeInstanceOf(PoolConnectError)
    await vi.advanceTimersByTimeAsync(20)
    // The ping answered: the connection is back, never closed nor invalidated.
    expect(driver.closes).toBe(0)
    expect(pool.stats().invalidated).toBe(0)
    expect(pool.checkedIn()).toBe(1)
    expect(pool.checkedOut()).toBe(0)
    const again = pool.acquire()
    await vi.advanceTimersByTimeAsync(30)
    const c = await again
    expect(c.id).toBe(held.id)
    pool.release(c)
    await pool.dispose()
  })

  it('a ping that outlives poolPrePingTimeout condemns; the caller, still within its wait, gets a fresh connection', async () => {
    useFakeClock()
    const driver = new FakeDriver()
    const pool = new QueuePool(driver, { poolSize: 1, maxOverflow: 0, poolTimeout: 1_000, poolPrePing: true, poolPrePingTimeout: 50 })
    const first = await pool.acquire()
    pool.release(first)
    driver.pingDelay = Infinity
    const next = pool.acquire()
    await vi.advanceTimersByTimeAsync(50)
    const c = await next
    expect(c.id).not.toBe(first.id)
    expect(driver.connections[0].closed).toBe(true)
    expect(pool.stats().invalidated).toBe(1)
    pool.release(c)
    await pool.dispose()
  })

  it('a ping that answers "dead" within the caller wait still condemns and replaces', async () => {
    const driver = new FakeDriver()
    const pool = new QueuePool(driver, { poolSize: 1, maxOverflow: 0, poolPrePing: true })
    const first = await pool.acquire()
    pool.release(first)
    driver.pingDelay = 1
    driver.connections[0].dead = true
    const c = await pool.acquire()
    expect(c.id).not.toBe(first.id)
    expect(pool.stats().invalidated).toBe(1)
    pool.release(c)
    await pool.dispose()
  })

  it('poolPrePingTimeout must be a positive number of ms', () => {
    expect(() => new QueuePool(new FakeDriver(), { poolPrePingTimeout: 0 })).toThrow(PoolOptionError)
    expect(() => new QueuePool(new FakeDriver(), { poolPrePingTimeout: Infinity })).toThrow(/poolPrePingTimeout/)
  })
})

describe.skipIf(!runPg)('pre-ping under contention on PostgreSQL', () => {
  it('40 workers on a pool of 4: no PoolConnectError, no healthy connection closed', { timeout: 120_000 }, async () => {
    const engine = createEngine<unknown>(withAppName(PG_URL, scoped('preping_contention')), {
      poolSize: 4,
      maxOverflow: 0,
      poolTimeout: 150,
      poolPrePing: true,
    })
    let invalidated = 0
    let closed = 0
    try {
      // Open the four connections first, so every later checkout pre-pings. On a busy
      // machine an open can outlast poolTimeout: retry, and close whatever was opened.
      for (let tries = 0; engine.pool.checkedIn() < 4 && tries < 50; tries++) {
        const warm = await Promise.allSettled(Array.from({ length: 4 }, () => engine.connect()))
        for (const r of warm) if (r.status === 'fulfilled') await r.value.close()
      }
      expect(engine.pool.checkedIn()).toBe(4)
      engine.pool.on('invalidate', () => invalidated++)
      engine.pool.on('close', () => closed++)
      const outcomes: string[] = []
      let peakWaiting = 0
      const worker = async (): Promise<void> => {
        for (let i = 0; i < 5; i++) {
          try {
            const running = sql`SELECT pg_sleep(0.01)`.execute(engine.db)
            peakWaiting = Math.max(peakWaiting, engine.pool.stats().waiting)
            await running
            outcomes.push('ok')
          } catch (e) {
            outcomes.push(e instanceof PoolTimeoutError ? 'timeout' : `${(e as Error).name}: ${(e as Error).message}`)
          }
        }
      }
      await Promise.all(Array.from({ length: 40 }, worker))
      const other = outcomes.filter((o) => o !== 'ok' && o !== 'timeout')
      expect(other).toEqual([])
      // The contention was real: callers queued for the four connections (whether some also
      // waited out their poolTimeout depends on the machine's speed, so it is not asserted).
      expect(peakWaiting).toBeGreaterThan(4)
      expect(invalidated).toBe(0)
      expect(closed).toBe(0)
    } finally {
      await engine.dispose({ timeout: 5_000 })
    }
  })
})
