/**
 * What Kysely users build through `engine.db` every day: inserts (with
 * RETURNING where the dialect has it), selects with where / joins / orderBy /
 * limit, aggregates, updates and deletes with their affected-row counts.
 */
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IntegrityError, type Engine } from '../../src/engine/index.js'
import { SLOW_SETUP_MS } from '../support/slow-setup.js'
import { compatEngine, createTable, TARGETS, type CompatDB } from './targets.js'

for (const target of TARGETS) {
  describe.skipIf(!target.run)(`query building through engine.db (${target.name})`, () => {
    let engine: Engine<CompatDB>
    const person = 'compat_qb_person'
    const pet = 'compat_qb_pet'

    beforeAll(async () => {
      engine = compatEngine(target)
      await createTable(engine.db, target, person)
      await createTable(engine.db, target, pet)
      await sql.raw(`CREATE UNIQUE INDEX ${person}_name ON ${person} (name)`).execute(engine.db)
    }, SLOW_SETUP_MS)

    afterAll(async () => {
      if (engine === undefined) return
      for (const t of [pet, person]) await sql.raw(`DROP TABLE IF EXISTS ${t}`).execute(engine.db)
      await engine.dispose()
    })

    const ids: Record<string, number> = {}

    it('insert: values, multi-row values, insertId or returning', async () => {
      const one = await engine.db.insertInto(person).values({ name: 'jennifer', age: 40, owner_id: null }).executeTakeFirstOrThrow()
      expect(one.numInsertedOrUpdatedRows).toBe(1n)
      if (target.returning) {
        const rows = await engine.db
          .insertInto(person)
          .values([
            { name: 'arnold', age: 70, owner_id: null },
            { name: 'sylvester', age: 75, owner_id: null },
          ])
          .returning(['id', 'name'])
          .execute()
        expect(rows.map((r) => r.name)).toEqual(['arnold', 'sylvester'])
        for (const r of rows) ids[r.name] = Number(r.id)
      } else {
        for (const name of ['arnold', 'sylvester']) {
          const r = await engine.db.insertInto(person).values({ name, age: name === 'arnold' ? 70 : 75, owner_id: null }).executeTakeFirstOrThrow()
          ids[name] = Number(r.insertId)
        }
      }
      const all = await engine.db.selectFrom(person).select(['id', 'name']).execute()
      for (const r of all) ids[r.name] = Number(r.id)
      expect(Object.keys(ids).sort()).toEqual(['arnold', 'jennifer', 'sylvester'])
      await engine.db
        .insertInto(pet)
        .values([
          { name: 'catto', owner_id: ids.jennifer!, age: 3 },
          { name: 'doggo', owner_id: ids.arnold!, age: 5 },
          { name: 'hammo', owner_id: ids.arnold!, age: 1 },
        ])
        .execute()
    })

    it('select: where, and/or, in, like, orderBy, limit/offset', async () => {
      const rows = await engine.db
        .selectFrom(person)
        .select(['name', 'age'])
        .where((eb) => eb.or([eb('age', '>=', 70), eb('name', 'like', 'jen%')]))
        .where('name', 'in', ['jennifer', 'arnold', 'sylvester'])
        .orderBy('age', 'desc')
        .limit(2)
        .offset(1)
        .execute()
      expect(rows).toEqual([
        { name: 'arnold', age: 70 },
        { name: 'jennifer', age: 40 },
      ])
      const first = await engine.db.selectFrom(person).selectAll().where('name', '=', 'sylvester').executeTakeFirst()
      expect(first?.age).toBe(75)
      expect(await engine.db.selectFrom(person).selectAll().where('name', '=', 'nobody').executeTakeFirst()).toBeUndefined()
    })

    it('select: inner and left joins, aggregates with groupBy / having', async () => {
      const joined = await engine.db
        .selectFrom(person)
        .innerJoin(pet, `${pet}.owner_id`, `${person}.id`)
        .select([`${person}.name as owner`, `${pet}.name as pet`])
        .orderBy(`${pet}.name`)
        .execute()
      expect(joined).toEqual([
        { owner: 'jennifer', pet: 'catto' },
        { owner: 'arnold', pet: 'doggo' },
        { owner: 'arnold', pet: 'hammo' },
      ])
      const counts = await engine.db
        .selectFrom(person)
        .leftJoin(pet, `${pet}.owner_id`, `${person}.id`)
        .select((eb) => [`${person}.name`, eb.fn.count<number | string | bigint>(`${pet}.id`).as('pets')])
        .groupBy(`${person}.name`)
        .having((eb) => eb.fn.count(`${pet}.id`), '<', 2)
        .orderBy(`${person}.name`)
        .execute()
      expect(counts.map((r) => [r.name, Number(r.pets)])).toEqual([
        ['jennifer', 1],
        ['sylvester', 0],
      ])
    })

    it('select: subqueries and raw sql fragments', async () => {
      const owners = await engine.db
        .selectFrom(person)
        .select('name')
        .where('id', 'in', (eb) => eb.selectFrom(pet).select('owner_id').where('age', '>', 2).$narrowType<{ owner_id: number }>())
        .orderBy('name')
        .execute()
      expect(owners.map((r) => r.name)).toEqual(['arnold', 'jennifer'])
      const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(person)} where age > ${50}`.execute(engine.db)
      expect(Number(rows[0]!.n)).toBe(2)
    })

    it('update: set, where, affected rows; returning where the dialect has it', async () => {
      const result = await engine.db.updateTable(person).set((eb) => ({ age: eb('age', '+', 1) })).where('age', '>=', 70).executeTakeFirstOrThrow()
      expect(result.numUpdatedRows).toBe(2n)
      if (target.returning) {
        const back = await engine.db.updateTable(person).set({ age: 41 }).where('name', '=', 'jennifer').returning(['name', 'age']).execute()
        expect(back).toEqual([{ name: 'jennifer', age: 41 }])
      }
      const ages = await engine.db.selectFrom(person).select(['name', 'age']).orderBy('name').execute()
      expect(ages.find((r) => r.name === 'arnold')?.age).toBe(71)
    })

    it('delete: where, affected rows', async () => {
      const result = await engine.db.deleteFrom(pet).where('name', '=', 'hammo').executeTakeFirstOrThrow()
      expect(result.numDeletedRows).toBe(1n)
      expect(await engine.db.selectFrom(pet).select('name').orderBy('name').execute()).toEqual([{ name: 'catto' }, { name: 'doggo' }])
    })

    it('a unique violation is an IntegrityError with the driver error as cause', async () => {
      const error = await engine.db
        .insertInto(person)
        .values({ name: 'jennifer', age: 1, owner_id: null })
        .execute()
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(IntegrityError)
      expect((error as IntegrityError).cause).toBeDefined()
      expect(engine.pool.checkedOut()).toBe(0)
    })
  })
}
