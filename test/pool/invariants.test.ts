/**
 * Property test: whatever callers do (check out, return, invalidate, hard or
 * soft) and however opens fail, the QueuePool's counts add up, it never hands
 * one connection to two callers, never holds more than its capacity, and ends
 * with every waiter served.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { QueuePool } from '../../src/pool/index.js'
import { FakeDriver, type FakeConnection } from '../support/fake-driver.js'

const flush = () => new Promise<void>((resolve) => setImmediate(resolve))

type Step =
  | { k: 'acquire' }
  | { k: 'release'; i: number }
  | { k: 'invalidate'; i: number; soft: boolean }
  | { k: 'failOpen' }
  | { k: 'flush' }

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ k: 'acquire' as const }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('release' as const), i: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('invalidate' as const), i: fc.nat(), soft: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ k: 'failOpen' as const }) },
  { weight: 2, arbitrary: fc.constant({ k: 'flush' as const }) },
)

describe('QueuePool invariants under random use', () => {
  it('counts add up, no double handout, capacity respected, every waiter served', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { maxLength: 60 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 2 }),
        fc.boolean(),
        async (steps, poolSize, maxOverflow, lifo) => {
          const driver = new FakeDriver()
          const pool = new QueuePool(driver, { poolSize, maxOverflow, poolUseLifo: lifo, poolTimeout: 10_000, connectBackoff: 0 })
          const held: FakeConnection[] = []
          const pending = new Set<Promise<void>>()
          let problems: string[] = []
          const check = (where: string) => {
            const s = pool.stats()
            if (pool.checkedIn() + pool.checkedOut() !== pool.size() + pool.overflow()) problems.push(`${where}: sum`)
            if (pool.checkedIn() > poolSize) problems.push(`${where}: idle above poolSize`)
            if (s.open + s.pending > poolSize + maxOverflow) problems.push(`${where}: above capacity`)
            if (new Set(held).size !== held.length) problems.push(`${where}: one connection held twice`)
            if (held.some((c) => c.closed && !c.dead)) problems.push(`${where}: a closed connection handed out`)
          }
          const acquire = () => {
            const p: Promise<void> = pool.acquire().then(
              (c) => void held.push(c),
              () => {}, // a failed open: fine
            )
            const tracked = p.finally(() => pending.delete(tracked))
            pending.add(tracked)
          }
          for (const s of steps) {
            if (s.k === 'acquire') acquire()
            else if (s.k === 'release' && held.length > 0) pool.release(held.splice(s.i % held.length, 1)[0])
            else if (s.k === 'invalidate' && held.length > 0) {
              const c = held[s.i % held.length]
              if (!s.soft) {
                held.splice(s.i % held.length, 1)
                c.dead = true // closed on purpose: not a bug if seen closed
              }
              pool.invalidate(c, new Error('disconnect'), { soft: s.soft })
            } else if (s.k === 'failOpen') driver.failOpens(1)
            else if (s.k === 'flush') await flush()
            check(s.k)
          }
          // Return everything, including what waiters get, until nobody waits.
          for (let round = 0; round < 50 && (pending.size > 0 || held.length > 0); round++) {
            while (held.length > 0) pool.release(held.pop()!)
            await flush()
            check('drain')
          }
          expect(problems).toEqual([])
          expect(pending.size).toBe(0)
          expect(pool.stats()).toMatchObject({ waiting: 0, inUse: 0, pending: 0 })
          expect(driver.live).toBe(pool.stats().open)
          await pool.dispose()
          expect(driver.live).toBe(0)
          problems = []
        },
      ),
      { numRuns: 150 },
    )
  })
})
