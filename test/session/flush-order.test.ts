import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Engine } from '../../src/engine/types.js'
import {
  DependencyCycleError,
  MetaData,
  Model,
  integer,
  manyToOne,
  objectState,
  oneToMany,
  relate,
  serial,
  sessionmaker,
  table,
  varchar,
} from '../../src/session/index.js'
import { StatementLog, TARGETS, engineFor } from './helpers.js'
import { SLOW_SETUP_MS } from '../support/slow-setup.js'

const employee = table('forder_employee', {
  id: serial().primaryKey(),
  name: varchar(50),
  managerId: integer().nullable().references('forder_employee.id'),
})
const item = table('forder_item', { id: serial().primaryKey(), n: integer() })
class Employee extends Model(employee) {
  declare manager: Employee | null
  declare reports: Employee[]
}
class Item extends Model(item) {}
relate(Employee, {
  manager: manyToOne(() => Employee, { backPopulates: 'reports' }),
  reports: oneToMany(() => Employee, { backPopulates: 'manager' }),
})
const metadata = new MetaData(employee, item)

// Two tables whose rows need each other's generated keys.
const ca = table('forder_ca', { id: serial().primaryKey(), bId: integer().nullable().references('forder_cb.id') })
const cb = table('forder_cb', { id: serial().primaryKey(), aId: integer().nullable().references('forder_ca.id') })
class CA extends Model(ca) {
  declare b: CB | null
}
class CB extends Model(cb) {
  declare a: CA | null
}
relate(CA, { b: manyToOne(() => CB) })
relate(CB, { a: manyToOne(() => CA) })

for (const target of TARGETS) {
  describe.skipIf(!target.run)(`flush order on ${target.name}`, () => {
    const log = new StatementLog()
    let engine: Engine<unknown>
    beforeAll(async () => {
      engine = engineFor(target, log)
      await metadata.dropAll(engine)
      await metadata.createAll(engine)
    })
    afterAll(async () => {
      await metadata.dropAll(engine)
      await engine.dispose()
    })

    it('self-referencing rows are inserted in waves, managers first', async () => {
      const Session = sessionmaker({ bind: engine })
      const boss = new Employee({ name: 'boss' })
      const mid = new Employee({ name: 'mid' })
      const low = new Employee({ name: 'low' })
      low.manager = mid
      mid.manager = boss
      await Session.begin(async (s) => {
        s.add(low) // cascades upwards through manager
        await s.flush()
        expect(mid.managerId).toBe(boss.id)
        expect(low.managerId).toBe(mid.id)
        expect(boss.reports).toEqual([mid])
      })
      const rows = (await engine.db.selectFrom('forder_employee' as never).selectAll().execute()) as { name: string }[]
      expect(rows.length).toBe(3)
    })

    it('a dependency cycle between rows is a DependencyCycleError and nothing is written', async () => {
      const Session = sessionmaker({ bind: engine })
      const s = Session()
      const a = new Employee({ name: 'a' })
      const b = new Employee({ name: 'b' })
      a.manager = b
      b.manager = a
      s.add(a)
      await expect(s.flush()).rejects.toBeInstanceOf(DependencyCycleError)
      expect(objectState(a)).toBe('pending')
      await s.close()
      const x = new CA()
      const y = new CB()
      x.b = y
      y.a = x
      const s2 = Session()
      s2.add(x)
      const err = await s2.flush().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(DependencyCycleError)
      expect((err as DependencyCycleError).cycle).toContain('forder_ca')
      await s2.close()
      expect(engine.pool.checkedOut()).toBe(0)
    })

    it('2 500 new rows go in 3 multi-row INSERTs; 2 500 updates in 3 statements on PostgreSQL, deletes batched', async () => {
      const Session = sessionmaker({ bind: engine })
      const s = Session({ expireOnCommit: false })
      const items = Array.from({ length: 2500 }, (_, n) => new Item({ n }))
      s.addAll(items)
      log.take()
      await s.flush()
      expect(log.count('INSERT', log.take())).toBe(3)
      expect(new Set(items.map((i) => i.id)).size).toBe(2500)
      for (const i of items) i.n += 1
      await s.flush()
      const updates = log.count('UPDATE', log.take())
      expect(updates).toBe(engine.dialect === 'sqlite' || engine.dialect === 'mysql' ? 2500 : 3)
      for (const i of items) s.delete(i)
      await s.commit()
      // PostgreSQL/PGlite: one `DELETE ... WHERE id = ANY($1)`; others: IN lists of 1 000.
      const pgFamily = engine.dialect === 'postgresql' || engine.dialect === 'pglite'
      expect(log.count('DELETE', log.take())).toBe(pgFamily ? 1 : 3)
      await s.close()
    }, SLOW_SETUP_MS)
  })
}
