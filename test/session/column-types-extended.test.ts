/**
 * Issue 14, "column types": every column type round-trips through the unit of
 * work and createAll on all four dialects, with the same value out as in, at
 * the edges (largest and smallest values, NULL, the empty string, dates before
 * 1970, non-ASCII text), and is typed in DatabaseOf and in the mapped class.
 */
import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, expectTypeOf, it } from 'vitest'
import { InvalidValueError } from '../../src/engine/errors.js'
import type { Engine } from '../../src/engine/types.js'
import {
  type DatabaseOf,
  MappingError,
  MetaData,
  Model,
  bigint,
  blob,
  boolean,
  bytea,
  date,
  doublePrecision,
  enumType,
  integer,
  jsonb,
  real,
  serial,
  sessionmaker,
  smallint,
  table,
  text,
  time,
  timestamptz,
  uuid,
  varchar,
} from '../../src/session/index.js'
import { SLOW_HOOK, SLOW_START, TARGETS, engineFor } from './helpers.js'

const typed = table('ctypes_all', {
  id: serial().primaryKey(),
  small: smallint().nullable(),
  exact: bigint({ mode: 'bigint' }).nullable(),
  approx: bigint().nullable(),
  dbl: doublePrecision().nullable(),
  day: date().nullable(),
  clock: time().nullable(),
  at: timestamptz().nullable(),
  bytes: bytea().nullable(),
  blobby: blob().nullable(),
  mood: enumType(['sad', 'ok', "it's fine", 'très bien']).nullable(),
  doc: jsonb<{ a: number[] }>().nullable(),
  ints: integer().array().nullable(),
  words: text().array().nullable(),
  bigs: bigint().array().nullable(),
  flags: boolean().array().nullable(),
  label: varchar(20).nullable(),
  body: text().nullable(),
})
class Typed extends Model(typed) {}
const bigKey = table('ctypes_bigkey', { id: bigint({ mode: 'bigint' }).primaryKey(), label: text() })
class BigKey extends Model(bigKey) {}
const metadata = new MetaData(typed, bigKey)
type DB = DatabaseOf<typeof metadata>
type Row = Partial<Omit<InstanceType<typeof Typed>, 'id'>>

describe('column types are typed', () => {
  it('in DatabaseOf and in the mapped class', () => {
    type T = DB['ctypes_all']
    expectTypeOf<T['small']>().toEqualTypeOf<number | null>()
    expectTypeOf<T['exact']>().toEqualTypeOf<bigint | null>()
    expectTypeOf<T['approx']>().toEqualTypeOf<number | null>()
    expectTypeOf<T['day']>().toEqualTypeOf<string | null>()
    expectTypeOf<T['clock']>().toEqualTypeOf<string | null>()
    expectTypeOf<T['at']>().toEqualTypeOf<Date | null>()
    expectTypeOf<T['bytes']>().toEqualTypeOf<Uint8Array | null>()
    expectTypeOf<T['mood']>().toEqualTypeOf<'sad' | 'ok' | "it's fine" | 'très bien' | null>()
    expectTypeOf<T['ints']>().toEqualTypeOf<(number | null)[] | null>()
    expectTypeOf<T['words']>().toEqualTypeOf<(string | null)[] | null>()
    const o = new Typed()
    expectTypeOf(o.exact).toEqualTypeOf<bigint | null>()
    expectTypeOf(o.mood).toEqualTypeOf<'sad' | 'ok' | "it's fine" | 'très bien' | null>()
    expectTypeOf(o.bytes).toEqualTypeOf<Uint8Array | null>()
    expectTypeOf(o.day).toEqualTypeOf<string | null>()
  })

  it('refuses what no DDL can say', () => {
    expect(() => enumType([] as unknown as ['a'])).toThrow(MappingError)
    expect(() => enumType(['a', 'a'])).toThrow(/listed twice/)
    expect(() => uuid().array().array()).toThrow(MappingError)
    expect(() => bigint({ mode: 'bigint' }).array()).toThrow(MappingError)
    expect(() => bigint({ mode: 'exact' as 'bigint' })).toThrow(/mode must be/)
  })
})

