/**
 * Issue 14, "large reads": session.stream yields mapped objects in batches
 * (a server-side cursor on PostgreSQL and PGlite, keyset pages on MySQL and
 * SQLite), through the identity map, and lets go of the unchanged objects of
 * a batch once the caller moved on, while a kept object stays the same object.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Engine } from '../../src/engine/types.js'
import { InvalidRequestError, type DatabaseOf, MetaData, Model, integer, serial, sessionmaker, table, text } from '../../src/session/index.js'
import { SLOW_HOOK, SLOW_START, StatementLog, TARGETS, engineFor } from './helpers.js'

const item = table('stream_item', { id: serial().primaryKey(), n: integer(), label: text() })
class Item extends Model(item) {}
const metadata = new MetaData(item)
type DB = DatabaseOf<typeof metadata>
const COUNT = 250

/** Every statement echoed (the shared log keeps only SELECT, INSERT...; a cursor's FETCH is wanted here). */
class AllStatements extends StatementLog {
  override info(...args: unknown[]): void {
    const msg = args.find((a): a is string => typeof a === 'string') ?? ''
    const i = msg.indexOf(': ')
    this.statements.push(i >= 0 ? msg.slice(i + 2) : msg)
  }
}

for (const target of TARGETS) {
  describe.skipIf(!target.run)(`session.stream on ${target.name}`, () => {
    const log = new AllStatements()
    let engine: Engine<DB>
    let Session: ReturnType<typeof sessionmaker<DB>>
    beforeAll(async () => {
      engine = engineFor<DB>(target, log, SLOW_START)
      await metadata.dropAll(engine)
      await metadata.createAll(engine)
      await engine.insertMany('stream_item', Array.from({ length: COUNT }, (_, i) => ({ n: i, label: `item ${i}` })))
      Session = sessionmaker({ bind: engine })
    }, SLOW_HOOK)
    afterAll(async () => {
      await metadata.dropAll(engine)
      await engine.dispose()
    })

    it('yields every row of the query, in batches of batchSize', async () => {
      const s = Session()
      try {
        log.take()
        const seen: number[] = []
        for await (const o of s.stream(Item, (q) => q.where('n', '>=', 10).orderBy('id'), { batchSize: 40 })) seen.push(o.n)
        expect(seen).toEqual(Array.from({ length: COUNT - 10 }, (_, i) => i + 10))
        const statements = log.take()
        const reads = statements.filter((q) => /^(select|fetch)/i.test(q))
        if (target.name === 'postgresql' || target.name === 'pglite') {
          expect(statements.filter((q) => /^DECLARE/.test(q))).toHaveLength(1)
          expect(statements.filter((q) => /^CLOSE/.test(q))).toHaveLength(1)
          expect(reads.every((q) => /^FETCH FORWARD 40 /.test(q))).toBe(true)
        }
        // 240 rows in batches of 40: 6 full batches and one that finds the end.
        expect(reads.length).toBeGreaterThanOrEqual(6)
        expect(reads.length).toBeLessThanOrEqual(8)
      } finally {
        await s.close()
      }
    })

    it('keeps identity for objects the caller holds, and changes to streamed objects are flushed', async () => {
      const s = Session()
      try {
        const kept: InstanceType<typeof Item>[] = []
        for await (const o of s.stream(Item, undefined, { batchSize: 50 })) {
          if (o.n % 50 === 0) kept.push(o)
          if (o.n === 3) o.label = 'changed'
        }
        expect(kept).toHaveLength(COUNT / 50)
        // The same objects come back from a query or get, released or not.
        expect(await s.get(Item, kept[1].id)).toBe(kept[1])
        const again = await s.query(Item, (q) => q.where('n', '=', 100))
        expect(again[0]).toBe(kept[2])
        await s.commit()
      } finally {
        await s.close()
      }
      const row = await engine.db.selectFrom('stream_item').select('label').where('n', '=', 3).executeTakeFirstOrThrow()
      expect(row.label).toBe('changed')
      await engine.db.updateTable('stream_item').set({ label: 'item 3' }).where('n', '=', 3).execute()
    })

    it('breaking out early ends the stream, and the session goes on', async () => {
      const s = Session()
      try {
        let count = 0
        for await (const o of s.stream(Item, (q) => q.orderBy('id'), { batchSize: 10 })) {
          expect(o).toBeInstanceOf(Item)
          if (++count === 15) break
        }
        expect(count).toBe(15)
        const all = await s.query(Item)
        expect(all).toHaveLength(COUNT)
      } finally {
        await s.close()
      }
    })

    it('refuses a batchSize that is not a positive integer', async () => {
      const s = Session()
      try {
        const it = s.stream(Item, undefined, { batchSize: 0 })
        await expect(it.next()).rejects.toBeInstanceOf(InvalidRequestError)
      } finally {
        await s.close()
      }
    })
  })
}
