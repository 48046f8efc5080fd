/**
 * Issue 5, scenario 7, on the fake driver: 1,000 callers on a pool of 5 with a
 * short timeout. Each caller is served in FIFO order or gets a PoolTimeoutError
 * never before the timeout and no later than timeout + 20 ms, and the
 * pool's counts add up at every event. On a fake clock, so the timing is exact
 * (test/reliability proves the same on a real server and a real clock).
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { PoolTimeoutError, QueuePool } from '../../src/pool/index.js'
import { FakeDriver } from '../support/fake-driver.js'

describe('QueuePool exhaustion and starvation', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('1,000 callers on a pool of 5: FIFO service or a timeout exactly at the timeout', async () => {
    vi.useFakeTimers({ toFake: ['performance', 'Date', 'setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'] })
    const TIMEOUT = 150
    const pool = new QueuePool(new FakeDriver(), { poolSize: 5, maxOverflow: 0, poolTimeout: TIMEOUT })
    const warm = await Promise.all([1, 2, 3, 4, 5].map(() => pool.acquire()))
    for (const c of warm) pool.release(c)

    let violations = 0
    const check = (): void => {
      const s = pool.stats()
      if (pool.checkedOut() + pool.checkedIn() !== pool.size() + pool.overflow()) violations++
      if (pool.overflow() > 0 || s.open !== 5 || s.inUse !== pool.checkedOut() || s.idle !== pool.checkedIn()) violations++
    }
    pool.on('checkout', check).on('checkin', check).on('timeout', check)

    const served: number[] = []
    const late: number[] = []
    const early: number[] = []
    let timeouts = 0
    const caller = async (i: number): Promise<void> => {
      const t0 = performance.now()
      let c
      try {
        c = await pool.acquire()
      } catch (e) {
        const waited = performance.now() - t0
        if (!(e instanceof PoolTimeoutError)) throw e
        if (waited !== TIMEOUT) (waited < TIMEOUT ? early : late).push(waited)
        timeouts++
        return
      }
      served.push(i)
      await new Promise((resolve) => setTimeout(resolve, 2))
      pool.release(c)
    }
    const all = Promise.all(Array.from({ length: 1000 }, (_, i) => caller(i)))
    await vi.advanceTimersByTimeAsync(TIMEOUT + 100)
    await all
    expect(served.length + timeouts).toBe(1000)
    expect(served.length).toBeGreaterThan(5)
    expect(timeouts).toBeGreaterThan(0)
    expect(served).toEqual([...served].sort((a, b) => a - b))
    expect(early).toEqual([])
    expect(late).toEqual([])
    expect(violations).toBe(0)
    expect(pool.stats()).toMatchObject({ waiting: 0, open: 5, idle: 5, timeouts })
    await pool.dispose()
  })
})
