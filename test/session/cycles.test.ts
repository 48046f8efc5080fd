import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Engine } from '../../src/engine/types.js'
import {
  DependencyCycleError,
  MappingError,
  MetaData,
  Model,
  compileAddForeignKey,
  integer,
  manyToOne,
  oneToMany,
  relate,
  serial,
  sessionmaker,
  table,
  varchar,
} from '../../src/session/index.js'
import { SLOW_HOOK, StatementLog, TARGETS, countRows, engineFor } from './helpers.js'

// A user belongs to a team; a team has an owner who is a user: a foreign-key cycle.
const team = table('cyc_team', {
  id: serial().primaryKey(),
  name: varchar(50),
  ownerId: integer().nullable().references('cyc_user.id'),
})
const user = table('cyc_user', {
  id: serial().primaryKey(),
  name: varchar(50),
  teamId: integer().references(() => team.c.id),
})
// Rows of one table pointing at each other: a node and its parent, and a node's "favourite" (postUpdate).
const node = table('cyc_node', {
  id: serial().primaryKey(),
  name: varchar(50),
  parentId: integer().nullable().references('cyc_node.id'),
  favouriteId: integer().nullable().references('cyc_node.id'),
})
const metadata = new MetaData(user, team, node)

class Team extends Model(team) {
  declare owner: User | null
  declare members: User[]
}
class User extends Model(user) {
  declare team: Team | null
}
class Node extends Model(node) {
  declare parent: Node | null
  declare children: Node[]
  declare favourite: Node | null
}
relate(Team, {
  owner: manyToOne(() => User, { foreignKey: 'ownerId', postUpdate: true }),
  members: oneToMany(() => User, { backPopulates: 'team' }),
})
relate(User, { team: manyToOne(() => Team, { backPopulates: 'members' }) })
relate(Node, {
  parent: manyToOne(() => Node, { foreignKey: 'parentId', backPopulates: 'children' }),
  children: oneToMany(() => Node, { foreignKey: 'parentId', backPopulates: 'parent' }),
  favourite: manyToOne(() => Node, { foreignKey: 'favouriteId', postUpdate: true }),
})

describe('foreign-key cycles in DDL', () => {
  it('createAll adds one key of the cycle (the nullable one) with ALTER TABLE after both tables', () => {
    const plan = metadata.creationPlan()
    expect(plan.tables.map((t) => t.name).slice(0, 2)).toEqual(['cyc_team', 'cyc_user'])
    expect(plan.deferred.map((x) => `${x.table.name}.${x.column}`)).toEqual(['cyc_team.ownerId'])
    expect(compileAddForeignKey(team, 'ownerId', 'postgresql')).toBe(
      'ALTER TABLE "cyc_team" ADD CONSTRAINT "cyc_team_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "cyc_user" ("id")',
    )
    expect(() => metadata.sortedTables()).toThrow(DependencyCycleError)
  })

  it('postUpdate needs a nullable key: a MappingError when the relationship is first used', () => {
    const a = table('cyc_bad_a', { id: serial().primaryKey() })
    const b = table('cyc_bad_b', { id: serial().primaryKey(), aId: integer().references(() => a.c.id) })
    class A extends Model(a) {}
    class B extends Model(b) {
      declare a: A | null
    }
    relate(B, { a: manyToOne(() => A, { postUpdate: true }) })
    const x = new B()
    expect(() => (x.a = new A())).toThrow(MappingError)
    expect(() => (x.a = new A())).toThrow(/postUpdate needs a nullable foreign key, and "aId" is NOT NULL/)
  })
})

