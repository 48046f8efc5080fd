import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/index.js'
import type { Engine } from '../../src/engine/types.js'
import { SameContextCheckoutError, SingleConnectionPool } from '../../src/pool/index.js'
import { MetaData, Model, serial, sessionmaker, table, varchar } from '../../src/session/index.js'
import { PGLITE_START_MS, SLOW_SETUP_MS } from '../support/slow-setup.js'

const thing = table('scd_thing', { id: serial().primaryKey(), name: varchar(20) })
class Thing extends Model(thing) {}
const metadata = new MetaData(thing)

// A wait on these engines would last far longer than the test's own timeout: a pass proves the error came at once.
const NEVER = 10 * 60_000

for (const url of ['sqlite://', 'pglite://']) {
  describe(`a second checkout from the holder's own async context on ${url}`, () => {
    let engine: Engine<unknown>
    beforeAll(async () => {
      engine = createEngine(url, { poolTimeout: NEVER, connectTimeout: PGLITE_START_MS })
      expect(engine.pool).toBeInstanceOf(SingleConnectionPool)
      await metadata.createAll(engine)
      await engine.db.insertInto('scd_thing' as never).values({ name: 'a' } as never).execute()
    }, SLOW_SETUP_MS)
    afterAll(async () => {
      await engine.dispose()
    })

    it('a second Session opened before the first is closed fails at once, naming where the first checked out', async () => {
      const Session = sessionmaker({ bind: engine })
      const first = Session()
      const [a] = await first.query(Thing) // checks out through Kysely, deep inside the call
      expect(a.name).toBe('a')
      const second = Session()
      const error = await second.get(Thing, a.id).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(SameContextCheckoutError)
      expect((error as SameContextCheckoutError).code).toBe('POOL_SAME_CONTEXT_CHECKOUT')
      // A boolean: a failed toContain would diff the whole stack.
      expect((error as SameContextCheckoutError).holderStack.includes('same-context-deadlock.test.ts')).toBe(true)
      expect(engine.pool.checkedOut()).toBe(1)
      await second.close()
      await first.close()
      // Once the first is closed, the same code works.
      const third = Session()
      expect((await third.get(Thing, a.id))?.name).toBe('a')
      await third.close()
      expect(engine.pool.checkedOut()).toBe(0)
    })

    it('also for engine.connect() after a flush, and after engine.connect()', async () => {
      const Session = sessionmaker({ bind: engine })
      const s = Session()
      s.add(new Thing({ name: 'b' }))
      await s.flush()
      await expect(engine.connect()).rejects.toBeInstanceOf(SameContextCheckoutError)
      await s.rollback()
      await s.close()
      const c = await engine.connect()
      await expect(engine.connect()).rejects.toBeInstanceOf(SameContextCheckoutError)
      await c.close()
      expect(engine.pool.checkedOut()).toBe(0)
    })

    it('sessions run side by side (Promise.all) still take turns', async () => {
      const Session = sessionmaker({ bind: engine })
      const names = await Promise.all(
        [1, 2, 3].map(async (n) => {
          const s = Session()
          try {
            const t = await s.get(Thing, 1)
            s.add(new Thing({ name: `p${n}` }))
            await s.commit()
            return t === null ? '' : 'found'
          } finally {
            await s.close()
          }
        }),
      )
      expect(names).toEqual(['found', 'found', 'found'])
      expect(engine.pool.checkedOut()).toBe(0)
    })

    it('a waiter from a context that does not descend from the holder queues and is served on release', async () => {
      const Session = sessionmaker({ bind: engine })
      let go!: () => void
      const gate = new Promise<void>((resolve) => (go = resolve))
      let served = false
      // Started before the holder's checkout: its context is not the holder's descendant.
      const waiter = (async () => {
        await gate
        const s = Session()
        try {
          const t = await s.get(Thing, 1)
          served = true
          return t?.name
        } finally {
          await s.close()
        }
      })()
      const holder = Session()
      await holder.get(Thing, 1)
      go()
      await expect.poll(() => engine.pool.stats().waiting).toBe(1)
      expect(served).toBe(false)
      await holder.close()
      expect(await waiter).toBe('a')
      expect(engine.pool.checkedOut()).toBe(0)
    })
  })
}
