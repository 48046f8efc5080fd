/**
 * Issue 14: the new column types do not break migrations. A table made by
 * createAll reflects back to the same column types (smallint, date, time,
 * binary), so diff finds nothing to do; what reflection cannot express
 * (PostgreSQL enum types and arrays, MySQL ENUM) is reported, not guessed,
 * and diff leaves those columns alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Engine } from '../../src/engine/types.js'
import { diff, reflect } from '../../src/migrate/index.js'
import { MetaData, bytea, date, enumType, integer, serial, smallint, table, text, time } from '../../src/session/index.js'
import { SLOW_HOOK, SLOW_START, TARGETS, engineFor } from '../session/helpers.js'

const T = 'ctreflect_t'
const plain = table(T, { id: serial().primaryKey(), small: smallint(), day: date().nullable(), clock: time().nullable(), bytes: bytea().nullable() })
const withOdd = table(T, {
  id: serial().primaryKey(),
  small: smallint(),
  day: date().nullable(),
  clock: time().nullable(),
  bytes: bytea().nullable(),
  mood: enumType(['a', 'b']).nullable(),
  ints: integer().array().nullable(),
  note: text().nullable(),
})

for (const target of TARGETS) {
  describe.skipIf(!target.run)(`reflecting the new column types on ${target.name}`, () => {
    let engine: Engine<unknown>
    const metadata = new MetaData(withOdd)
    beforeAll(async () => {
      engine = engineFor(target, undefined, SLOW_START)
      await metadata.dropAll(engine)
      await metadata.createAll(engine)
    }, SLOW_HOOK)
    afterAll(async () => {
      await metadata.dropAll(engine)
      await engine.dispose()
    })

    it('reads smallint, date, time and binary back as themselves: no diff', async () => {
      const r = await reflect(engine, { only: [T] })
      const cols = r.table(T)!.columnList
      const kind = (n: string) => cols.find((c) => c.name === n)?.kind
      // SQLite stores smallint as INTEGER and dates and times as TEXT: they compare equal all the same.
      if (target.name !== 'sqlite') expect([kind('small'), kind('day'), kind('clock')]).toEqual(['smallint', 'date', 'time'])
      expect(kind('bytes')).toBe('bytes')
      const ops = diff(new MetaData(target.name === 'sqlite' ? withOdd : plain), r)
      const touched = ops.filter((op) => !('column' in op) || !['mood', 'ints', 'note'].includes((op as { column: { name: string } }).column.name))
      expect(touched.filter((op) => op.kind !== 'addColumn' && op.kind !== 'dropColumn')).toEqual([])
    })

    it('reports enums and arrays it cannot express, and diff leaves them alone', async () => {
      const r = await reflect(engine, { only: [T] })
      const unsupported = [...(r.unsupportedColumns.get(T) ?? [])].sort()
      // SQLite: an enum is TEXT with a CHECK, an array a JSON TEXT: both reflect as text.
      if (target.name === 'sqlite') expect(unsupported).toEqual([])
      else if (target.name === 'mysql') expect(unsupported).toEqual(['mood'])
      else expect(unsupported).toEqual(['ints', 'mood'])
      const ops = diff(metadata, r)
      expect(ops.filter((op) => op.kind === 'alterColumn' && !['mood', 'ints'].includes(op.to.name))).toEqual([])
      expect(ops.filter((op) => op.kind === 'dropColumn' || op.kind === 'addColumn')).toEqual([])
    })
  })
}
