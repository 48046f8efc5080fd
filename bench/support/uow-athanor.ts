/**
 * athanor's session doing the unit-of-work workload, as its README shows:
 * tables declared in TypeScript, mapped classes with a bidirectional
 * relationship, one Session per step (a web request's worth of work).
 *
 * ```ts
 * const c = athanorContender()
 * await c.reset(); await c.insert(authorsToCreate())
 * ```
 */
import { sql } from 'kysely'
import { Model, createEngine, integer, manyToOne, oneToMany, relate, serial, sessionmaker, table, text } from '../../src/index.js'
import { PG_URL } from './config.js'
import { TITLE_SUFFIX, uowDdl, uowDropDdl, type AuthorInput, type UowContender } from './uow-workload.js'

const PREFIX = 'bench_uow_athanor'

const authorTable = table(`${PREFIX}_author`, { id: serial().primaryKey(), name: text(), email: text() })
const bookTable = table(`${PREFIX}_book`, {
  id: serial().primaryKey(),
  title: text(),
  year: integer(),
  author_id: integer().references(() => authorTable.c.id),
})

class Author extends Model(authorTable) {
  declare books: Book[]
}

class Book extends Model(bookTable) {
  declare author: Author | null
}

relate(Author, { books: oneToMany(() => Book, { backPopulates: 'author' }) })
relate(Book, { author: manyToOne(() => Author, { backPopulates: 'books' }) })

/** athanor's version of the unit-of-work workload. */
export function athanorContender(): UowContender {
  // The same DDL as every other library (uowDdl), not metadata.createAll, so no one gets a different schema.
  const engine = createEngine(PG_URL, { poolSize: 2 })
  const Session = sessionmaker({ bind: engine })

  return {
    name: 'athanor session',
    prefix: PREFIX,
    async reset() {
      await engine.begin(async (conn) => {
        for (const statement of uowDdl(PREFIX)) await sql.raw(statement).execute(conn.db)
      })
    },
    async insert(input: readonly AuthorInput[]) {
      await using session = Session()
      for (const a of input) {
        const author = new Author({ name: a.name, email: a.email })
        for (const b of a.books) new Book({ title: b.title, year: b.year }).author = author
        session.add(author)
      }
      await session.commit()
    },
    async update() {
      await using session = Session()
      for (const author of await session.query(Author, undefined, { load: ['books'] })) {
        for (const book of author.books) book.title += TITLE_SUFFIX
      }
      await session.commit()
    },
    async remove() {
      await using session = Session()
      for (const author of await session.query(Author, undefined, { load: ['books'] })) {
        for (const book of author.books) session.delete(book)
        session.delete(author)
      }
      await session.commit()
    },
    async load() {
      const session = Session()
      const authors = await session.query(Author, undefined, { load: ['books'] })
      const objects = authors.reduce((n, a) => n + 1 + a.books.length, 0)
      return { objects, held: { session, authors }, release: () => session.close() }
    },
    async close() {
      await engine.begin(async (conn) => {
        for (const statement of uowDropDdl(PREFIX)) await sql.raw(statement).execute(conn.db)
      })
      await engine.dispose()
    },
  }
}
