/**
 * The unit-of-work workload every library runs (issue 4): authors with ten
 * books each, inserted in one flush, loaded and retitled, loaded and deleted.
 * Each library gets tables of its own (`bench_uow_<library>_author` / `_book`)
 * with the same DDL, so runs never collide and no library gets a better schema.
 *
 * ```ts
 * const uow: UowContender = kyselyContender(pool)
 * await uow.reset(); await uow.insert(authorsToCreate())
 * ```
 */
import { QUICK } from './config.js'

/** 1 000 authors x 10 books = 11 000 objects; fewer only when asked (BENCH_UOW_AUTHORS). */
export const AUTHORS = Number(process.env.BENCH_UOW_AUTHORS ?? 1000)
export const BOOKS_PER_AUTHOR = 10
export const OBJECTS = AUTHORS * (1 + BOOKS_PER_AUTHOR)
/** Timed runs per library, median reported (BENCH_RUNS overrides). */
export const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 1 : 5))
/** Untimed runs first, so every library's code is compiled by the optimizing JIT before it is timed. */
export const WARMUP_RUNS = QUICK ? 1 : 2

/** What every title becomes in the update workload; the check counts it. */
export const TITLE_SUFFIX = ' (2nd ed.)'

/** The plain data of one new author and its books, before any library turns it into objects. */
export interface AuthorInput {
  readonly name: string
  readonly email: string
  readonly books: readonly { readonly title: string; readonly year: number }[]
}

/**
 * The input of the insert workload, the same for every library.
 *
 * ```ts
 * authorsToCreate().length // 1000
 * ```
 */
export function authorsToCreate(): readonly AuthorInput[] {
  return Array.from({ length: AUTHORS }, (_, a) => ({
    name: `Author ${a}`,
    email: `author${a}@example.com`,
    books: Array.from({ length: BOOKS_PER_AUTHOR }, (_, b) => ({ title: `Book ${b} of author ${a}`, year: 1950 + ((a + b) % 70) })),
  }))
}

/**
 * The tables of one library: identical DDL, an index on the foreign key
 * (as MikroORM makes, and as any schema with deletes needs).
 *
 * ```ts
 * for (const statement of uowDdl('bench_uow_kysely')) await client.query(statement)
 * ```
 */
export function uowDdl(prefix: string): readonly string[] {
  return [
    `DROP TABLE IF EXISTS ${prefix}_book`,
    `DROP TABLE IF EXISTS ${prefix}_author`,
    `CREATE TABLE ${prefix}_author (id serial PRIMARY KEY, name text NOT NULL, email text NOT NULL)`,
    `CREATE TABLE ${prefix}_book (id serial PRIMARY KEY, title text NOT NULL, year integer NOT NULL, author_id integer NOT NULL REFERENCES ${prefix}_author (id))`,
    `CREATE INDEX ${prefix}_book_author_id_idx ON ${prefix}_book (author_id)`,
  ]
}

/** SQL that drops one library's tables. */
export function uowDropDdl(prefix: string): readonly string[] {
  return [`DROP TABLE IF EXISTS ${prefix}_book`, `DROP TABLE IF EXISTS ${prefix}_author`]
}

/**
 * One library doing the workload through its own API. Each method is one
 * timed step and starts from a fresh context (a new EntityManager fork, a new
 * Session): what one web request does.
 *
 * ```ts
 * await c.reset(); await c.insert(authorsToCreate()); await c.update(); await c.remove()
 * ```
 */
export interface UowContender {
  readonly name: string
  /** The table prefix, so the runner can check the outcome with plain SQL. */
  readonly prefix: string
  /** Fresh, empty tables. Not timed. */
  reset(): Promise<void>
  /** (a) create every author and book as objects, one flush, commit. */
  insert(authors: readonly AuthorInput[]): Promise<void>
  /** (b) load every author with its books, append {@link TITLE_SUFFIX} to every title, flush, commit. */
  update(): Promise<void>
  /** (c) load every author with its books, delete all of them, commit. */
  remove(): Promise<void>
  /**
   * Load every author with its books and keep them (and whatever tracks
   * them: identity map, session) alive in the returned value.
   */
  load(): Promise<{ readonly objects: number; readonly held: unknown; release(): Promise<void> }>
  close(): Promise<void>
}
