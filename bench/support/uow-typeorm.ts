/**
 * TypeORM 0.3 doing the unit-of-work workload through its own API:
 * EntitySchema definitions (no decorators), `repository.save` of the authors
 * then of their books in one transaction, `find` with `relations` + modify +
 * `save`, `find` + `remove` in one transaction. Its defaults are kept.
 *
 * ```ts
 * const c = await typeOrmContender()
 * await c.reset(); await c.insert(authorsToCreate())
 * ```
 */
import { DataSource, EntitySchema } from 'typeorm'
import { pgConfig } from './config.js'
import { TITLE_SUFFIX, uowDdl, uowDropDdl, type AuthorInput, type UowContender } from './uow-workload.js'

const PREFIX = 'bench_uow_typeorm'

interface TypeOrmAuthor {
  id?: number
  name: string
  email: string
  books: TypeOrmBook[]
}

interface TypeOrmBook {
  id?: number
  title: string
  year: number
  author?: TypeOrmAuthor
}

const AuthorSchema = new EntitySchema<TypeOrmAuthor>({
  name: 'TypeOrmAuthor',
  tableName: `${PREFIX}_author`,
  columns: {
    id: { type: 'integer', primary: true, generated: 'increment' },
    name: { type: 'text' },
    email: { type: 'text' },
  },
  relations: {
    books: { type: 'one-to-many', target: 'TypeOrmBook', inverseSide: 'author', cascade: true },
  },
})

const BookSchema = new EntitySchema<TypeOrmBook>({
  name: 'TypeOrmBook',
  tableName: `${PREFIX}_book`,
  columns: {
    id: { type: 'integer', primary: true, generated: 'increment' },
    title: { type: 'text' },
    year: { type: 'integer' },
  },
  relations: {
    author: { type: 'many-to-one', target: 'TypeOrmAuthor', inverseSide: 'books', joinColumn: { name: 'author_id' }, nullable: false },
  },
})

/** TypeORM's version of the unit-of-work workload. */
export async function typeOrmContender(): Promise<UowContender> {
  const dataSource = new DataSource({
    type: 'postgres',
    host: pgConfig.host,
    port: pgConfig.port,
    username: pgConfig.user,
    database: pgConfig.database,
    entities: [AuthorSchema, BookSchema],
    synchronize: false,
    logging: false,
    poolSize: 2,
  })
  await dataSource.initialize()
  const authors = dataSource.getRepository(AuthorSchema)
  const loadAll = () => authors.find({ relations: { books: true } })

  return {
    name: 'TypeORM 0.3',
    prefix: PREFIX,
    async reset() {
      for (const statement of uowDdl(PREFIX)) await dataSource.query(statement)
    },
    async insert(input: readonly AuthorInput[]) {
      // Authors first, then the books pointing at them, in one transaction. Saving the
      // authors with `books` cascaded does the same work about 3x slower in TypeORM 0.3,
      // so the benchmark gives TypeORM its faster, equally ordinary form.
      await dataSource.transaction(async (manager) => {
        const saved = await manager.getRepository(AuthorSchema).save(input.map((a) => ({ name: a.name, email: a.email, books: [] })))
        const books: TypeOrmBook[] = input.flatMap((a, i) => a.books.map((b) => ({ title: b.title, year: b.year, author: saved[i] })))
        await manager.getRepository(BookSchema).save(books)
      })
    },
    async update() {
      const books = (await loadAll()).flatMap((a) => a.books)
      for (const book of books) book.title += TITLE_SUFFIX
      await dataSource.getRepository(BookSchema).save(books)
    },
    async remove() {
      const loaded = await loadAll()
      await dataSource.transaction(async (manager) => {
        await manager.getRepository(BookSchema).remove(loaded.flatMap((a) => a.books))
        await manager.getRepository(AuthorSchema).remove(loaded)
      })
    },
    async load() {
      const held = await loadAll()
      const objects = held.reduce((n, a) => n + 1 + a.books.length, 0)
      return { objects, held, release: async () => undefined }
    },
    async close() {
      for (const statement of uowDropDdl(PREFIX)) await dataSource.query(statement)
      await dataSource.destroy()
    },
  }
}
