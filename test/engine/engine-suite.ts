/**
 * The behaviour every dialect must show through the engine, run by each
 * dialect's test file against its real backend.
 */
import { sql, type Generated, type Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ConnectionClosedError,
  createEngine,
  DatabaseError,
  IntegrityError,
  TransactionError,
  type Connection,
  type Engine,
  type EngineOptions,
  type IsolationLevel,
} from '../../src/engine/index.js'
import { AthanorError } from '../../src/pool/index.js'

export interface SuiteDB {
  [table: string]: { id: Generated<number>; name: string; note: string | null; n: number }
}

export interface SuiteConfig {
  /** Used as the table-name prefix: the test file's name. */
  readonly prefix: string
  readonly url: string
  readonly options?: EngineOptions
  /** DDL for a table with an auto-increment `id`, `name` (unique), `note` (default 'none') and `n`. */
  createTable(table: string): string
  /** The server's isolation level of the next transaction, as upper-case words. */
  readIsolation(db: Kysely<SuiteDB>): Promise<string>
  /** Isolation levels to try (a non-default one first). */
  readonly levels: readonly Exclude<IsolationLevel, 'AUTOCOMMIT'>[]
  /** Whether engines on this URL share one database (false for in-memory ones). */
  readonly multiConnection: boolean
  /** Whether a further engine is cheap to start (false for PGlite: seconds per instance). */
  readonly cheapEngines: boolean
}

