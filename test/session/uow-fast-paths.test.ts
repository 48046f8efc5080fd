/**
 * The unit of work's fast paths (issue 4's benchmark work) keep their behaviour:
 * relationship changes after a load are still found, unchanged collections
 * stay cheap without losing a later change, inserts with mixed given columns
 * still group correctly, and a failed flush still forgets generated keys.
 */
import { CompiledQuery } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { KnownColumnsInsertOptions } from '../../src/engine/insert-many.js'
import type { Engine } from '../../src/engine/types.js'
import { type DatabaseOf, FlushError, objectState, sessionmaker } from '../../src/session/index.js'
import { library } from './fixtures.js'
import { TARGETS, engineFor } from './helpers.js'

const lib = library('uow_fast_paths')
const { Author, Book, Note, metadata } = lib
type DB = DatabaseOf<typeof metadata>

for (const target of TARGETS) {
  describe.skipIf(!target.run)(`unit-of-work fast paths on ${target.name}`, () => {
    let engine: Engine<DB>
    let Session: ReturnType<typeof sessionmaker<DB>>

    beforeAll(async () => {
      engine = engineFor<DB>(target)
      await metadata.dropAll(engine)
      await metadata.createAll(engine)
      Session = sessionmaker({ bind: engine })
    })

    afterAll(async () => {
      await metadata.dropAll(engine)
      await engine.dispose()
    })

    beforeEach(async () => {
      const q = (n: string) => (target.name === 'mysql' ? `\`${n}\`` : `"${n}"`)
      for (const t of [...metadata.sortedTables()].reverse()) await engine.db.executeQuery(CompiledQuery.raw(`DELETE FROM ${q(t.name)}`, []))
    })

    /** Two authors with two books each; returns their ids. */
    async function seed(): Promise<{ a: number; b: number }> {
      await using s = Session()
      const a = new Author({ name: 'a' })
      const b = new Author({ name: 'b' })
      for (const author of [a, b]) for (const title of ['1', '2']) new Book({ title: `${author.name}${title}` }).author = author
      s.add(a)
      s.add(b)
      await s.commit()
      return { a: a.id, b: b.id }
    }

    const owners = async () =>
      Object.fromEntries(
        (await engine.db.selectFrom('uow_fast_paths_book').select(['title', 'authorId']).execute()).map((r) => [r.title, r.authorId]),
      )

    it('finds book.author = other on a book loaded through its author', async () => {
      const ids = await seed()
      await using s = Session()
      const [a, b] = await s.query(Author, (q) => q.orderBy('name'), { load: ['books'] })
      const moved = a.books.find((x) => x.title === 'a1')!
      const stays = a.books.find((x) => x.title === 'a2')!
      moved.author = b
      // The books of one author share their loaded back-reference until one of them is changed.
      expect(stays.author).toBe(a)
      expect(moved.author).toBe(b)
      expect(b.books).toContain(moved)
      await s.commit()
      expect(await owners()).toEqual({ a1: ids.b, a2: ids.a, b1: ids.b, b2: ids.b })
    })

    it('loading a deeper level onto loaded children keeps each child its own parent', async () => {
      await seed()
      await using s = Session()
      const authors = await s.query(Author, (q) => q.orderBy('name'), { load: ['books', 'books.notes'] })
      for (const author of authors) {
        for (const book of author.books) {
          expect(book.author).toBe(author)
          expect(book.notes).toEqual([])
        }
      }
      const [a, b] = authors
      a.books[0].notes.push(new Note({ body: 'n' }))
      b.books[1].author = a
      expect(a.books[1].author).toBe(a)
      expect(b.books[0].author).toBe(b)
      await s.commit()
      const notes = await engine.db.selectFrom('uow_fast_paths_note').select(['body']).execute()
      expect(notes).toEqual([{ body: 'n' }])
    })

    it('finds author.books.push(book) after a load, also in a second flush of the same session', async () => {
      const ids = await seed()
      await using s = Session()
      const [a, b] = await s.query(Author, (q) => q.orderBy('name'), { load: ['books'] })
      await s.flush() // nothing changed: the collections' snapshots stay as loaded
      b.books.push(new Book({ title: 'b3' }))
      await s.flush()
      const moved = a.books.find((x) => x.title === 'a2')!
      a.books.splice(a.books.indexOf(moved), 1)
      b.books.push(moved)
      await s.commit()
      expect(await owners()).toEqual({ a1: ids.a, a2: ids.b, b1: ids.b, b2: ids.b, b3: ids.b })
    })

    it('an unchanged loaded graph flushes nothing and a retitle updates only titles', async () => {
      await seed()
      await using s = Session()
      const authors = await s.query(Author, undefined, { load: ['books'] })
      for (const author of authors) for (const book of author.books) book.title += '!'
      await s.commit()
      const rows = await engine.db.selectFrom('uow_fast_paths_book').select(['title', 'version']).orderBy('title').execute()
      expect(rows.map((r) => r.title)).toEqual(['a1!', 'a2!', 'b1!', 'b2!'])
      expect(rows.every((r) => Number(r.version) === 2)).toBe(true)
    })

    it('inserts rows that give different columns (NULL, default, value) in one flush', async () => {
      await using s = Session()
      const given = new Author({ name: 'given', email: 'g@x', active: false })
      const nulls = new Author({ name: 'nulls', email: null })
      const defaults = new Author({ name: 'defaults' })
      s.addAll([given, nulls, defaults])
      await s.commit()
      const rows = await engine.db.selectFrom('uow_fast_paths_author').select(['name', 'email', 'active']).orderBy('name').execute()
      expect(rows.map((r) => [r.name, r.email, Boolean(r.active)])).toEqual([
        ['defaults', null, true],
        ['given', 'g@x', false],
        ['nulls', null, true],
      ])
      expect(new Set([given.id, nulls.id, defaults.id]).size).toBe(3)
    })

    it('insertMany with known columns reads only those, sends undefined as NULL, and returns rows in input order', async () => {
      const ids = ['00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002']
      const options: KnownColumnsInsertOptions = { columns: ['id', 'body', 'bookId'], returning: ['id', 'body'], pageSize: 2 }
      const rows = [
        { id: ids[0], body: 'n1', bookId: null, ignored: 'not a column' },
        { id: ids[1], body: 'n2', bookId: undefined },
        { id: ids[2], body: 'n3' },
      ]
      await using conn = await engine.connect()
      const out = await conn.insertMany<{ id: string; body: string }>('uow_fast_paths_note', rows, options)
      expect(out).toEqual([
        { id: ids[0], body: 'n1' },
        { id: ids[1], body: 'n2' },
        { id: ids[2], body: 'n3' },
      ])
      const stored = await conn.db.selectFrom('uow_fast_paths_note').select(['body', 'bookId']).orderBy('body').execute()
      expect(stored).toEqual([
        { body: 'n1', bookId: null },
        { body: 'n2', bookId: null },
        { body: 'n3', bookId: null },
      ])
      await expect(conn.insertMany('uow_fast_paths_note', rows, { columns: [''] } as KnownColumnsInsertOptions)).rejects.toThrow(/columns must be/)
    })

    it('a failed flush forgets the keys the database generated before the failure', async () => {
      await Session.begin(async (s) => s.add(new Author({ name: 'first', email: 'same@x' })))
      await using s = Session()
      const a = new Author({ name: 'a' }) // its own INSERT, which succeeds and gets a key
      const book = new Book({ title: 't' })
      book.author = a
      const dup = new Author({ name: 'dup', email: 'same@x', active: true }) // a second INSERT (other columns), which fails
      s.add(a)
      s.add(dup)
      await expect(s.flush()).rejects.toBeInstanceOf(FlushError)
      expect(objectState(a)).toBe('pending')
      expect(a.id).toBeUndefined()
      expect(book.authorId ?? undefined).toBeUndefined()
      await s.rollback()
    })
  })
}
