import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Engine } from '../../src/engine/types.js'
import {
  MetaData,
  Model,
  bigint,
  boolean,
  json,
  numeric,
  real,
  serial,
  sessionmaker,
  table,
  text,
  timestamp,
  uuid,
  varchar,
} from '../../src/session/index.js'
import { TARGETS, engineFor } from './helpers.js'

const sample = table('ctypes_sample', {
  id: serial().primaryKey(),
  big: bigint(),
  price: numeric(10, 2),
  ratio: real(),
  flag: boolean(),
  doc: json<{ tags: string[] } | string[]>(),
  at: timestamp(),
  ref: uuid(),
  label: varchar(20).serverDefault("'draft'"),
  body: text().nullable(),
})
class Sample extends Model(sample) {}
const metadata = new MetaData(sample)

for (const target of TARGETS) {
  describe.skipIf(!target.run)(`column types on ${target.name}`, () => {
    let engine: Engine<unknown>
    beforeAll(async () => {
      engine = engineFor(target)
      await metadata.dropAll(engine)
      await metadata.createAll(engine)
    })
    afterAll(async () => {
      await metadata.dropAll(engine)
      await engine.dispose()
    })

    it('round-trips every column type through insert, update and reload', async () => {
      const Session = sessionmaker({ bind: engine })
      const at = new Date('2024-05-06T07:08:09.123Z')
      const id = await Session.begin(async (s) => {
        const o = new Sample({ big: 2 ** 40, price: '12.50', ratio: 0.25, flag: false, doc: ['a', 'b'], at })
        s.add(o)
        await s.flush()
        return o.id
      })
      const s = Session()
      const o = (await s.get(Sample, id))!
      expect(o.big).toBe(2 ** 40)
      expect(o.price).toBe('12.50')
      expect(o.ratio).toBe(0.25)
      expect(o.flag).toBe(false)
      expect(o.doc).toEqual(['a', 'b'])
      expect(o.at.getTime()).toBe(at.getTime())
      expect(o.ref).toMatch(/^[0-9a-f-]{36}$/)
      expect(o.label).toBe('draft')
      expect(o.body).toBeNull()
      o.flag = true
      o.doc = { tags: ['x'] }
      o.at = new Date(at.getTime() + 1000)
      o.price = '13.75'
      await s.commit()
      await s.refresh(o)
      expect(o.flag).toBe(true)
      expect(o.doc).toEqual({ tags: ['x'] })
      expect(o.at.getTime()).toBe(at.getTime() + 1000)
      expect(o.price).toBe('13.75')
      await s.close()
    })
  })
}