/** Registers the shared engine suite. */
export function defineEngineSuite(config: SuiteConfig): void {
  const t = (name: string) => `${config.prefix}_${name}`
  let engine: Engine<SuiteDB>

  describe(`engine conformance (${config.prefix})`, () => {
    beforeAll(async () => {
      engine = createEngine<SuiteDB>(config.url, { poolSize: 3, ...config.options })
      for (const name of ['people', 'tx', 'sp', 'ac', 'im', 'im2', 'big']) {
        await sql.raw(`DROP TABLE IF EXISTS ${t(name)}`).execute(engine.db)
        await sql.raw(config.createTable(t(name))).execute(engine.db)
      }
    })

    afterAll(async () => {
      if (engine === undefined) return
      for (const name of ['people', 'tx', 'sp', 'ac', 'im', 'im2', 'big']) {
        await sql.raw(`DROP TABLE IF EXISTS ${t(name)}`).execute(engine.db)
      }
      await engine.dispose()
    })

    /** Another engine on the same URL; an in-memory one gets its own `people` table with 'ada'. */
    const fresh = async (options: EngineOptions) => {
      const e = createEngine<SuiteDB>(config.url, { ...config.options, ...options })
      if (!config.multiConnection) {
        await sql.raw(config.createTable(t('people'))).execute(e.db)
        await e.db.insertInto(t('people')).values({ name: 'ada', n: 1 }).execute()
      }
      return e
    }

    const count = async (table: string, db: Kysely<SuiteDB> = engine.db) => {
      const row = await db.selectFrom(t(table)).select((eb) => eb.fn.countAll<number | string | bigint>().as('c')).executeTakeFirstOrThrow()
      return Number(row.c)
    }

    it('runs typed queries through engine.db, one checkout per statement', async () => {
      await engine.db.insertInto(t('people')).values({ name: 'ada', n: 1 }).execute()
      const rows = await engine.db.selectFrom(t('people')).select(['name', 'n', 'note']).where('name', '=', 'ada').execute()
      expect(rows).toEqual([{ name: 'ada', n: 1, note: 'none' }])
      expect(engine.pool.checkedOut()).toBe(0)
    })

    it('commits engine.begin on return, rolls back on throw, and always checks in', async () => {
      await engine.begin(async (conn) => {
        await conn.db.insertInto(t('tx')).values({ name: 'kept', n: 1 }).execute()
        expect(conn.inTransaction()).toBe(true)
      })
      await expect(
        engine.begin(async (conn) => {
          await conn.db.insertInto(t('tx')).values({ name: 'dropped', n: 2 }).execute()
          throw new Error('boom')
        }),
      ).rejects.toThrow('boom')
      const names = (await engine.db.selectFrom(t('tx')).select('name').execute()).map((r) => r.name)
      expect(names).toEqual(['kept'])
      expect(engine.pool.checkedOut()).toBe(0)
    })

    it('keeps engine.db.transaction() working: commit and rollback', async () => {
      await engine.db.transaction().execute(async (trx) => {
        await trx.insertInto(t('tx')).values({ name: 'kysely-tx', n: 3 }).execute()
      })
      await expect(
        engine.db.transaction().execute(async (trx) => {
          await trx.insertInto(t('tx')).values({ name: 'kysely-rolled-back', n: 4 }).execute()
          throw new Error('no')
        }),
      ).rejects.toThrow('no')
      const names = (await engine.db.selectFrom(t('tx')).select('name').orderBy('n').execute()).map((r) => r.name)
      expect(names).toEqual(['kept', 'kysely-tx'])
      expect(engine.pool.checkedOut()).toBe(0)
    })

    it('gives Transaction objects from begin(), and refuses to end one twice', async () => {
      await using conn = await engine.connect()
      const tx = await conn.begin()
      expect(tx.isActive).toBe(true)
      await expect(conn.begin()).rejects.toBeInstanceOf(TransactionError)
      await conn.db.insertInto(t('tx')).values({ name: 'tx-object', n: 5 }).execute()
      await tx.rollback()
      expect(tx.isActive).toBe(false)
      expect(conn.inTransaction()).toBe(false)
      await expect(tx.commit()).rejects.toBeInstanceOf(TransactionError)
      expect(await count('tx', conn.db)).toBe(2)
    })

    it('lets only one of two concurrent begin() calls open the transaction', async () => {
      await using conn = await engine.connect()
      const results = await Promise.allSettled([conn.begin(), conn.begin()])
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
      const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
      expect(rejected.reason).toBeInstanceOf(TransactionError)
      await conn.rollback()
      expect(conn.inTransaction()).toBe(false)
    })

    it('stacks savepoints: rolling one back keeps the outer work and ends the inner ones', async () => {
      const conn = await engine.connect()
      try {
        const outer = await conn.begin()
        await conn.db.insertInto(t('sp')).values({ name: 'outer', n: 1 }).execute()
        const sp1 = await conn.beginNested()
        await conn.db.insertInto(t('sp')).values({ name: 'in-sp1', n: 2 }).execute()
        const sp2 = await conn.beginNested()
        await conn.db.insertInto(t('sp')).values({ name: 'in-sp2', n: 3 }).execute()
        await sp1.rollback()
        expect(sp2.isActive).toBe(false)
        const sp3 = await conn.beginNested()
        await conn.db.insertInto(t('sp')).values({ name: 'in-sp3', n: 4 }).execute()
        await sp3.commit()
        await outer.commit()
      } finally {
        await conn.close()
      }
      const names = (await engine.db.selectFrom(t('sp')).select('name').orderBy('n').execute()).map((r) => r.name)
      expect(names).toEqual(['outer', 'in-sp3'])
    })

    it('begins a transaction for beginNested() when none is open', async () => {
      await using conn = await engine.connect()
      const sp = await conn.beginNested()
      expect(conn.inTransaction()).toBe(true)
      await sp.commit()
      await conn.rollback()
      expect(conn.inTransaction()).toBe(false)
    })

    it('rolls back an open transaction on close and returns the connection', async () => {
      const conn = await engine.connect()
      await conn.begin()
      await conn.db.insertInto(t('tx')).values({ name: 'never', n: 9 }).execute()
      await conn.close()
      expect(conn.closed).toBe(true)
      expect(engine.pool.checkedOut()).toBe(0)
      expect(await count('tx')).toBe(2)
    })

    it('throws ConnectionClosedError when a closed Connection is used', async () => {
      const conn = await engine.connect()
      await conn.close()
      await expect(conn.db.selectFrom(t('tx')).selectAll().execute()).rejects.toBeInstanceOf(ConnectionClosedError)
      await expect(conn.begin()).rejects.toBeInstanceOf(ConnectionClosedError)
      await conn.close() // twice is fine
    })

    it('sends no BEGIN in AUTOCOMMIT mode: a "rolled back" insert stays', async () => {
      await using conn = await engine.connect({ isolationLevel: 'AUTOCOMMIT' })
      const tx = await conn.begin()
      await conn.db.insertInto(t('ac')).values({ name: 'autocommitted', n: 1 }).execute()
      await tx.rollback()
      await expect(conn.beginNested()).rejects.toBeInstanceOf(TransactionError)
      expect(await count('ac', conn.db)).toBe(1)
    })

    it.runIf(config.cheapEngines)('runs an AUTOCOMMIT engine without BEGIN, engine.db.transaction() included', async () => {
      const e = await fresh({ isolationLevel: 'AUTOCOMMIT' })
      try {
        await expect(
          e.db.transaction().execute(async (trx) => {
            await trx.insertInto(t('people')).values({ name: 'autocommit-engine', n: 1 }).execute()
            throw new Error('too late')
          }),
        ).rejects.toThrow('too late')
        await e.begin(async (conn) => {
          expect(await conn.db.selectFrom(t('people')).select('name').where('name', '=', 'autocommit-engine').execute()).toHaveLength(1)
          await conn.db.deleteFrom(t('people')).where('name', '=', 'autocommit-engine').execute()
        })
      } finally {
        await e.dispose()
      }
    })

    it('applies a per-connection isolation level at checkout and reverts it at checkin', async () => {
      // One connection, so the next checkout must see the reverted level.
      const own = config.multiConnection
      const solo = own ? createEngine<SuiteDB>(config.url, { ...config.options, poolSize: 1, maxOverflow: 0 }) : engine
      try {
        const before = await solo.begin(async (conn) => config.readIsolation(conn.db))
        for (const level of config.levels) {
          const seen = await solo.begin(async (conn) => config.readIsolation(conn.db), { isolationLevel: level })
          expect(seen).toBe(level)
          expect(await solo.begin(async (conn) => config.readIsolation(conn.db))).toBe(before)
        }
      } finally {
        if (own) await solo.dispose()
      }
    })

    it.runIf(config.multiConnection)('applies the engine-wide isolation level to every connection', async () => {
      const level = config.levels[0]
      const leveled = createEngine<SuiteDB>(config.url, { ...config.options, isolationLevel: level })
      try {
        expect(await leveled.begin(async (conn) => config.readIsolation(conn.db))).toBe(level)
      } finally {
        await leveled.dispose()
      }
    })

    it('raises IntegrityError for a duplicate key, with the driver error as cause', async () => {
      await engine.db.insertInto(t('people')).values({ name: 'dup', n: 1 }).execute()
      const error = await engine.db
        .insertInto(t('people'))
        .values({ name: 'dup', n: 2 })
        .execute()
        .then(
          () => undefined,
          (e: unknown) => e,
        )
      expect(error).toBeInstanceOf(IntegrityError)
      expect(error).toBeInstanceOf(DatabaseError)
      expect(error).toBeInstanceOf(AthanorError)
      const e = error as IntegrityError
      expect(e.code).toBe('DB_INTEGRITY')
      expect(e.cause).toBeInstanceOf(Error)
      expect(e.sql).toMatch(/insert into/i)
      expect(e.parameters).toEqual(['dup', 2])
      expect(engine.pool.checkedOut()).toBe(0)
    })

    it('inserts many rows in pages, returning keys in input order', async () => {
      const rows = Array.from({ length: 2_345 }, (_, i) => ({ name: `row-${i}`, n: i }))
      const returned = await engine.insertMany<{ id: number; name: string }>(t('im'), rows, { returning: ['id', 'name'], pageSize: 1000 })
      expect(returned).toHaveLength(rows.length)
      returned.forEach((r, i) => expect(r.name).toBe(`row-${i}`))
      const stored = await engine.db.selectFrom(t('im')).select(['id', 'name']).execute()
      const byId = new Map(stored.map((r) => [Number(r.id), r.name]))
      returned.forEach((r, i) => expect(byId.get(Number(r.id))).toBe(`row-${i}`))
      expect(engine.pool.checkedOut()).toBe(0)
    })

    it('returns only generated keys in order, groups rows by their key sets, and applies defaults', async () => {
      const rows = [
        { name: 'g0', n: 0 },
        { name: 'g1', n: 1, note: 'given' },
        { name: 'g2', n: 2 },
        { name: 'g3', n: 3, note: undefined },
        { name: 'g4', n: 4, note: 'given too' },
      ]
      const ids = await engine.insertMany<{ id: number }>(t('im2'), rows, { returning: ['id'], pageSize: 2 })
      expect(ids).toHaveLength(5)
      const stored = await engine.db.selectFrom(t('im2')).select(['id', 'name', 'note']).execute()
      const byId = new Map(stored.map((r) => [Number(r.id), r]))
      ids.forEach((r, i) => expect(byId.get(Number(r.id))?.name).toBe(`g${i}`))
      expect(byId.get(Number(ids[0].id))?.note).toBe('none')
      expect(byId.get(Number(ids[1].id))?.note).toBe('given')
      expect(byId.get(Number(ids[3].id))?.note).toBe('none')
      expect(await engine.insertMany(t('im2'), [{ name: 'no-returning', n: 5 }])).toEqual([])
    })

    it("splits pages to stay under the driver's bound-parameter limit", async () => {
      const limit = engine.capabilities.maxParameters
      const rows = Array.from({ length: Math.floor(limit / 2) + 10 }, (_, i) => ({ name: `b${i}`, n: i }))
      await engine.insertMany(t('big'), rows, { pageSize: 1_000_000 })
      expect(await count('big')).toBe(rows.length)
    })

    it('keeps insertMany atomic: a failing page rolls back the earlier ones', async () => {
      const before = await count('im2')
      const rows = [{ name: 'atomic-1', n: 1 }, { name: 'atomic-2', n: 2 }, { name: 'g0', n: 3 }]
      await expect(engine.insertMany(t('im2'), rows, { pageSize: 1 })).rejects.toBeInstanceOf(IntegrityError)
      expect(await count('im2')).toBe(before)
    })

    it.runIf(config.cheapEngines)('logs SQL with echo, parameters only with "debug" and never with hideParameters', async () => {
      const lines: string[] = []
      const logger = { info: (...a: unknown[]) => lines.push(a.join(' ')), warn: () => {}, error: () => {} }
      const run = async (options: EngineOptions) => {
        lines.length = 0
        const e = await fresh({ ...options, logger })
        lines.length = 0
        try {
          await e.db.selectFrom(t('people')).select('name').where('name', '=', 'secret-value').execute()
          await e.db.insertInto(t('people')).values({ name: 'ada', n: 1 }).execute().catch((err: unknown) => err)
        } finally {
          await e.dispose()
        }
        return lines.join('\n')
      }
      const plain = await run({ echo: true })
      expect(plain).toMatch(/select "?`?name/)
      expect(plain).not.toContain('secret-value')
      expect(await run({ echo: 'debug' })).toContain('secret-value')
      expect(await run({ echo: 'debug', hideParameters: true })).not.toContain('secret-value')
      expect(await run({ echo: false })).toBe('')

      const hidden = await fresh({ hideParameters: true })
      try {
        const error = await hidden.db.insertInto(t('people')).values({ name: 'ada', n: 7 }).execute().catch((e: unknown) => e)
        expect(error).toBeInstanceOf(IntegrityError)
        expect((error as IntegrityError).parameters).toBeUndefined()
        expect((error as Error).message).not.toContain('ada')
      } finally {
        await hidden.dispose()
      }
    })

    it.runIf(config.cheapEngines)('resets a returned connection without a round trip unless a transaction is open', async () => {
      const statements: string[] = []
      const logger = { info: (m: unknown) => statements.push(String(m)), warn: () => {}, error: () => {} }
      const e = await fresh({ echo: true, logger, poolSize: 1, maxOverflow: 0 })
      try {
        statements.length = 0
        await sql`SELECT 1`.execute(e.db)
        await e.db.selectFrom(t('people')).select('name').execute()
        expect(statements.filter((s) => /ROLLBACK|COMMIT/i.test(s))).toEqual([])
        // A transaction left open by raw SQL is rolled back before anyone else gets the connection.
        await sql`BEGIN`.execute(e.db)
        expect(statements.filter((s) => /ROLLBACK/i.test(s))).toHaveLength(1)
        await e.begin(async (conn) => {
          expect(conn.inTransaction()).toBe(true)
        })
      } finally {
        await e.dispose()
      }
    })

    // An in-memory database lives and dies with its only connection.
    it.runIf(config.multiConnection)('invalidate() drops the connection; the Connection checks out a fresh one', async () => {
      const conn: Connection<SuiteDB> = await engine.connect()
      try {
        const invalidated = engine.pool.stats().invalidated
        conn.invalidate()
        expect(engine.pool.stats().invalidated).toBe(invalidated + 1)
        expect(await count('tx', conn.db)).toBe(2)
      } finally {
        await conn.close()
      }
      expect(engine.pool.checkedOut()).toBe(0)
    })

    it.runIf(config.cheapEngines)('refuses work after dispose with a typed error', async () => {
      const e = createEngine<SuiteDB>(config.url, config.options)
      await sql`select 1`.execute(e.db)
      await e.dispose()
      const error = await sql`select 1`.execute(e.db).catch((err: unknown) => err)
      expect(error).toBeInstanceOf(AthanorError)
      expect((error as AthanorError).code).toBe('POOL_DISPOSED')
    })
  })
}
