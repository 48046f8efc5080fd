/**
 * `engine.kysely({ log, plugins })` and `conn.kysely(...)`: a Kysely on the
 * engine's pool (or one held connection) with Kysely's own options, as Kysely
 * users write `new Kysely({ dialect, log, plugins })`.
 */
import { CamelCasePlugin, Kysely, sql, type Generated, type LogEvent } from 'kysely'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { DatabaseError, EngineOptionError, type Engine } from '../../src/engine/index.js'
import { SLOW_SETUP_MS } from '../support/slow-setup.js'
import { compatEngine, createTable, TARGETS, type CompatDB } from './targets.js'

interface CamelDB {
  compat_opts_person: { id: Generated<number>; name: string; ownerId: number | null; age: number }
}

for (const target of TARGETS) {
  describe.skipIf(!target.run)(`engine.kysely({ log, plugins }) (${target.name})`, () => {
    let engine: Engine<CompatDB>
    const table = 'compat_opts_person'

    beforeAll(async () => {
      engine = compatEngine(target)
      await createTable(engine.db, target, table)
      await engine.db.insertInto(table).values({ name: 'ada', owner_id: 7, age: 36 }).execute()
    }, SLOW_SETUP_MS)

    afterAll(async () => {
      if (engine === undefined) return
      await sql.raw(`DROP TABLE IF EXISTS ${table}`).execute(engine.db)
      await engine.dispose()
    })

    it('is typed by the database interface given', () => {
      const db = engine.kysely<CamelDB>()
      expectTypeOf(db).toEqualTypeOf<Kysely<CamelDB>>()
      expect(db).toBeInstanceOf(Kysely)
    })

    it("Kysely's log sees every query with its duration, and errors", async () => {
      const events: LogEvent[] = []
      const db = engine.kysely<CompatDB>({ log: (event) => void events.push(event) })
      await db.selectFrom(table).select('name').where('age', '>', 1).execute()
      await db.transaction().execute((trx) => trx.updateTable(table).set({ age: 37 }).where('name', '=', 'ada').execute())
      await expect(db.selectFrom('compat_opts_missing').selectAll().execute()).rejects.toBeInstanceOf(DatabaseError)
      const queries = events.filter((e) => e.level === 'query')
      expect(queries.map((e) => e.query.sql.split(' ')[0])).toEqual(['select', 'update'])
      expect(queries[0]!.query.parameters).toEqual([1])
      for (const e of events) expect(e.queryDurationMillis).toBeGreaterThanOrEqual(0)
      const errors = events.filter((e) => e.level === 'error')
      expect(errors).toHaveLength(1)
      expect(errors[0]!.level === 'error' && errors[0]!.error).toBeInstanceOf(DatabaseError)
      expect(engine.pool.checkedOut()).toBe(0)
    })

    it("log: ['query'] with streams too", async () => {
      const events: LogEvent[] = []
      const db = engine.kysely<CompatDB>({ log: (event) => void events.push(event) })
      const names: string[] = []
      for await (const row of db.selectFrom(table).select('name').stream(1)) names.push(row.name)
      expect(names).toEqual(['ada'])
      expect(events.some((e) => e.level === 'query' && e.isStream === true)).toBe(true)
      await expect.poll(() => engine.pool.checkedOut()).toBe(0)
    })

    it('plugins apply (CamelCasePlugin), with and without log', async () => {
      for (const db of [engine.kysely<CamelDB>({ plugins: [new CamelCasePlugin()] }), engine.kysely<CamelDB>({ plugins: [new CamelCasePlugin()], log: ['error'] })]) {
        const row = await db.selectFrom('compat_opts_person').select(['name', 'ownerId']).executeTakeFirstOrThrow()
        expect(row).toEqual({ name: 'ada', ownerId: 7 })
        const streamed: unknown[] = []
        for await (const r of db.selectFrom('compat_opts_person').select('ownerId').stream()) streamed.push(r)
        expect(streamed).toEqual([{ ownerId: 7 }])
      }
      // engine.db itself is untouched.
      expect(await engine.db.selectFrom(table).select('owner_id').execute()).toEqual([{ owner_id: 7 }])
    })

    it('conn.kysely: the same options on one held connection and its transaction', async () => {
      const events: LogEvent[] = []
      await using conn = await engine.connect()
      const db = conn.kysely<CamelDB>({ log: (e) => void events.push(e), plugins: [new CamelCasePlugin()] })
      const tx = await conn.begin()
      await db.insertInto('compat_opts_person').values({ name: 'bob', ownerId: 1, age: 2 }).execute()
      expect((await conn.db.selectFrom(table).select('owner_id').where('name', '=', 'bob').executeTakeFirstOrThrow()).owner_id).toBe(1)
      await tx.rollback()
      expect(await db.selectFrom('compat_opts_person').select('name').where('name', '=', 'bob').execute()).toEqual([])
      expect(events.filter((e) => e.level === 'query').map((e) => e.query.sql.split(' ')[0])).toEqual(['insert', 'select'])
      expect(engine.pool.checkedOut()).toBe(1)
    })

    it("refuses options that are not Kysely's log and plugins", () => {
      expect(() => engine.kysely({ dialect: {} } as never)).toThrow(EngineOptionError)
      expect(() => engine.kysely({ log: 'query' } as never)).toThrow(EngineOptionError)
    })
  })
}