/** The rows each dialect must return exactly as given: the edges of every type. */
const ROWS: Row[] = [
  {
    small: 32767,
    exact: 9_223_372_036_854_775_807n,
    approx: Number.MAX_SAFE_INTEGER,
    dbl: Number.MAX_VALUE,
    day: '9999-12-31',
    clock: '23:59:59.999',
    at: new Date('2999-12-31T23:59:59.999Z'),
    bytes: new Uint8Array([0, 1, 254, 255]),
    blobby: new Uint8Array(0),
    mood: 'très bien',
    doc: { a: [1, 2] },
    ints: [2_147_483_647, -2_147_483_648, null],
    words: ['a,b', '"quoted"', 'ünï 😀', '', 'NULL', null],
    bigs: [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER],
    flags: [true, false, null],
    label: 'ωμέγα',
    body: '',
  },
  {
    small: -32768,
    exact: -9_223_372_036_854_775_808n,
    approx: Number.MIN_SAFE_INTEGER,
    dbl: -Number.MIN_VALUE,
    day: '1000-01-01',
    clock: '00:00:00',
    at: new Date('1901-12-13T20:45:52.001Z'),
    bytes: new Uint8Array(256).map((_, i) => i),
    blobby: new TextEncoder().encode('日本語'),
    mood: "it's fine",
    doc: { a: [] },
    ints: [],
    words: [],
    bigs: [],
    flags: [],
    label: '',
    body: 'line\nbreak \\ back\'slash',
  },
  { day: '1969-12-31', clock: '12:30:00.500', mood: 'sad', at: new Date(-1), exact: 0n, small: 0 },
  { day: '1960-02-29', clock: '06:00:00.001' },
  {},
]

