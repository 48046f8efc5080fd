/**
 * The hand-written baseline: batched Kysely on pg.Pool, 1 000 rows a
 * statement, what a careful developer writes without an ORM. Inserts are
 * multi-row with RETURNING, updates one `UPDATE ... FROM (VALUES ...)` per
 * batch, deletes IN-lists per batch.
 *
 * ```ts
 * const c = kyselyContender()
 * await c.reset(); await c.insert(authorsToCreate())
 * ```
 */
import { Kysely, PostgresDialect, sql, type Generated, type Transaction } from 'kysely'
import pg from 'pg'
import { pgConfig } from './config.js'
import { TITLE_SUFFIX, uowDdl, uowDropDdl, type AuthorInput, type UowContender } from './uow-workload.js'

const PREFIX = 'bench_uow_kysely'
const BATCH = 1000

interface AuthorTable {
  id: Generated<number>
  name: string
  email: string
}
interface BookTable {
  id: Generated<number>
  title: string
  year: number
  author_id: number
}
interface UowDB {
  bench_uow_kysely_author: AuthorTable
  bench_uow_kysely_book: BookTable
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** The hand-written batched Kysely version of the unit-of-work workload. */
export function kyselyContender(): UowContender {
  const db = new Kysely<UowDB>({ dialect: new PostgresDialect({ pool: new pg.Pool({ ...pgConfig, max: 2 }) }) })

  async function loadAll() {
    const authors = await db.selectFrom('bench_uow_kysely_author').selectAll().execute()
    const books = await db.selectFrom('bench_uow_kysely_book').selectAll().execute()
    return { authors, books }
  }

  async function deleteIn(trx: Transaction<UowDB>, table: 'bench_uow_kysely_author' | 'bench_uow_kysely_book', ids: readonly number[]) {
    for (const batch of chunks(ids, BATCH)) await trx.deleteFrom(table).where('id', 'in', batch).execute()
  }

  return {
    name: 'hand-written Kysely',
    prefix: PREFIX,
    async reset() {
      for (const statement of uowDdl(PREFIX)) await sql.raw(statement).execute(db)
    },
    async insert(input: readonly AuthorInput[]) {
      await db.transaction().execute(async (trx) => {
        const authorIds: number[] = []
        for (const batch of chunks(input, BATCH)) {
          const rows = await trx
            .insertInto('bench_uow_kysely_author')
            .values(batch.map((a) => ({ name: a.name, email: a.email })))
            .returning('id')
            .execute()
          for (const row of rows) authorIds.push(row.id)
        }
        const books = input.flatMap((a, i) => a.books.map((b) => ({ title: b.title, year: b.year, author_id: authorIds[i] })))
        for (const batch of chunks(books, BATCH)) await trx.insertInto('bench_uow_kysely_book').values(batch).execute()
      })
    },
    async update() {
      const { books } = await loadAll()
      for (const book of books) book.title += TITLE_SUFFIX
      await db.transaction().execute(async (trx) => {
        for (const batch of chunks(books, BATCH)) {
          const values = sql.join(batch.map((b) => sql`(${b.id}::integer, ${b.title}::text)`))
          await sql`UPDATE bench_uow_kysely_book AS b SET title = v.title FROM (VALUES ${values}) AS v (id, title) WHERE b.id = v.id`.execute(trx)
        }
      })
    },
    async remove() {
      const { authors, books } = await loadAll()
      await db.transaction().execute(async (trx) => {
        await deleteIn(trx, 'bench_uow_kysely_book', books.map((b) => b.id))
        await deleteIn(trx, 'bench_uow_kysely_author', authors.map((a) => a.id))
      })
    },
    async load() {
      const held = await loadAll()
      return { objects: held.authors.length + held.books.length, held, release: async () => undefined }
    },
    async close() {
      for (const statement of uowDropDdl(PREFIX)) await sql.raw(statement).execute(db)
      await db.destroy()
    },
  }
}
