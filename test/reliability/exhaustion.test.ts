/**
 * Scenario 7, pool exhaustion and starvation: 1,000 callers on a pool of 5
 * with a short timeout. Each either gets a connection in FIFO order or a
 * PoolTimeoutError within the timeout + 20 ms, and the pool's counts add up
 * at every step.
 *
 * On a loaded machine the event loop itself runs late; the probe measures
 * that over the whole run, and a wait may exceed the bound by what the loop
 * alone could add: a waiter is stamped at the end of its loop turn, and its
 * deadline timer fires in a later one, so twice the probe's allowance.
 */
import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { createEngine, type Engine } from '../../src/engine/index.js'
import { AthanorError, PoolTimeoutError } from '../../src/pool/index.js'
import { probeLateness } from '../support/lateness.js'
import { now, report, scoped, sleep, warm, watchProcessFailures, withAppName } from '../support/reliability.js'
import { PG_URL, runPg } from '../support/servers.js'

const CALLERS = 1000
const POOL_SIZE = 5
const TIMEOUT = 250
const SLACK = 20
const HOLD = 4
const WAVE = 20
const WAVE_MS = 10

describe.skipIf(!runPg)('scenario 7: pool exhaustion (PostgreSQL)', () => {
  let engine: Engine<unknown> | undefined
  afterAll(async () => {
    await engine?.dispose()
  })

  it('1,000 callers on a pool of 5: FIFO service or a timeout within timeout + 20 ms; counts add up', async () => {
    const crashes = watchProcessFailures()
    engine = createEngine<unknown>(withAppName(PG_URL, scoped('exhaustion_test')), {
      poolSize: POOL_SIZE,
      maxOverflow: 0,
      poolTimeout: TIMEOUT,
    })
    const pool = engine.pool
    // Warm the pool so opening connections does not eat into the first callers' wait
    // (an open slower than the timeout on a loaded machine is retried).
    await warm(engine, POOL_SIZE)
    expect(pool.checkedIn()).toBe(POOL_SIZE)

    // The pool's own counts, checked at every event it emits.
    const violations: string[] = []
    let checkoutEvents = 0
    let timeoutEvents = 0
    const check = (when: string): void => {
      const out = pool.checkedOut()
      const idle = pool.checkedIn()
      const st = pool.stats()
      const bad =
        out < 0 ||
        out > POOL_SIZE ||
        idle < 0 ||
        idle > POOL_SIZE ||
        out + idle !== pool.size() + pool.overflow() ||
        pool.overflow() > 0 ||
        st.inUse !== out ||
        st.idle !== idle ||
        st.open !== out + idle ||
        st.waiting < 0 ||
        checkoutEvents + timeoutEvents > CALLERS + POOL_SIZE
      if (bad && violations.length < 5) {
        violations.push(`${when}: out=${out} idle=${idle} size=${pool.size()} overflow=${pool.overflow()} stats=${JSON.stringify(st)}`)
      }
    }
    const onCheckout = (): void => {
      checkoutEvents++
      check('checkout')
    }
    const onCheckin = (): void => check('checkin')
    const onTimeout = (): void => {
      timeoutEvents++
      check('timeout')
    }
    pool.on('checkout', onCheckout).on('checkin', onCheckin).on('timeout', onTimeout)

    const requestedAt = new Array<number>(CALLERS)
    const servedAt = new Array<number | undefined>(CALLERS)
    const failedAt = new Array<number | undefined>(CALLERS)
    const served: number[] = []
    const errors: unknown[] = []
    const timeouts: PoolTimeoutError[] = []

    const caller = async (i: number): Promise<void> => {
      requestedAt[i] = now()
      let conn
      try {
        conn = await engine!.connect()
      } catch (e) {
        failedAt[i] = now()
        if (e instanceof PoolTimeoutError) timeouts.push(e)
        else errors.push(e)
        return
      }
      servedAt[i] = now()
      served.push(i)
      try {
        await sql`select 1`.execute(conn.db)
        await sleep(HOLD)
      } finally {
        await conn.close()
      }
    }
    // Callers arrive in waves (WAVE every WAVE_MS), so arrivals, hand-offs and
    // timeouts interleave, as they do under real load.
    const t0 = now()
    const calls: Promise<void>[] = []
    // How late the event loop itself runs timers here, over the whole run.
    const loop = probeLateness()
    for (let i = 0; i < CALLERS; i++) {
      if (i > 0 && i % WAVE === 0) await sleep(WAVE_MS)
      calls.push(caller(i))
    }
    await Promise.all(calls)
    const wall = now() - t0
    const lateness = loop.stop()
    const loopAllowanceMs = 2 * lateness.allowanceMs
    pool.off('checkout', onCheckout).off('checkin', onCheckin).off('timeout', onTimeout)

    // Every caller is accounted for, and nothing else went wrong.
    expect(errors.map(String)).toEqual([])
    expect(served.length + timeouts.length).toBe(CALLERS)
    expect(served.length).toBeGreaterThan(POOL_SIZE)
    expect(timeouts.length).toBeGreaterThan(0)
    expect(violations).toEqual([])
    expect(checkoutEvents).toBe(served.length)
    expect(timeoutEvents).toBe(timeouts.length)
    expect(pool.stats().timeouts).toBeGreaterThanOrEqual(timeouts.length)
    expect(pool.checkedOut()).toBe(0)
    expect(pool.checkedIn()).toBe(POOL_SIZE)
    expect(pool.stats().waiting).toBe(0)

    // FIFO: callers are served in the order they asked...
    expect(served).toEqual([...served].sort((a, b) => a - b))
    // ...and nobody is served while someone who asked earlier still waits.
    let fifoBreaks = 0
    for (const j of served) {
      for (let i = 0; i < j; i++) {
        const earlier = servedAt[i] ?? failedAt[i]!
        if (earlier > servedAt[j]! + 0.001) fifoBreaks++
      }
    }
    expect(fifoBreaks).toBe(0)

    // Each wait ends in time: served within the timeout, or a timeout error within timeout + 20 ms.
    const waits = served.map((i) => servedAt[i]! - requestedAt[i])
    const timeoutWaits = timeouts.length === 0 ? [] : Array.from({ length: CALLERS }, (_, i) => i)
      .filter((i) => failedAt[i] !== undefined)
      .map((i) => failedAt[i]! - requestedAt[i])
    const maxServedWait = Math.max(...waits)
    const minTimeoutWait = Math.min(...timeoutWaits)
    const maxTimeoutWait = Math.max(...timeoutWaits)
    const sortedLate = timeoutWaits.map((w) => w - TIMEOUT).sort((a, b) => a - b)
    const p99Late = sortedLate[Math.floor(sortedLate.length * 0.99)] ?? 0
    // Never early (1 ms for timer rounding), never more than 20 ms late beyond
    // what the event loop alone delayed (measured by the probe over this run).
    expect(maxServedWait - TIMEOUT).toBeLessThanOrEqual(SLACK + loopAllowanceMs)
    expect(minTimeoutWait).toBeGreaterThanOrEqual(TIMEOUT - 1)
    expect(maxTimeoutWait - TIMEOUT).toBeLessThanOrEqual(SLACK + loopAllowanceMs)

    // The error says the pool is exhausted and what its state was.
    const e = timeouts[0]
    expect(e).toBeInstanceOf(AthanorError)
    expect(e.code).toBe('POOL_TIMEOUT')
    expect(e.state).toMatchObject({ poolSize: POOL_SIZE, maxOverflow: 0, timeout: TIMEOUT, checkedOut: POOL_SIZE })
    expect(e.state.waiting).toBeGreaterThanOrEqual(0)
    expect(e.message).toMatch(new RegExp(`size\\D{0,3}${POOL_SIZE}\\b`, 'i'))
    expect(e.message).toMatch(new RegExp(`${TIMEOUT} ?ms`))
    expect(e.message).toMatch(new RegExp(`checked.out\\D{0,3}${POOL_SIZE}\\b`, 'i'))

    expect(crashes.stop()).toEqual([])
    report('exhaustion', {
      callers: CALLERS,
      poolSize: POOL_SIZE,
      timeoutMs: TIMEOUT,
      served: served.length,
      timedOut: timeouts.length,
      timeoutLateMaxMs: maxTimeoutWait - TIMEOUT,
      timeoutLateP99Ms: p99Late,
      loopLateMaxMs: lateness.maxMs,
      timeoutEarlyMaxMs: Math.max(0, TIMEOUT - minTimeoutWait),
      servedWaitMaxMs: maxServedWait,
      fifoBreaks,
      wallMs: wall,
    })
  })
})