for (const target of TARGETS) {
  describe.skipIf(!target.run)(`column types round-trip on ${target.name}`, () => {
    let engine: Engine<DB>
    let Session: ReturnType<typeof sessionmaker<DB>>

    beforeAll(async () => {
      engine = engineFor<DB>(target, undefined, SLOW_START)
      await metadata.dropAll(engine)
      await metadata.createAll(engine)
      // createAll twice is harmless (the enum type too).
      await metadata.createAll(engine)
      Session = sessionmaker({ bind: engine })
    }, SLOW_HOOK)
    afterAll(async () => {
      await metadata.dropAll(engine)
      await engine.dispose()
    })
    beforeEach(async () => {
      await engine.db.deleteFrom('ctypes_all').execute()
    })

    const keys = Object.keys(typed.columns).filter((k) => k !== 'id') as (keyof Row)[]
    /** Every column of a row as given, unset ones as null. */
    const expected = (r: Row) => Object.fromEntries(keys.map((k) => [k, r[k] ?? null]))
    const actual = (o: InstanceType<typeof Typed>) => Object.fromEntries(keys.map((k) => [k, o[k]]))

    it('inserts and reads back every value unchanged', async () => {
      const ids = await Session.begin(async (s) => {
        const objects = ROWS.map((r) => new Typed(r))
        s.addAll(objects)
        await s.flush()
        return objects.map((o) => o.id)
      })
      const s = Session()
      try {
        const loaded = await s.query(Typed, (q) => q.orderBy('id'))
        expect(loaded.map((o) => o.id)).toEqual(ids)
        for (let i = 0; i < ROWS.length; i++) expect(actual(loaded[i])).toEqual(expected(ROWS[i]))
        for (const o of loaded) {
          if (o.bytes !== null) expect(o.bytes.constructor).toBe(Uint8Array)
          if (o.exact !== null) expect(typeof o.exact).toBe('bigint')
        }
      } finally {
        await s.close()
      }
    })

    it('updates to the other edge and back through batched UPDATEs', async () => {
      const s = Session()
      try {
        const objects = [new Typed(ROWS[0]), new Typed(ROWS[1]), new Typed(ROWS[4])]
        s.addAll(objects)
        await s.commit()
        // Swap the first two rows' values (a batched update of every column), clear the third's.
        for (const k of keys) {
          ;(objects[0] as unknown as Record<string, unknown>)[k] = ROWS[1][k] ?? null
          ;(objects[1] as unknown as Record<string, unknown>)[k] = ROWS[0][k] ?? null
          ;(objects[2] as unknown as Record<string, unknown>)[k] = ROWS[3][k] ?? null
        }
        await s.commit()
        for (const o of objects) await s.refresh(o)
        expect(actual(objects[0])).toEqual(expected(ROWS[1]))
        expect(actual(objects[1])).toEqual(expected(ROWS[0]))
        expect(actual(objects[2])).toEqual(expected(ROWS[3]))
        // A key found by value in a WHERE: dates and enums compare as themselves.
        const found = await s.query(Typed, (q) => q.where('day', '=', '1960-02-29'))
        expect(found).toEqual([objects[2]])
        const sad = await s.db.selectFrom('ctypes_all').select('id').where('mood', '=', "it's fine").execute()
        expect(sad.map((r) => r.id)).toEqual([objects[0].id])
      } finally {
        await s.close()
      }
    })

    it('a bigint({ mode: \'bigint\' }) primary key is an exact identity-map key', async () => {
      const id = 2n ** 62n + 1n
      await Session.begin(async (s) => {
        s.add(new BigKey({ id, label: 'big' }))
      })
      const s = Session()
      try {
        const o = (await s.get(BigKey, id))!
        expect(o.id).toBe(id)
        expect(await s.get(BigKey, id)).toBe(o)
        expect((await s.query(BigKey))[0]).toBe(o)
        await expect(s.get(BigKey, Number(id))).rejects.toThrow(/key column "id" of "ctypes_bigkey" is bigint, got a number/)
        o.label = 'bigger'
        await s.commit()
        await s.refresh(o)
        expect(o.label).toBe('bigger')
      } finally {
        await s.close()
      }
    })

    const BAD: [keyof Row, unknown, RegExp][] = [
      ['small', 32768, /out of range for smallint/],
      ['exact', 2n ** 63n, /out of range for bigint/],
      ['approx', 2 ** 53 + 2, /beyond 2\^53/],
      ['day', '2023-02-29', /not a calendar date/],
      ['day', new Date(), /a Date/],
      ['clock', '24:00:00', /not a time of day/],
      ['bytes', 'abc', /a string/],
      ['mood', 'angry', /not one of the enum values/],
      ['ints', [1, 1.5], /element 1 is a number with a fraction/],
      ['words', 'abc', /a string/],
    ]
    it.each(BAD)('refuses %s = %o at flush', async (column, value, kind) => {
      const s = Session()
      try {
        s.add(new Typed({ [column]: value } as Row))
        const error = await s.flush().catch((e: unknown) => e)
        expect(error).toBeInstanceOf(InvalidValueError)
        expect((error as InvalidValueError).column).toBe(column)
        expect((error as InvalidValueError).valueKind).toMatch(kind)
      } finally {
        await s.close()
      }
    })

    it.runIf(target.name === 'sqlite')('SQLite enforces the enum with a CHECK constraint', async () => {
      const error = await sql`INSERT INTO ctypes_all (mood) VALUES ('angry')`.execute(engine.db).catch((e: unknown) => e)
      expect(String(error)).toMatch(/CHECK constraint/i)
    })

    it.runIf(target.name === 'postgresql' || target.name === 'pglite')('PostgreSQL has a native enum type and a real array', async () => {
      const { rows } = await sql<{ t: string; a: string }>`SELECT pg_typeof(mood)::text AS t, pg_typeof(ints)::text AS a FROM ctypes_all LIMIT 1`.execute(engine.db)
      if (rows.length > 0) expect(rows[0]).toEqual({ t: 'ctypes_all_mood', a: 'integer[]' })
      const { rows: types } = await sql<{ n: string }>`SELECT typname AS n FROM pg_type WHERE typname = 'ctypes_all_mood'`.execute(engine.db)
      expect(types).toHaveLength(1)
    })
  })
}
