import { CompiledQuery } from 'kysely'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Engine } from '../../src/engine/types.js'
import {
  type DatabaseOf,
  DetachedInstanceError,
  ExpiredAttributeError,
  FlushError,
  ObjectNotFoundError,
  RelationshipNotLoadedError,
  SessionClosedError,
  StaleDataError,
  objectState,
  type Session as SessionType,
  sessionmaker,
} from '../../src/session/index.js'
import { library } from './fixtures.js'
import { StatementLog, TARGETS, engineFor } from './helpers.js'

const lib = library('sess')
const { Author, Book, Note, Tag, metadata } = lib
type DB = DatabaseOf<typeof metadata>

for (const target of TARGETS) {
  describe.skipIf(!target.run)(`session on ${target.name}`, () => {
    const log = new StatementLog()
    let engine: Engine<DB>
    let Session: ReturnType<typeof sessionmaker<DB>>
    const inMemory = target.name === 'pglite' || target.name === 'sqlite'

    beforeAll(async () => {
      engine = engineFor<DB>(target, log)
      await metadata.dropAll(engine)
      await metadata.createAll(engine)
      Session = sessionmaker({ bind: engine })
      Session.on('afterBegin', (s) => void opened.push(s))
    })

    // A failed test must not leave a session holding the (in-memory engines' only) connection.
    const opened: SessionType<DB>[] = []
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close().catch(() => undefined)
    })

    afterAll(async () => {
      await metadata.dropAll(engine)
      await engine.dispose()
    })

    beforeEach(async () => {
      for (const t of [...metadata.sortedTables()].reverse()) {
        await engine.db.executeQuery(CompiledQuery.raw(`DELETE FROM ${target.name === 'mysql' ? `\`${t.name}\`` : `"${t.name}"`}`, []))
      }
      log.take()
    })

    const count = async (tableName: keyof DB) => {
      const r = await engine.db
        .selectFrom(tableName)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
      return Number(r.n)
    }

    it('createAll is idempotent and dropAll/createAll round-trips', async () => {
      await metadata.createAll(engine)
      expect(await count('sess_author')).toBe(0)
    })

    it('inserts parents before children, one INSERT per table, filling foreign keys from generated keys', async () => {
      const session = Session()
      const authors = Array.from({ length: 3 }, (_, i) => new Author({ name: `a${i}` }))
      const books = authors.flatMap((a) =>
        Array.from({ length: 4 }, (_, j) => {
          const b = new Book({ title: `t${j}` })
          b.author = a // back-populates a.books
          return b
        }),
      )
      expect(authors[0].books.length).toBe(4)
      // Only children added: the authors come by cascade, and are still inserted first.
      session.addAll(books)
      expect(session.new.length).toBe(15)
      log.take()
      await session.flush()
      const stmts = log.take()
      const inserts = stmts.filter((s) => /^insert/i.test(s))
      expect(inserts.length).toBe(2)
      expect(inserts[0]).toContain('sess_author')
      expect(inserts[1]).toContain('sess_book')
      for (const a of authors) {
        expect(a.id).toBeTypeOf('number')
        for (const b of a.books) {
          expect(b.authorId).toBe(a.id)
          expect(b.author).toBe(a)
        }
      }
      await session.commit()
      expect(engine.pool.checkedOut()).toBe(0)
      const rows = await engine.db.selectFrom('sess_book').selectAll().orderBy('id').execute()
      expect(rows.length).toBe(12)
      const ids = new Set(authors.map((a) => a.id))
      expect(rows.every((r) => ids.has(r.authorId) && r.version === 1)).toBe(true)
      await session.close()
    })

    it('book.author = author is enough; client defaults (uuid) and server defaults are filled', async () => {
      const session = Session()
      const a = new Author({ name: 'Ada' })
      const b = new Book({ title: 'Analytical', meta: { pages: 12 } })
      b.author = a
      const n = new Note({ body: 'first' })
      n.book = b
      session.add(n)
      await session.flush()
      expect(b.authorId).toBe(a.id)
      expect(n.bookId).toBe(b.id)
      expect(n.id).toMatch(/^[0-9a-f-]{36}$/)
      expect(a.active).toBe(true)
      await session.commit()
      await session.refresh(a)
      expect(a.createdAt).toBeInstanceOf(Date)
      const b2 = await session.get(Book, b.id)
      expect(b2).toBe(b)
      expect(b2!.meta).toEqual({ pages: 12 })
      await session.close()
    })

    it('updates only changed columns, grouped, and bumps the version', async () => {
      await Session.begin(async (s) => {
        const a = new Author({ name: 'U' })
        for (let i = 0; i < 5; i++) a.books.push(new Book({ title: `old${i}` }))
        s.add(a)
      })
      const session = Session()
      const books = await session.query(Book, (q) => q.orderBy('id'))
      for (const b of books) b.title = b.title.replace('old', 'new')
      books[0].title = books[0].title // no-op on an already-changed one
      expect(session.dirty.length).toBe(5)
      log.take()
      await session.flush()
      const updates = log.take().filter((s) => /^update/i.test(s))
      if (engine.dialect === 'postgresql' || engine.dialect === 'pglite') expect(updates.length).toBe(1)
      else expect(updates.length).toBe(5)
      expect(updates.every((u) => !u.includes('"authorId"') && !u.includes('`authorId`'))).toBe(true)
      expect(books.every((b) => b.version === 2)).toBe(true)
      // Unchanged assignment: no UPDATE at all.
      books[1].title = books[1].title
      await session.flush()
      expect(log.count('UPDATE', log.take())).toBe(0)
      await session.commit()
      const rows = await engine.db.selectFrom('sess_book').select(['title', 'version']).orderBy('id').execute()
      expect(rows.map((r) => r.title)).toEqual(['new0', 'new1', 'new2', 'new3', 'new4'])
      expect(rows.every((r) => r.version === 2)).toBe(true)
      await session.close()
    })

    it('deletes children before parents, batched', async () => {
      await Session.begin(async (s) => {
        for (let i = 0; i < 3; i++) {
          const a = new Author({ name: `d${i}` })
          a.books.push(new Book({ title: 'x' }), new Book({ title: 'y' }))
          s.add(a)
        }
      })
      const session = Session()
      const authors = await session.query(Author, undefined, { load: ['books'] })
      for (const a of authors) {
        session.delete(a)
        for (const b of a.books) session.delete(b)
      }
      expect(session.deleted.length).toBe(9)
      log.take()
      await session.commit()
      const deletes = log.take().filter((s) => /^delete/i.test(s))
      expect(deletes.length).toBe(2)
      expect(deletes[0]).toContain('sess_book')
      expect(deletes[1]).toContain('sess_author')
      expect(await count('sess_author')).toBe(0)
      expect(objectState(authors[0])).toBe('detached')
      await session.close()
    })

    it('cascadeDelete removes loaded children; composite keys work', async () => {
      const id = await Session.begin(async (s) => {
        const b = new Book({ title: 'c' })
        b.author = new Author({ name: 'c' })
        b.notes.push(new Note({ body: 'n1' }), new Note({ body: 'n2' }))
        s.add(b)
        await s.flush()
        s.add(new Tag({ bookId: b.id, label: 'x' }))
        s.add(new Tag({ bookId: b.id, label: 'y' }))
        return b.id
      })
      const session = Session()
      const tag = await session.get(Tag, { bookId: id, label: 'y' })
      expect(tag?.label).toBe('y')
      expect(await session.get(Tag, { bookId: id, label: 'y' })).toBe(tag)
      session.delete(tag!)
      const b = (await session.get(Book, id, { load: ['notes'] }))!
      expect(b.notes.length).toBe(2)
      session.delete(await session.getOrThrow(Tag, { bookId: id, label: 'x' }))
      session.delete(b)
      await session.commit()
      expect(await count('sess_note')).toBe(0)
      expect(await count('sess_tag')).toBe(0)
      expect(await count('sess_book')).toBe(0)
      await session.close()
    })

    it('optimistic concurrency: a stale version is a StaleDataError and writes nothing', async () => {
      const id = await Session.begin(async (s) => {
        const b = new Book({ title: 'v' })
        b.author = new Author({ name: 'v' })
        s.add(b)
        await s.flush()
        return b.id
      })
      // s1 loads, then lets its connection go (in-memory engines have only one).
      const s1 = Session({ expireOnCommit: false })
      const b1 = (await s1.get(Book, id))!
      await s1.commit()
      await Session.begin(async (s2) => {
        const b2 = (await s2.get(Book, id))!
        b2.title = 'second'
      })
      b1.title = 'first'
      const err = await s1.flush().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(StaleDataError)
      expect((err as StaleDataError).code).toBe('SESSION_STALE_DATA')
      expect(s1.dirty).toContain(b1) // still pending: can be refreshed and retried
      await s1.rollback()
      const row = await engine.db.selectFrom('sess_book').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
      expect(row.title).toBe('second')
      expect(row.version).toBe(2)
      await s1.close()
      expect(engine.pool.checkedOut()).toBe(0)
    })

    it('a failed flush is atomic: nothing written, objects stay pending, fix and flush again', async () => {
      const session = Session()
      const first = new Author({ name: 'ok', email: 'dup@x' })
      session.add(first)
      await session.flush() // earlier work in the same transaction must survive
      const a = new Author({ name: 'a' })
      const bad = new Author({ name: 'b', email: 'dup@x' })
      a.books.push(new Book({ title: 't' }))
      session.addAll([a, bad])
      const err = await session.flush().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(FlushError)
      expect(objectState(a)).toBe('pending')
      expect(objectState(a.books[0])).toBe('pending')
      expect(a.id).toBeUndefined()
      expect(session.new.length).toBe(3)
      bad.email = 'other@x'
      await session.flush()
      expect(a.books[0].authorId).toBe(a.id)
      await session.commit()
      expect(await count('sess_author')).toBe(3)
      expect(await count('sess_book')).toBe(1)
      await session.close()
    })

    it('rollback: added objects become transient, deleted ones come back, the rest expire', async () => {
      const id = await Session.begin(async (s) => {
        const a = new Author({ name: 'keep' })
        s.add(a)
        await s.flush()
        return a.id
      })
      const session = Session()
      const kept = (await session.get(Author, id))!
      kept.name = 'changed'
      const fresh = new Author({ name: 'new' })
      session.add(fresh)
      await session.flush()
      expect(objectState(fresh)).toBe('persistent')
      session.delete(kept)
      await session.flush()
      expect(objectState(kept)).toBe('deleted')
      await session.rollback()
      expect(engine.pool.checkedOut()).toBe(0)
      expect(objectState(fresh)).toBe('transient')
      expect(fresh.id).toBeUndefined()
      expect(objectState(kept)).toBe('persistent')
      expect(() => kept.name).toThrow(ExpiredAttributeError)
      expect(kept.id).toBe(id)
      const again = await session.get(Author, id)
      expect(again).toBe(kept)
      expect(kept.name).toBe('keep')
      // The transient one can be added again.
      session.add(fresh)
      await session.commit()
      expect(await count('sess_author')).toBe(2)
      await session.close()
    })

    it('identity map: one object per key; get answers from it without a query', async () => {
      const id = await Session.begin(async (s) => {
        const a = new Author({ name: 'id' })
        s.add(a)
        await s.flush()
        return a.id
      })
      const session = Session({ expireOnCommit: false })
      const a = await session.get(Author, id)
      log.take()
      expect(await session.get(Author, id)).toBe(a)
      expect(log.count('SELECT', log.take())).toBe(0)
      const [b] = await session.query(Author, (q) => q.where('id', '=', id))
      expect(b).toBe(a)
      expect(await session.get(Author, -1)).toBeNull()
      await expect(session.getOrThrow(Author, -1)).rejects.toBeInstanceOf(ObjectNotFoundError)
      await session.close()
    })

    it('refresh, expire, expunge and merge', async () => {
      const id = await Session.begin(async (s) => {
        const a = new Author({ name: 'r' })
        s.add(a)
        await s.flush()
        return a.id
      })
      const session = Session()
      const a = (await session.get(Author, id))!
      a.name = 'local'
      await session.refresh(a)
      expect(a.name).toBe('r')
      expect(session.dirty.length).toBe(0)
      session.expire(a, ['name'])
      expect(() => a.name).toThrow(ExpiredAttributeError)
      expect(a.active).toBe(true)
      await session.commit() // let the connection go: in-memory engines have one
      await engine.db.updateTable('sess_author').set({ name: 'outside' }).where('id', '=', id).execute()
      await session.query(Author, (q) => q.where('id', '=', id))
      expect(a.name).toBe('outside')
      session.expunge(a)
      expect(objectState(a)).toBe('detached')
      await expect(session.refresh(a)).rejects.toBeInstanceOf(DetachedInstanceError)
      a.name = 'merged'
      const m = await session.merge(a)
      expect(m).not.toBe(a)
      expect(m.name).toBe('merged')
      expect(session.dirty).toContain(m)
      const copy = await session.merge(new Author({ name: 'brand new' }))
      expect(objectState(copy)).toBe('pending')
      await session.commit()
      const names = (await engine.db.selectFrom('sess_author').select('name').orderBy('id').execute()).map((r) => r.name)
      expect(names).toEqual(['merged', 'brand new'])
      await session.close()
    })

    it('expireOnCommit: attributes throw until refreshed or re-queried; false keeps them', async () => {
      const session = Session()
      const a = new Author({ name: 'e' })
      session.add(a)
      await session.commit()
      expect(a.id).toBeTypeOf('number')
      expect(() => a.name).toThrow(ExpiredAttributeError)
      await session.refresh(a)
      expect(a.name).toBe('e')
      await session.close()
      const keep = Session({ expireOnCommit: false })
      const b = new Author({ name: 'k' })
      keep.add(b)
      await keep.commit()
      expect(b.name).toBe('k')
      await keep.close()
    })

    it('relationships load explicitly or eagerly, one query per relationship; never on property access', async () => {
      await Session.begin(async (s) => {
        for (let i = 0; i < 4; i++) {
          const a = new Author({ name: `l${i}` })
          for (let j = 0; j < 3; j++) a.books.push(new Book({ title: `b${j}` }))
          s.add(a)
        }
      })
      const session = Session()
      const authors = await session.query(Author, (q) => q.orderBy('id'))
      expect(() => authors[0].books).toThrow(RelationshipNotLoadedError)
      log.take()
      await session.load(authors, 'books')
      expect(log.count('SELECT', log.take())).toBe(1)
      expect(authors.map((a) => a.books.length)).toEqual([3, 3, 3, 3])
      expect(authors[0].books[0].author).toBe(authors[0])
      await session.close()

      const s2 = Session()
      log.take()
      const books = await s2.query(Book, undefined, { load: ['author', 'author.books'] })
      const selects = log.count('SELECT', log.take())
      expect(selects).toBe(3)
      expect(books.length).toBe(12)
      expect(new Set(books.map((b) => b.author)).size).toBe(4)
      expect(books[0].author!.books).toContain(books[0])
      await s2.close()
    })

    it('appending to a loaded collection and removing from it are flushed', async () => {
      const id = await Session.begin(async (s) => {
        const a = new Author({ name: 'c' })
        a.books.push(new Book({ title: 'one' }))
        s.add(a)
        await s.flush()
        return a.id
      })
      const session = Session()
      const other = new Author({ name: 'other' })
      session.add(other)
      const a = (await session.get(Author, id, { load: ['books'] }))!
      const moved = a.books[0]
      a.books.splice(0, 1)
      other.books.push(moved)
      a.books.push(new Book({ title: 'two' }))
      await session.commit()
      const rows = await engine.db.selectFrom('sess_book').select(['title', 'authorId']).orderBy('title').execute()
      expect(rows).toEqual([
        { title: 'one', authorId: other.id },
        { title: 'two', authorId: id },
      ])
      await session.close()
    })

    it('beginNested is a SAVEPOINT: rollback undoes its work only', async () => {
      const session = Session()
      const outer = new Author({ name: 'outer' })
      session.add(outer)
      const sp = await session.beginNested()
      const inner = new Author({ name: 'inner' })
      session.add(inner)
      await session.flush()
      await sp.rollback()
      expect(objectState(inner)).toBe('transient')
      expect(objectState(outer)).toBe('persistent')
      await session.beginNested(async () => {
        session.add(new Author({ name: 'nested ok' }))
      })
      await expect(
        session.beginNested(async () => {
          session.add(new Author({ name: 'nested fail' }))
          await session.flush()
          throw new Error('boom')
        }),
      ).rejects.toThrow('boom')
      await session.commit()
      const names = (await engine.db.selectFrom('sess_author').select('name').orderBy('id').execute()).map((r) => r.name)
      expect(names).toEqual(['outer', 'nested ok'])
      await session.close()
    })

    it('holds no connection until first use, and gives it back on commit, rollback and close', async () => {
      const session = Session()
      expect(engine.pool.checkedOut()).toBe(0)
      expect(session.inTransaction()).toBe(false)
      await session.query(Author)
      expect(session.inTransaction()).toBe(true)
      expect(engine.pool.checkedOut()).toBe(1)
      await session.commit()
      expect(engine.pool.checkedOut()).toBe(0)
      await session.get(Author, 1)
      await session.rollback()
      expect(engine.pool.checkedOut()).toBe(0)
      await session.query(Author)
      await session.close()
      expect(engine.pool.checkedOut()).toBe(0)
      expect(() => session.db).toThrow(SessionClosedError)
      expect(() => session.add(new Author({ name: 'x' }))).toThrow(SessionClosedError)
    })

    it('autoflush flushes before session.db queries; session.db runs in the transaction', async () => {
      const session = Session()
      session.add(new Author({ name: 'auto' }))
      const rows = await session.db.selectFrom('sess_author').selectAll().execute()
      expect(rows.map((r) => r.name)).toEqual(['auto'])
      if (!inMemory) expect(await count('sess_author')).toBe(0) // not visible outside before commit
      await session.commit()
      expect(await count('sess_author')).toBe(1)
      const manual = Session({ autoflush: false })
      manual.add(new Author({ name: 'manual' }))
      expect((await manual.db.selectFrom('sess_author').selectAll().execute()).length).toBe(1)
      await manual.close()
    }, 15_000)

    it('autocommit: no standing transaction; each flush commits; begin() opens one', async () => {
      const session = Session({ autocommit: true })
      await session.query(Author)
      expect(engine.pool.checkedOut()).toBe(0)
      expect(session.inTransaction()).toBe(false)
      session.add(new Author({ name: 'ac' }))
      await session.flush()
      expect(engine.pool.checkedOut()).toBe(0)
      expect(await count('sess_author')).toBe(1)
      await session.begin()
      expect(session.inTransaction()).toBe(true)
      session.add(new Author({ name: 'tx' }))
      await session.flush()
      await session.rollback()
      expect(await count('sess_author')).toBe(1)
      expect(engine.pool.checkedOut()).toBe(0)
      await session.close()
    })

    it('events fire in order', async () => {
      const seen: string[] = []
      const Tracked = sessionmaker({ bind: engine })
      Tracked.on('afterBegin', () => void seen.push('afterBegin'))
      const session = Tracked()
      session.on('beforeFlush', (s) => {
        seen.push('beforeFlush')
        if (s.new.length === 1) s.add(new Author({ name: 'added by listener' }))
      })
      session.on('afterFlush', () => void seen.push('afterFlush'))
      session.on('afterCommit', () => void seen.push('afterCommit'))
      session.on('afterRollback', () => void seen.push('afterRollback'))
      session.add(new Author({ name: 'ev' }))
      await session.commit()
      await session.query(Author)
      await session.rollback()
      expect(seen).toEqual(['beforeFlush', 'afterBegin', 'afterFlush', 'afterCommit', 'afterBegin', 'afterRollback'])
      expect(await count('sess_author')).toBe(2)
      await session.close()
    })

    it('factory.begin commits on return and rolls back on throw, always checking in', async () => {
      await Session.begin(async (s) => s.add(new Author({ name: 'yes' })))
      await expect(
        Session.begin(async (s) => {
          s.add(new Author({ name: 'no' }))
          await s.flush()
          throw new Error('handler failed')
        }),
      ).rejects.toThrow('handler failed')
      expect(engine.pool.checkedOut()).toBe(0)
      const names = (await engine.db.selectFrom('sess_author').select('name').execute()).map((r) => r.name)
      expect(names).toEqual(['yes'])
    })

    it('joins an external transaction: commit releases a savepoint, the outer rollback undoes everything', async () => {
      const conn = await engine.connect()
      await conn.begin()
      const Bound = sessionmaker({ bind: conn })
      const session = Bound()
      session.add(new Author({ name: 'in test' }))
      await session.commit()
      const s2 = Bound()
      expect((await s2.query(Author)).map((a) => a.name)).toEqual(['in test'])
      await expect(
        Bound.begin(async (s) => {
          s.add(new Author({ name: 'rolled back' }))
          await s.flush()
          throw new Error('x')
        }),
      ).rejects.toThrow('x')
      await s2.close()
      await session.close()
      expect(conn.closed).toBe(false)
      expect(conn.inTransaction()).toBe(true)
      await conn.rollback()
      await conn.close()
      expect(await count('sess_author')).toBe(0)
      expect(engine.pool.checkedOut()).toBe(0)
    })
  })
}
