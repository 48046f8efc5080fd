/**
 * MikroORM 6 doing the unit-of-work workload through its own ORM API, as its
 * documentation shows: EntitySchema definitions (no decorators), `em.persist`
 * + `flush`, `em.find` with `populate` + modify + `flush`, `em.find` +
 * `em.remove` + `flush`, each step in a fresh `em.fork()`. Its defaults
 * (batch size, implicit transactions) are kept.
 *
 * ```ts
 * const c = await mikroOrmContender()
 * await c.reset(); await c.insert(authorsToCreate())
 * ```
 */
import { Collection, EntitySchema } from '@mikro-orm/core'
import { MikroORM } from '@mikro-orm/postgresql'
import pg from 'pg'
import { pgConfig } from './config.js'
import { TITLE_SUFFIX, uowDdl, uowDropDdl, type AuthorInput, type UowContender } from './uow-workload.js'

const PREFIX = 'bench_uow_mikroorm'

class MikroAuthor {
  id!: number
  name!: string
  email!: string
  books = new Collection<MikroBook>(this)
}

class MikroBook {
  id!: number
  title!: string
  year!: number
  author!: MikroAuthor
}

const AuthorSchema = new EntitySchema<MikroAuthor>({
  class: MikroAuthor,
  tableName: `${PREFIX}_author`,
  properties: {
    id: { type: 'number', primary: true },
    name: { type: 'string', columnType: 'text' },
    email: { type: 'string', columnType: 'text' },
    books: { kind: '1:m', entity: () => MikroBook, mappedBy: 'author' },
  },
})

const BookSchema = new EntitySchema<MikroBook>({
  class: MikroBook,
  tableName: `${PREFIX}_book`,
  properties: {
    id: { type: 'number', primary: true },
    title: { type: 'string', columnType: 'text' },
    year: { type: 'number' },
    author: { kind: 'm:1', entity: () => MikroAuthor },
  },
})

/** MikroORM's version of the unit-of-work workload. */
export async function mikroOrmContender(): Promise<UowContender> {
  const orm = await MikroORM.init({
    entities: [AuthorSchema, BookSchema],
    host: pgConfig.host,
    port: pgConfig.port,
    user: pgConfig.user,
    dbName: pgConfig.database,
    debug: false,
    pool: { min: 0, max: 2 },
  })
  const admin = new pg.Client(pgConfig)
  await admin.connect()

  const loadAll = (em: typeof orm.em) => em.find(MikroAuthor, {}, { populate: ['books'] })

  return {
    name: 'MikroORM 6.6',
    prefix: PREFIX,
    async reset() {
      for (const statement of uowDdl(PREFIX)) await admin.query(statement)
    },
    async insert(input: readonly AuthorInput[]) {
      const em = orm.em.fork()
      for (const a of input) {
        const author = new MikroAuthor()
        author.name = a.name
        author.email = a.email
        for (const b of a.books) {
          const book = new MikroBook()
          book.title = b.title
          book.year = b.year
          book.author = author
          author.books.add(book)
        }
        em.persist(author)
      }
      await em.flush()
    },
    async update() {
      const em = orm.em.fork()
      for (const author of await loadAll(em)) for (const book of author.books) book.title += TITLE_SUFFIX
      await em.flush()
    },
    async remove() {
      const em = orm.em.fork()
      for (const author of await loadAll(em)) {
        em.remove(author.books.getItems())
        em.remove(author)
      }
      await em.flush()
    },
    async load() {
      const em = orm.em.fork()
      const authors = await loadAll(em)
      const objects = authors.reduce((n, a) => n + 1 + a.books.length, 0)
      return { objects, held: { em, authors }, release: async () => em.clear() }
    },
    async close() {
      for (const statement of uowDropDdl(PREFIX)) await admin.query(statement)
      await admin.end()
      await orm.close(true)
    },
  }
}
