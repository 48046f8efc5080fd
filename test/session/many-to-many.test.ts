import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Engine } from '../../src/engine/types.js'
import {
  MetaData,
  Model,
  integer,
  manyToMany,
  manyToOne,
  oneToMany,
  relate,
  serial,
  sessionmaker,
  table,
  varchar,
} from '../../src/session/index.js'
import { SLOW_HOOK, StatementLog, TARGETS, countRows, engineFor } from './helpers.js'

const post = table('m2m_post', { id: serial().primaryKey(), title: varchar(100) })
const label = table('m2m_label', { id: serial().primaryKey(), name: varchar(50).unique() })
const postLabel = table('m2m_post_label', {
  postId: integer().primaryKey().references(() => post.c.id),
  labelId: integer().primaryKey().references(() => label.c.id),
})
// An association object: the link carries data of its own.
const member = table('m2m_member', { id: serial().primaryKey(), name: varchar(50) })
const membership = table('m2m_membership', {
  postId: integer().primaryKey().references(() => post.c.id),
  memberId: integer().primaryKey().references(() => member.c.id),
  role: varchar(20),
})
const metadata = new MetaData(post, label, postLabel, member, membership)

class Post extends Model(post) {
  declare labels: Label[]
  declare memberships: Membership[]
}
class Label extends Model(label) {
  declare posts: Post[]
}
class Member extends Model(member) {
  declare memberships: Membership[]
}
class Membership extends Model(membership) {
  declare post: Post | null
  declare member: Member | null
}
relate(Post, {
  labels: manyToMany(() => Label, { through: postLabel, backPopulates: 'posts' }),
  memberships: oneToMany(() => Membership, { backPopulates: 'post', cascadeDelete: true }),
})
relate(Label, { posts: manyToMany(() => Post, { through: postLabel, backPopulates: 'labels' }) })
relate(Member, { memberships: oneToMany(() => Membership, { backPopulates: 'member', cascadeDelete: true }) })
relate(Membership, {
  post: manyToOne(() => Post, { backPopulates: 'memberships' }),
  member: manyToOne(() => Member, { backPopulates: 'memberships' }),
})

const names = (objs: readonly { name: string }[]) => objs.map((o) => o.name).sort()
const titles = (objs: readonly { title: string }[]) => objs.map((o) => o.title).sort()

