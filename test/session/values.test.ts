/**
 * Issue 8, "values are checked against their column types": a value the
 * database would store as something else (MySQL: an invalid Date as NULL, an
 * object as "[object Object]") or that one database refuses and another keeps
 * is an InvalidValueError naming table, column, row and the value's kind,
 * before anything of the batch is sent, on every dialect.
 */
import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { InvalidValueError } from '../../src/engine/errors.js'
import type { Engine } from '../../src/engine/types.js'
import {
  type DatabaseOf,
  MetaData,
  Model,
  bigint,
  boolean,
  integer,
  json,
  numeric,
  objectState,
  real,
  serial,
  sessionmaker,
  table,
  text,
  timestamp,
  uuid,
  varchar,
} from '../../src/session/index.js'
import { SLOW_HOOK, SLOW_START, StatementLog, TARGETS, countRows, engineFor } from './helpers.js'

const vals = table('values_checked', {
  id: serial().primaryKey(),
  n: integer().nullable(),
  big: bigint().nullable(),
  ratio: real().nullable(),
  price: numeric(6, 2).nullable(),
  code: varchar(5).nullable(),
  body: text().nullable(),
  flag: boolean().nullable(),
  at: timestamp().nullable(),
  doc: json().nullable(),
  ref: uuid().nullable(),
})
class Val extends Model(vals) {}
const metadata = new MetaData(vals)
type DB = DatabaseOf<typeof metadata>
type Row = Partial<Omit<InstanceType<typeof Val>, 'id'>>

/** A bad value for a column, and the kind the error must name. */
const BAD: readonly [keyof Row & string, unknown, RegExp][] = [
  ['at', new Date('not a date'), /an Invalid Date/],
  ['code', { a: 1 }, /an object/],
  ['body', ['a', 'b'], /an array/],
  ['body', 'ab\ud800cd', /lone UTF-16 surrogate/],
  ['code', 'abcdef', /longer than 5 characters/],
  ['n', Number.NaN, /NaN/],
  ['n', Number.POSITIVE_INFINITY, /Infinity/],
  ['n', 1.5, /a number with a fraction/],
  ['n', 2 ** 31, /out of range for integer/],
  ['n', true, /a boolean/],
  ['n', '12abc', /not an integer/],
  ['big', 2 ** 53 + 2, /beyond 2\^53/],
  ['price', '1.234', /more than 2 digits after the point/],
  ['price', '12345.6', /more than 4 digits before the point/],
  ['price', Number.NaN, /NaN/],
  ['price', 'cheap', /not a decimal number/],
  ['ratio', '0.5', /a string/],
  ['flag', 1, /a number/],
  ['ref', 'not-a-uuid', /not a UUID/],
  ['doc', () => 1, /a function/],
]

