import pg from 'pg'
import { sql, type Generated } from 'kysely'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { createEngine, DisconnectError, StatementTimeoutError, type Engine } from '../../src/engine/index.js'
import { pgConfig, PG_URL, runPg } from '../support/servers.js'
import { defineEngineSuite } from './engine-suite.js'

const PREFIX = 'engine_postgres'

describe.skipIf(!runPg)('engine on PostgreSQL (pg)', () => {
  defineEngineSuite({
    prefix: PREFIX,
    url: PG_URL,
    multiConnection: true,
    cheapEngines: true,
    createTable: (table) =>
      `CREATE TABLE ${table} (id serial PRIMARY KEY, name text NOT NULL UNIQUE, note text DEFAULT 'none', n integer NOT NULL)`,
    readIsolation: async (db) => {
      const { rows } = await sql<{ transaction_isolation: string }>`SHOW transaction_isolation`.execute(db)
      return rows[0].transaction_isolation.toUpperCase()
    },
    levels: ['REPEATABLE READ', 'SERIALIZABLE', 'READ UNCOMMITTED'],
  })

  interface DB {
    engine_postgres_typed: { id: Generated<number>; label: string }
  }

  describe('PostgreSQL specifics', () => {
    let engine: Engine<DB>
    let admin: pg.Client

    beforeAll(async () => {
      engine = createEngine<DB>(PG_URL, { poolSize: 2, maxOverflow: 0, statementTimeout: 300 })
      admin = new pg.Client(pgConfig)
      await admin.connect()
      await admin.query('DROP TABLE IF EXISTS engine_postgres_typed')
      await admin.query('CREATE TABLE engine_postgres_typed (id serial PRIMARY KEY, label text NOT NULL)')
    })

    /**
     * Terminates a backend and waits until it has exited (PostgreSQL 14+), so
     * the next statement on it fails by progress, not by how fast the server's
     * signal handling is on a loaded machine.
     */
    const terminate = async (pid: number): Promise<void> => {
      await admin.query('SELECT pg_terminate_backend($1::int, 10000)', [pid])
    }

    afterAll(async () => {
      await admin?.query('DROP TABLE IF EXISTS engine_postgres_typed')
      await admin?.end()
      await engine?.dispose()
    })

    it('flows the DB interface into Kysely results', async () => {
      await engine.db.insertInto('engine_postgres_typed').values({ label: 'typed' }).execute()
      const row = await engine.db.selectFrom('engine_postgres_typed').select(['id', 'label']).executeTakeFirstOrThrow()
      expectTypeOf(row).toEqualTypeOf<{ id: number; label: string }>()
      expect(row.label).toBe('typed')
    })

    it('has the server enforce statementTimeout, as StatementTimeoutError, and keeps the connection', async () => {
      const error = await sql`SELECT pg_sleep(5)`.execute(engine.db).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(StatementTimeoutError)
      expect((error as StatementTimeoutError).sqlState).toBe('57014')
      const invalidated = engine.pool.stats().invalidated
      expect((await sql<{ one: number }>`SELECT 1 AS one`.execute(engine.db)).rows).toEqual([{ one: 1 }])
      expect(engine.pool.stats().invalidated).toBe(invalidated)
    })

    it('turns a backend killed mid-query into DisconnectError, invalidates, and recovers', async () => {
      const conn = await engine.connect()
      const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(conn.db)
      const stats = engine.pool.stats()
      // Long enough to be running whenever the kill lands; the kill ends it.
      const running = sql`SELECT pg_sleep(10)`.execute(conn.db).catch((e: unknown) => e)
      await terminate(rows[0].pid)
      const error = await running
      expect(error).toBeInstanceOf(DisconnectError)
      expect((error as DisconnectError).code).toBe('DB_DISCONNECT')
      expect((error as DisconnectError).cause).toBeDefined()
      expect(engine.pool.stats().invalidated).toBe(stats.invalidated + 1)
      // Outside a transaction the same Connection reconnects on its next statement,
      // once, however many statements arrive together.
      const [a, b] = await Promise.all([sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(conn.db), sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(conn.db)])
      expect(a.rows[0].pid).toBe(b.rows[0].pid)
      expect(engine.pool.checkedOut()).toBe(1)
      await conn.close()
      expect((await sql<{ one: number }>`SELECT 1 AS one`.execute(engine.db)).rows).toEqual([{ one: 1 }])
      expect(engine.pool.checkedOut()).toBe(0)
    })

    it('fails engine.db.transaction() with DisconnectError when its backend is killed, and recovers', async () => {
      const error = await engine.db
        .transaction()
        .execute(async (trx) => {
          const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(trx)
          await terminate(rows[0].pid)
          await sql`SELECT pg_sleep(0.05)`.execute(trx)
        })
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(DisconnectError)
      expect(engine.pool.checkedOut()).toBe(0)
      expect((await sql<{ one: number }>`SELECT 1 AS one`.execute(engine.db)).rows).toEqual([{ one: 1 }])
    })

    it('asks for rollback() after a disconnect inside a transaction, then works again', async () => {
      const conn = await engine.connect()
      await conn.begin()
      const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(conn.db)
      await terminate(rows[0].pid)
      await expect(sql`SELECT 1`.execute(conn.db)).rejects.toBeInstanceOf(DisconnectError)
      await expect(sql`SELECT 1`.execute(conn.db)).rejects.toThrow(/rollback/)
      await conn.rollback()
      expect((await sql<{ one: number }>`SELECT 1 AS one`.execute(conn.db)).rows).toEqual([{ one: 1 }])
      await conn.close()
    })

    it('survives an idle connection being killed: no crash, the next query just works', async () => {
      const solo = createEngine<DB>(PG_URL, { poolSize: 1, maxOverflow: 0 })
      try {
        const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(solo.db)
        await terminate(rows[0].pid)
        // Wait until the server has really closed the socket (the client then emits 'error').
        for (let i = 0; i < 100; i++) {
          const alive = await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [rows[0].pid])
          if (alive.rowCount === 0) break
          await new Promise((r) => setTimeout(r, 10))
        }
        await new Promise((r) => setTimeout(r, 50))
        const again = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(solo.db)
        expect(again.rows[0].pid).not.toBe(rows[0].pid)
      } finally {
        await solo.dispose()
      }
    })

    it('applies Kysely transaction settings (isolation level) on engine.db', async () => {
      const level = await engine.db
        .transaction()
        .setIsolationLevel('serializable')
        .execute(async (trx) => (await sql<{ transaction_isolation: string }>`SHOW transaction_isolation`.execute(trx)).rows[0])
      expect(level.transaction_isolation).toBe('serializable')
    })

    it("supports Kysely's controlled transactions and savepoints on engine.db", async () => {
      const trx = await engine.db.startTransaction().execute()
      await trx.insertInto('engine_postgres_typed').values({ label: 'controlled' }).execute()
      const sp = await trx.savepoint('sp1').execute()
      await sp.insertInto('engine_postgres_typed').values({ label: 'undone' }).execute()
      await sp.rollbackToSavepoint('sp1').execute()
      expect(engine.pool.checkedOut()).toBe(1)
      await trx.commit().execute()
      expect(engine.pool.checkedOut()).toBe(0)
      const labels = (await engine.db.selectFrom('engine_postgres_typed').select('label').execute()).map((r) => r.label)
      expect(labels).toContain('controlled')
      expect(labels).not.toContain('undone')
    })

    it('maps URL query parameters to the pg client (application_name reaches the server)', async () => {
      const e = createEngine(`${PG_URL}?application_name=engine_postgres_app&connect_timeout=5`)
      try {
        const { rows } = await sql<{ name: string }>`SELECT current_setting('application_name') AS name`.execute(e.db)
        expect(rows[0].name).toBe('engine_postgres_app')
      } finally {
        await e.dispose()
      }
    })

    it('adds the engine isolation level to the URL options startup parameter', async () => {
      const e = createEngine(`${PG_URL}?options=${encodeURIComponent('-c search_path=pg_catalog')}`, { isolationLevel: 'READ UNCOMMITTED' })
      try {
        const { rows } = await sql<{ path: string; level: string }>`SELECT current_setting('search_path') AS path, current_setting('default_transaction_isolation') AS level`.execute(e.db)
        expect(rows[0]).toEqual({ path: 'pg_catalog', level: 'read uncommitted' })
      } finally {
        await e.dispose()
      }
    })

    it('passes connectArgs over the URL', async () => {
      const e = createEngine(`${PG_URL}?application_name=from_url`, { connectArgs: { application_name: 'from_args' } })
      try {
        const { rows } = await sql<{ name: string }>`SELECT current_setting('application_name') AS name`.execute(e.db)
        expect(rows[0].name).toBe('from_args')
      } finally {
        await e.dispose()
      }
    })

    it('prints its URL with the password masked', () => {
      const e = createEngine('postgresql://app:s3cret@db.example:5432/app')
      expect(String(e)).toBe('Engine(postgresql://app:***@db.example:5432/app)')
      expect(String(e)).not.toContain('s3cret')
      void e.dispose()
    })
  })
})