for (const target of TARGETS) {
  describe.skipIf(!target.run)(`foreign-key cycles on ${target.name}`, () => {
    const log = new StatementLog()
    let engine: Engine<unknown>
    beforeAll(async () => {
      engine = engineFor(target, log)
      await metadata.dropAll(engine)
      log.take()
      await metadata.createAll(engine)
    }, SLOW_HOOK)
    afterAll(async () => {
      await metadata.dropAll(engine)
      await engine.dispose()
    })
    beforeEach(async () => {
      await engine.db.updateTable('cyc_team' as never).set({ ownerId: null } as never).execute()
      await engine.db.updateTable('cyc_node' as never).set({ parentId: null, favouriteId: null } as never).execute()
      for (const t of ['cyc_user', 'cyc_team', 'cyc_node']) await engine.db.deleteFrom(t as never).execute()
    })

    it('the cyclic key is enforced by the database (the constraint exists)', async () => {
      await expect(engine.db.insertInto('cyc_team' as never).values({ name: 'x', ownerId: 999_999 } as never).execute()).rejects.toThrow()
    })

    it('rows that need each other are inserted with the late key NULL, then one UPDATE sets it, in one flush', async () => {
      const Session = sessionmaker({ bind: engine })
      const t = new Team({ name: 'core' })
      const ada = new User({ name: 'ada' })
      const alan = new User({ name: 'alan' })
      t.members.push(ada, alan)
      t.owner = ada
      await Session.begin(async (s) => {
        s.add(t)
        log.take()
        await s.flush()
        const sent = log.take()
        expect(log.count('INSERT', sent)).toBe(2)
        expect(log.count('UPDATE', sent)).toBe(1)
        expect(t.ownerId).toBe(ada.id)
        expect(ada.teamId).toBe(t.id)
      })
      const row = (await engine.db.selectFrom('cyc_team' as never).selectAll().executeTakeFirstOrThrow()) as { ownerId: number }
      expect(row.ownerId).toBe(ada.id)
    })

    it('deleting both sides of a cycle sets the late key NULL first, then deletes', async () => {
      const Session = sessionmaker({ bind: engine })
      await Session.begin(async (s) => {
        const t = new Team({ name: 'core' })
        const ada = new User({ name: 'ada' })
        t.members.push(ada)
        t.owner = ada
        s.add(t)
      })
      await Session.begin(async (s) => {
        const [t] = await s.query(Team)
        const users = await s.query(User)
        s.delete(t)
        for (const u of users) s.delete(u)
        log.take()
        await s.flush()
        const sent = log.take()
        expect(log.count('UPDATE', sent)).toBe(1)
        expect(log.count('DELETE', sent)).toBe(2)
      })
      expect(await countRows(engine, 'cyc_team')).toBe(0)
      expect(await countRows(engine, 'cyc_user')).toBe(0)
    })

    it('rows of one table that point at each other (postUpdate) flush in one go', async () => {
      const Session = sessionmaker({ bind: engine })
      await Session.begin(async (s) => {
        const a = new Node({ name: 'a' })
        const b = new Node({ name: 'b' })
        a.favourite = b
        b.favourite = a
        s.add(a)
        s.add(b)
        await s.flush()
        expect(a.favouriteId).toBe(b.id)
        expect(b.favouriteId).toBe(a.id)
      })
      await Session.begin(async (s) => {
        for (const n of await s.query(Node)) s.delete(n)
      })
      expect(await countRows(engine, 'cyc_node')).toBe(0)
    })

    it('a tree deleted in one flush goes children first, in batches whatever the order given', async () => {
      const Session = sessionmaker({ bind: engine })
      await Session.begin(async (s) => {
        const root = new Node({ name: 'root' })
        for (let i = 0; i < 3; i++) {
          const mid = new Node({ name: `mid${i}` })
          for (let j = 0; j < 3; j++) mid.children.push(new Node({ name: `leaf${i}${j}` }))
          root.children.push(mid)
        }
        s.add(root)
      })
      await Session.begin(async (s) => {
        // Parents first in the session's list: the flush must reorder them.
        const all = await s.query(Node, (q) => q.orderBy('id'))
        for (const n of all) s.delete(n)
        log.take()
        await s.flush()
        expect(log.count('DELETE', log.take())).toBe(3) // leaves, mids, root
      })
      expect(await countRows(engine, 'cyc_node')).toBe(0)
    })
  })
}
