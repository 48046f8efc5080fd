import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Engine } from '../../src/engine/types.js'
import {
  FlushError,
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
import { SLOW_HOOK, StatementLog, TARGETS, countRows, engineFor } from './helpers.js'

const parent = table('pd_parent', { id: serial().primaryKey(), name: varchar(50) })
const child = table('pd_child', {
  id: serial().primaryKey(),
  parentId: integer().references(() => parent.c.id, { onDelete: 'cascade' }),
  name: varchar(50),
})
const grandchild = table('pd_grandchild', {
  id: serial().primaryKey(),
  childId: integer().references(() => child.c.id, { onDelete: 'cascade' }),
})
const pet = table('pd_pet', {
  id: serial().primaryKey(),
  parentId: integer().nullable().references(() => parent.c.id, { onDelete: 'set null' }),
})
// The same NOT NULL cascade key, mapped without passiveDeletes: today's behaviour, for contrast.
const plain = table('pd_plain', { id: serial().primaryKey() })
const plainChild = table('pd_plain_child', {
  id: serial().primaryKey(),
  plainId: integer().references(() => plain.c.id, { onDelete: 'cascade' }),
})
const metadata = new MetaData(parent, child, grandchild, pet, plain, plainChild)

class Parent extends Model(parent) {
  declare children: Child[]
  declare pets: Pet[]
}
class Child extends Model(child) {
  declare parent: Parent | null
  declare grandchildren: Grandchild[]
}
class Grandchild extends Model(grandchild) {}
class Pet extends Model(pet) {
  declare owner: Parent | null
}
class Plain extends Model(plain) {
  declare children: PlainChild[]
}
class PlainChild extends Model(plainChild) {}
relate(Parent, {
  children: oneToMany(() => Child, { backPopulates: 'parent', passiveDeletes: true }),
  pets: oneToMany(() => Pet, { backPopulates: 'owner', passiveDeletes: true }),
})
relate(Child, {
  parent: manyToOne(() => Parent, { backPopulates: 'children' }),
  grandchildren: oneToMany(() => Grandchild, { passiveDeletes: true }),
})
relate(Pet, { owner: manyToOne(() => Parent, { backPopulates: 'pets' }) })
relate(Plain, { children: oneToMany(() => PlainChild) })

for (const target of TARGETS) {
  describe.skipIf(!target.run)(`passive deletes on ${target.name}`, () => {
    const log = new StatementLog()
    let engine: Engine<unknown>
    beforeAll(async () => {
      engine = engineFor(target, log)
      await metadata.dropAll(engine)
      await metadata.createAll(engine)
    }, SLOW_HOOK)
    afterAll(async () => {
      await metadata.dropAll(engine)
      await engine.dispose()
    })
    beforeEach(async () => {
      for (const t of [...metadata.sortedTables()].reverse()) await engine.db.deleteFrom(t.name as never).execute()
    })

    async function seed(): Promise<void> {
      const Session = sessionmaker({ bind: engine })
      await Session.begin(async (s) => {
        const p = new Parent({ name: 'p' })
        for (const n of ['a', 'b']) {
          const c = new Child({ name: n })
          c.grandchildren.push(new Grandchild(), new Grandchild())
          p.children.push(c)
        }
        p.pets.push(new Pet())
        s.add(p)
      })
    }

    it('deleting a parent sends one DELETE: the database deletes its children, which leave the session', async () => {
      await seed()
      const Session = sessionmaker({ bind: engine })
      const s = Session()
      const [p] = await s.query(Parent, undefined, { load: ['children.grandchildren', 'pets'] })
      const kids = [...p.children]
      const grandkids = kids.flatMap((c) => c.grandchildren)
      const [pet] = p.pets
      s.delete(p)
      log.take()
      await s.flush()
      const sent = log.take().filter((x) => !/^(BEGIN|SAVEPOINT|RELEASE|START)/i.test(x))
      expect(sent.length).toBe(1)
      expect(sent[0]).toMatch(/^DELETE FROM .pd_parent./i)
      for (const o of [...kids, ...grandkids]) expect(objectState(o)).toBe('deleted')
      expect(pet.parentId).toBeNull() // ON DELETE SET NULL, followed in memory
      expect(objectState(pet)).toBe('persistent')
      await s.commit()
      for (const o of kids) expect(objectState(o)).toBe('detached')
      await s.close()
      expect(await countRows(engine, 'pd_child')).toBe(0)
      expect(await countRows(engine, 'pd_grandchild')).toBe(0)
      expect(await countRows(engine, 'pd_pet')).toBe(1)
    })

    it('children loaded another way (not through the collection) follow too; a rollback restores them', async () => {
      await seed()
      const Session = sessionmaker({ bind: engine })
      const s = Session()
      const kids = await s.query(Child)
      const [p] = await s.query(Parent)
      s.delete(p)
      await s.flush()
      for (const c of kids) expect(objectState(c)).toBe('deleted')
      await s.rollback()
      for (const c of kids) expect(objectState(c)).toBe('persistent')
      await s.close()
      expect(await countRows(engine, 'pd_child')).toBe(2)
    })

    it('without passiveDeletes the loaded NOT NULL children make the flush fail (their key would be set to NULL)', async () => {
      const Session = sessionmaker({ bind: engine })
      await Session.begin(async (s) => {
        const p = new Plain()
        p.children.push(new PlainChild())
        s.add(p)
      })
      const s = Session()
      const [p] = await s.query(Plain, undefined, { load: ['children'] })
      s.delete(p)
      await expect(s.flush()).rejects.toBeInstanceOf(FlushError)
      await s.close()
      expect(await countRows(engine, 'pd_plain_child')).toBe(1)
    })
  })
}
