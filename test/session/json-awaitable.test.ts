/**
 * Issue 14: "changes that are seen" (json({ mutable: true }) finds in-place
 * changes at flush; plain json() does not, as documented) and "loading
 * without surprises" (plain reads of expired or unloaded attributes still
 * throw; session.awaitable(obj).x loads them when asked), on all four dialects.
 */
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import type { Engine } from '../../src/engine/types.js'
import {
  type DatabaseOf,
  ExpiredAttributeError,
  MetaData,
  Model,
  RelationshipNotLoadedError,
  integer,
  json,
  manyToOne,
  oneToMany,
  relate,
  serial,
  sessionmaker,
  table,
  text,
} from '../../src/session/index.js'
import { SLOW_HOOK, SLOW_START, StatementLog, TARGETS, engineFor } from './helpers.js'

const doc = table('jsaw_doc', {
  id: serial().primaryKey(),
  title: text(),
  live: json<{ tags: string[]; n?: number }>({ mutable: true }).nullable(),
  plain: json<{ tags: string[] }>().nullable(),
})
const page = table('jsaw_page', { id: serial().primaryKey(), docId: integer().references(() => doc.c.id), body: text() })
class Doc extends Model(doc) {
  declare pages: Page[]
}
class Page extends Model(page) {
  declare doc: Doc | null
}
relate(Doc, { pages: oneToMany(() => Page, { backPopulates: 'doc' }) })
relate(Page, { doc: manyToOne(() => Doc, { backPopulates: 'pages' }) })
const metadata = new MetaData(doc, page)
type DB = DatabaseOf<typeof metadata>

for (const target of TARGETS) {
  describe.skipIf(!target.run)(`JSON tracking and awaitable loads on ${target.name}`, () => {
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

    const seed = async () =>
      Session.begin(async (s) => {
        const d = new Doc({ title: 'a', live: { tags: ['x'] }, plain: { tags: ['x'] } })
        d.pages.push(new Page({ body: 'p1' }), new Page({ body: 'p2' }))
        s.add(d)
        await s.flush()
        return d.id
      })

    it('json({ mutable: true }) sees a change made in place; json() does not', async () => {
      const id = await seed()
      const s = Session()
      try {
        const d = (await s.get(Doc, id))!
        d.live!.tags.push('y')
        d.plain!.tags.push('y')
        expect(s.dirty).toEqual([])
        log.take()
        await s.commit()
        const updates = log.take().filter((q) => q.toUpperCase().startsWith('UPDATE'))
        expect(updates).toHaveLength(1)
        expect(updates[0]).toContain('live')
        expect(updates[0]).not.toContain('plain')
        // Flushed: a second commit finds nothing new; a further change is seen again.
        await s.commit()
        expect(log.take().filter((q) => q.toUpperCase().startsWith('UPDATE'))).toHaveLength(0)
        ;(await s.get(Doc, id))!.live!.n = 3
        await s.commit()
      } finally {
        await s.close()
      }
      const row = await engine.db.selectFrom('jsaw_doc').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
      const parse = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v)
      expect(parse(row.live)).toEqual({ tags: ['x', 'y'], n: 3 })
      expect(parse(row.plain)).toEqual({ tags: ['x'] })
    })

    it('an in-place change is rolled back with the flush that failed, and an assignment still counts once', async () => {
      const id = await seed()
      const s = Session()
      try {
        const d = (await s.get(Doc, id))!
        d.live = { tags: ['new'] }
        d.live.tags.push('more')
        log.take()
        await s.commit()
        expect(log.take().filter((q) => q.toUpperCase().startsWith('UPDATE'))).toHaveLength(1)
        await s.refresh(d)
        expect(d.live).toEqual({ tags: ['new', 'more'] })
        // A value reloaded by refresh is a new snapshot, not a change.
        await s.commit()
        expect(log.take().filter((q) => q.toUpperCase().startsWith('UPDATE'))).toHaveLength(0)
      } finally {
        await s.close()
      }
    })

    it('plain reads still throw; awaitable(obj) loads expired columns and unloaded relationships', async () => {
      const id = await seed()
      const s = Session()
      try {
        const d = (await s.get(Doc, id))!
        expect(() => d.pages).toThrow(RelationshipNotLoadedError)
        const view = s.awaitable(d)
        expectTypeOf(view.pages).toEqualTypeOf<Promise<Page[]>>()
        expectTypeOf(view.title).toEqualTypeOf<Promise<string>>()
        log.take()
        const pages = await view.pages
        expect(pages.map((p) => p.body).sort()).toEqual(['p1', 'p2'])
        expect(d.pages).toBe(pages)
        // Loaded now: no further query.
        await s.awaitable(d).pages
        expect(log.count('SELECT')).toBe(1)
        const p = pages[0]
        s.expire(p)
        expect(() => p.docId).toThrow(ExpiredAttributeError)
        expect(await s.awaitable(p).docId).toBe(id)
        // Many-to-one through the identity map: the parent is already here.
        expect(await s.awaitable(p).doc).toBe(d)
        // Unflushed changes survive loading expired columns.
        d.title = 'changed'
        s.expire(d, ['live'])
        expect(await s.awaitable(d).live).toEqual({ tags: ['x'] })
        expect(d.title).toBe('changed')
        expect(s.dirty).toEqual([d])
      } finally {
        await s.close()
      }
    })
  })
}