for (const target of TARGETS) {
  describe.skipIf(!target.run)(`values checked against column types on ${target.name}`, () => {
    const log = new StatementLog()
    let engine: Engine<DB>
    let Session: ReturnType<typeof sessionmaker<DB>>

    beforeAll(async () => {
      engine = engineFor<DB>(target, log, SLOW_START)
      await metadata.dropAll(engine)
      await metadata.createAll(engine)
      Session = sessionmaker({ bind: engine })
    }, SLOW_HOOK)
    afterAll(async () => {
      await metadata.dropAll(engine)
      await engine.dispose()
    })
    beforeEach(async () => {
      await engine.db.deleteFrom('values_checked').execute()
      log.take()
    })

    const count = () => countRows(engine as Engine<unknown>, 'values_checked')

    it.each(BAD)('a flush refuses %s = %o before sending anything', async (column, value, kind) => {
      const session = Session()
      try {
        const objects = [new Val({ n: 1 }), new Val({ n: 2 }), new Val({ [column]: value } as Row), new Val({ n: 4 })]
        session.addAll(objects)
        const error = await session.flush().catch((e: unknown) => e)
        expect(error).toBeInstanceOf(InvalidValueError)
        const e = error as InvalidValueError
        expect(e.code).toBe('INVALID_VALUE')
        expect(e.table).toBe('values_checked')
        expect(e.column).toBe(column)
        expect(e.row).toBe(2)
        expect(e.valueKind).toMatch(kind)
        expect(e.message).toMatch(/"values_checked": row 2, column/)
        expect(log.count('INSERT')).toBe(0)
        // The objects stay pending: fix the value and flush again.
        expect(objectState(objects[2])).toBe('pending')
        ;(objects[2] as unknown as Record<string, unknown>)[column] = null
        await session.commit()
        expect(await count()).toBe(4)
      } finally {
        await session.close()
      }
    })

    it('an update to a bad value is refused and the row keeps its value', async () => {
      const session = Session()
      try {
        const v = new Val({ n: 1, code: 'ok' })
        session.add(v)
        await session.commit()
        v.n = 2.5
        const error = await session.commit().catch((e: unknown) => e)
        expect(error).toBeInstanceOf(InvalidValueError)
        expect((error as InvalidValueError).column).toBe('n')
        expect(log.count('UPDATE')).toBe(0)
      } finally {
        await session.close()
      }
      const row = await engine.db.selectFrom('values_checked').select(['n', 'code']).executeTakeFirstOrThrow()
      expect(row).toEqual({ n: 1, code: 'ok' })
    })

    it('good values of every type still go through', async () => {
      const session = Session()
      const at = new Date('2024-02-03T04:05:06.789Z')
      try {
        session.add(
          new Val({ n: -7, big: 2 ** 40, ratio: 0.5, price: '1234.5', code: 'héllo', body: 'emoji 😀', flag: true, at, doc: { a: [1] }, ref: '123e4567-e89b-12d3-a456-426614174000' }),
        )
        await session.commit()
      } finally {
        await session.close()
      }
      const row = await engine.db.selectFrom('values_checked').select(['n', 'code', 'body']).executeTakeFirstOrThrow()
      expect(row).toEqual({ n: -7, code: 'héllo', body: 'emoji 😀' })
    })

    describe('insertMany on a bare table name (no column types)', () => {
      const UNTYPED: readonly [string, unknown, RegExp][] = [
        ['at', new Date('x'), /an Invalid Date/],
        ['body', 'x\udc00', /lone UTF-16 surrogate/],
        ['n', Number.NaN, /NaN/],
        ['ratio', Number.NEGATIVE_INFINITY, /-Infinity/],
        ['doc', Symbol('s'), /a symbol/],
      ]
      it.each(UNTYPED)('refuses %s = %o and inserts nothing', async (column, value, kind) => {
        const rows = [{ n: 1 }, { n: 2 }, { n: 3, [column]: value }]
        const error = await engine.insertMany('values_checked', rows).catch((e: unknown) => e)
        expect(error).toBeInstanceOf(InvalidValueError)
        expect((error as InvalidValueError).row).toBe(2)
        expect((error as InvalidValueError).column).toBe(column)
        expect((error as InvalidValueError).valueKind).toMatch(kind)
        expect(log.count('INSERT')).toBe(0)
        expect(await count()).toBe(0)
      })

      const mangles = target.name === 'mysql' || target.name === 'sqlite'
      it(`${mangles ? 'refuses' : 'sends'} a plain object (${mangles ? 'the driver would mangle it' : 'the driver writes JSON'})`, async () => {
        const attempt = engine.insertMany('values_checked', [{ code: 'a', doc: { tags: ['x'] } }])
        if (mangles) {
          const error = await attempt.catch((e: unknown) => e)
          expect(error).toBeInstanceOf(InvalidValueError)
          expect((error as InvalidValueError).valueKind).toMatch(/an object \(JSON.stringify it/)
          expect(await count()).toBe(0)
        } else {
          await attempt
          const { rows } = await sql<{ doc: unknown }>`SELECT doc FROM values_checked`.execute(engine.db)
          expect(rows[0].doc).toEqual({ tags: ['x'] })
        }
      })

      it('a value that does not fit is named by its kind, never shown, when parameters are hidden or not', async () => {
        const secret = `s3cr3t-${'\ud800'}`
        const error = await engine.insertMany('values_checked', [{ body: secret }]).catch((e: unknown) => e)
        expect(error).toBeInstanceOf(InvalidValueError)
        expect((error as Error).message).not.toContain('s3cr3t')
      })
    })
  })
}