for (const target of TARGETS) {
  describe.skipIf(!target.run)(`many-to-many on ${target.name}`, () => {
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
    const linkInserts = (statements: string[]) => statements.filter((s) => /^insert into .m2m_post_label./i.test(s)).length
    const linkDeletes = (statements: string[]) => statements.filter((s) => /^delete from .m2m_post_label./i.test(s)).length

    it('pushing new and loaded objects inserts the links in one multi-row INSERT, after both sides; both sides agree', async () => {
      const Session = sessionmaker({ bind: engine })
      await Session.begin(async (s) => s.add(new Label({ name: 'old' })))
      await Session.begin(async (s) => {
        const [old] = await s.query(Label)
        const p = new Post({ title: 'p1' })
        const fresh = new Label({ name: 'new' })
        p.labels.push(old, fresh)
        s.add(p)
        log.take()
        await s.flush()
        expect(linkInserts(log.take())).toBe(1)
        expect(names(p.labels)).toEqual(['new', 'old'])
        // The new label's side knows its link; a second flush sends nothing more.
        expect(titles(fresh.posts)).toEqual(['p1'])
        await s.flush()
        expect(log.take().length).toBe(0)
      })
      expect(await countRows(engine, 'm2m_post_label')).toBe(2)
    })

    it('loads a level with one query for many owners, and a deeper level with one more', async () => {
      const Session = sessionmaker({ bind: engine })
      await Session.begin(async (s) => {
        const a = new Label({ name: 'a' })
        const b = new Label({ name: 'b' })
        for (let i = 0; i < 5; i++) {
          const p = new Post({ title: `p${i}` })
          p.labels.push(...(i % 2 === 0 ? [a, b] : [a]))
          s.add(p)
        }
      })
      await Session.begin(async (s) => {
        log.take()
        const posts = await s.query(Post, (q) => q.orderBy('id'), { load: ['labels.posts'] })
        expect(log.count('SELECT', log.take())).toBe(3)
        expect(posts.map((p) => names(p.labels))).toEqual([['a', 'b'], ['a'], ['a', 'b'], ['a'], ['a', 'b']])
        const a = posts[0].labels.find((l) => l.name === 'a')!
        expect(a.posts.length).toBe(5)
        expect(posts[1].labels[0]).toBe(a) // one object per row (identity map)
      })
    })

    it('removing from a collection deletes just that link; the mirror collection follows', async () => {
      const Session = sessionmaker({ bind: engine })
      await Session.begin(async (s) => {
        const p = new Post({ title: 'p' })
        p.labels.push(new Label({ name: 'x' }), new Label({ name: 'y' }))
        s.add(p)
      })
      await Session.begin(async (s) => {
        const [p] = await s.query(Post, undefined, { load: ['labels', 'labels.posts'] })
        const x = p.labels.find((l) => l.name === 'x')!
        expect(x.posts).toEqual([p])
        p.labels.splice(p.labels.indexOf(x), 1)
        log.take()
        await s.flush()
        expect(linkDeletes(log.take())).toBe(1)
        expect(x.posts).toEqual([])
        // The other side changed meanwhile: assigning through it works too.
        const y = p.labels[0]
        y.posts = []
        await s.flush()
        expect(p.labels).toEqual([])
      })
      expect(await countRows(engine, 'm2m_post_label')).toBe(0)
      expect(await countRows(engine, 'm2m_label')).toBe(2)
    })

    it('deleting an object deletes its link rows (also on the side that did not load them)', async () => {
      const Session = sessionmaker({ bind: engine })
      await Session.begin(async (s) => {
        const l = new Label({ name: 'shared' })
        for (const t of ['a', 'b']) {
          const p = new Post({ title: t })
          p.labels.push(l)
          s.add(p)
        }
      })
      await Session.begin(async (s) => {
        const [a] = await s.query(Post, (q) => q.where('title', '=', 'a'))
        s.delete(a) // its labels were never loaded
        const [l] = await s.query(Label, undefined, { load: ['posts'] })
        expect(titles(l.posts)).toEqual(['b'])
        s.delete(l)
      })
      expect(await countRows(engine, 'm2m_post_label')).toBe(0)
      expect(await countRows(engine, 'm2m_post')).toBe(1)
    })

    it('1 200 links go in 2 INSERTs and come out in 3 DELETEs', async () => {
      const Session = sessionmaker({ bind: engine })
      const s = Session({ expireOnCommit: false })
      const labels = Array.from({ length: 600 }, (_, i) => new Label({ name: `l${i}` }))
      const posts = [new Post({ title: 'one' }), new Post({ title: 'two' })]
      for (const p of posts) p.labels.push(...labels)
      s.addAll(posts)
      log.take()
      await s.flush()
      expect(linkInserts(log.take())).toBe(2)
      expect(labels[0].posts.length).toBe(2)
      for (const p of posts) p.labels.length = 0
      await s.flush()
      expect(linkDeletes(log.take())).toBe(3)
      expect(labels[599].posts).toEqual([])
      await s.commit()
      await s.close()
      expect(await countRows(engine, 'm2m_post_label')).toBe(0)
    })

    it('a failed flush writes no link and can be retried', async () => {
      const Session = sessionmaker({ bind: engine })
      await Session.begin(async (s) => s.add(new Label({ name: 'taken' })))
      const s = Session()
      const p = new Post({ title: 'p' })
      p.labels.push(new Label({ name: 'taken' })) // unique name: the flush fails
      s.add(p)
      await expect(s.flush()).rejects.toThrow()
      expect(await countRows(engine, 'm2m_post_label')).toBe(0)
      p.labels[0].name = 'free'
      await s.commit()
      await s.close()
      expect(await countRows(engine, 'm2m_post_label')).toBe(1)
    })

    it('an association object carries data on the link: a model for the link table', async () => {
      const Session = sessionmaker({ bind: engine })
      await Session.begin(async (s) => {
        const p = new Post({ title: 'paper' })
        const ada = new Member({ name: 'ada' })
        const alan = new Member({ name: 'alan' })
        const link = (m: Member, role: string) => {
          const x = new Membership({ role })
          x.member = m
          return x
        }
        p.memberships.push(link(ada, 'author'), link(alan, 'reviewer'))
        s.add(p)
      })
      await Session.begin(async (s) => {
        const [p] = await s.query(Post, undefined, { load: ['memberships', 'memberships.member'] })
        const roles = p.memberships.map((m) => `${m.member!.name}:${m.role}`).sort()
        expect(roles).toEqual(['ada:author', 'alan:reviewer'])
        const review = p.memberships.find((m) => m.role === 'reviewer')!
        review.role = 'editor'
        const ada = p.memberships.find((m) => m.role === 'author')!
        p.memberships.splice(p.memberships.indexOf(ada), 1) // cascadeDelete: the link row goes
      })
      const rows = (await engine.db.selectFrom('m2m_membership' as never).select(['role' as never]).execute()) as { role: string }[]
      expect(rows.map((r) => r.role)).toEqual(['editor'])
      expect(await countRows(engine, 'm2m_member')).toBe(2)
    })
  })
}
