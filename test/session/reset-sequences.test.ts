/**
 * Issue 14: PostgreSQL and PGlite keep sequence values across a rolled-back
 * transaction (MySQL its AUTO_INCREMENT): resetSequences puts each generated
 * key back to the table's largest key plus one, on all four dialects.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Engine } from '../../src/engine/types.js'
import { type DatabaseOf, MetaData, Model, resetSequences, serial, sessionmaker, table, text } from '../../src/session/index.js'
import { SLOW_HOOK, SLOW_START, TARGETS, engineFor } from './helpers.js'

const note = table('reseq_note', { id: serial().primaryKey(), body: text() })
class Note extends Model(note) {}
const metadata = new MetaData(note)
type DB = DatabaseOf<typeof metadata>

for (const target of TARGETS) {
  describe.skipIf(!target.run)(`resetSequences on ${target.name}`, () => {
    let engine: Engine<DB>
    beforeAll(async () => {
      engine = engineFor<DB>(target, undefined, SLOW_START)
      await metadata.dropAll(engine)
      await metadata.createAll(engine)
    }, SLOW_HOOK)
    afterAll(async () => {
      await metadata.dropAll(engine)
      await engine.dispose()
    })

    const insertOne = async () => {
      const s = sessionmaker({ bind: engine })()
      try {
        const n = new Note({ body: 'x' })
        s.add(n)
        await s.commit()
        return n.id
      } finally {
        await s.close()
      }
    }

    it('the next key after rolled-back inserts is 1 again, and after kept rows their largest plus one', async () => {
      const s = sessionmaker({ bind: engine })()
      s.addAll([new Note({ body: 'a' }), new Note({ body: 'b' }), new Note({ body: 'c' })])
      await s.flush()
      await s.rollback()
      await s.close()
      await resetSequences(engine, metadata)
      expect(await insertOne()).toBe(1)
      expect(await insertOne()).toBe(2)
      await engine.db.deleteFrom('reseq_note').where('id', '=', 2).execute()
      await resetSequences(engine, metadata)
      expect(await insertOne()).toBe(2)
      await engine.db.deleteFrom('reseq_note').execute()
      await resetSequences(engine, metadata)
      expect(await insertOne()).toBe(1)
    })

    it.runIf(target.name !== 'mysql')('runs in a connection\'s own transaction', async () => {
      await engine.db.deleteFrom('reseq_note').execute()
      await engine.begin(async (conn) => {
        await resetSequences(conn, metadata)
      })
      expect(await insertOne()).toBe(1)
    })
  })
}
