/**
 * `engine.db` and `conn.db` run plain statements on athanor's own query
 * executor (no Kysely connection provider or runtime driver in between).
 * These tests hold it to what Kysely's executor did: plugins, schemas,
 * `db.connection()`, streams, errors and checkins, on every backend.
 */
import { CamelCasePlugin, sql, type Generated, type Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEngine, DatabaseError, NotSupportedError, type Engine } from '../../src/engine/index.js'
import { MYSQL_URL, PG_URL, runMysql, runPg } from '../support/servers.js'

const PREFIX = 'engine_db_executor'

interface Backend {
  readonly name: string
  readonly url: string
  readonly run: boolean
  /** DDL for `${table} (id auto-increment key, first_name, n)`. */
  createTable(table: string): string
  /** SQL giving this session's server-side id as `id`. */
  readonly sessionIdSql: string
}

const BACKENDS: readonly Backend[] = [
  {
    name: 'PostgreSQL',
    url: PG_URL,
    run: runPg,
    createTable: (t) => `CREATE TABLE ${t} (id serial PRIMARY KEY, first_name text NOT NULL, n integer NOT NULL)`,
    sessionIdSql: 'SELECT pg_backend_pid() AS id',
  },
  {
    name: 'MariaDB',
    url: MYSQL_URL,
    run: runMysql,
    createTable: (t) => `CREATE TABLE ${t} (id integer AUTO_INCREMENT PRIMARY KEY, first_name varchar(50) NOT NULL, n integer NOT NULL)`,
    sessionIdSql: 'SELECT CONNECTION_ID() AS id',
  },
  {
    name: 'SQLite',
    url: 'sqlite://',
    run: true,
    createTable: (t) => `CREATE TABLE ${t} (id integer PRIMARY KEY AUTOINCREMENT, first_name text NOT NULL, n integer NOT NULL)`,
    // One connection: any constant shows "the same session".
    sessionIdSql: 'SELECT 1 AS id',
  },
]

for (const backend of BACKENDS) {
  const table = `${PREFIX}_${backend.name.toLowerCase()}`
  interface DB {
    [table: string]: { id: Generated<number>; first_name: string; n: number }
  }

  describe.skipIf(!backend.run)(`engine.db's executor on ${backend.name}`, () => {
    let engine: Engine<DB>

    beforeAll(async () => {
      engine = createEngine<DB>(backend.url, { poolSize: 3, maxOverflow: 0 })
      await sql.raw(`DROP TABLE IF EXISTS ${table}`).execute(engine.db)
      await sql.raw(backend.createTable(table)).execute(engine.db)
      await engine.db
        .insertInto(table)
        .values([
          { first_name: 'ada', n: 1 },
          { first_name: 'grace', n: 2 },
        ])
        .execute()
    })

    afterAll(async () => {
      if (engine === undefined) return
      await sql.raw(`DROP TABLE IF EXISTS ${table}`).execute(engine.db)
      await engine.dispose()
    })

    it('runs plugins both ways (withPlugin), and withoutPlugins() drops them again', async () => {
      const camel = engine.db.withPlugin(new CamelCasePlugin()) as unknown as Kysely<Record<string, { firstName: string; n: number }>>
      const rows = await camel.selectFrom(table).select(['firstName', 'n']).where('firstName', '=', 'ada').execute()
      expect(rows).toEqual([{ firstName: 'ada', n: 1 }])
      const plain = await engine.db.selectFrom(table).select(['first_name']).where('n', '=', 2).execute()
      expect(plain).toEqual([{ first_name: 'grace' }])
      const stripped = camel.withoutPlugins() as unknown as Kysely<DB>
      expect(await stripped.selectFrom(table).select(['first_name']).where('n', '=', 1).execute()).toEqual([{ first_name: 'ada' }])
      expect(engine.pool.checkedOut()).toBe(0)
    })

    it('rejects a failing statement with a typed error and keeps its connection in the pool', async () => {
      await sql`SELECT 1`.execute(engine.db)
      const idle = engine.pool.checkedIn()
      const failed = sql.raw(`SELECT no_such_column FROM ${table}`).execute(engine.db)
      await expect(failed).rejects.toBeInstanceOf(DatabaseError)
      expect(engine.pool.checkedOut()).toBe(0)
      // Not a disconnect: the connection went back, it was not closed.
      expect(engine.pool.checkedIn()).toBe(idle)
      expect((await sql<{ one: number }>`SELECT 1 AS one`.execute(engine.db)).rows.map((r) => Number(r.one))).toEqual([1])
    })

    it('answers many concurrent statements on a small pool, each with its own result', async () => {
      const ns = Array.from({ length: 60 }, (_, i) => i)
      const results = await Promise.all(ns.map((i) => sql<{ v: number | string }>`SELECT ${i} AS v`.execute(engine.db)))
      expect(results.map((r) => Number(r.rows[0]!.v))).toEqual(ns)
      // checkedOut() counts opens still under way (as SQLAlchemy's does): one started
      // for a caller a returned connection served first may land a moment later.
      await expect.poll(() => engine.pool.checkedOut()).toBe(0)
    })

    // SQLite's one in-memory connection cannot be replaced without losing its data.
    it.skipIf(backend.name === 'SQLite')('replaces a connection that broke while idle, and the statement still succeeds', async () => {
      const solo = createEngine<DB>(backend.url, { poolSize: 1, maxOverflow: 0 })
      try {
        const before = await sql.raw<{ id: number | string }>(backend.sessionIdSql).execute(solo.db)
        // What the driver's 'error' event records when the server drops an idle connection.
        const held = (await solo.pool.acquire()) as { broken: unknown }
        held.broken = new Error('Connection terminated unexpectedly')
        solo.pool.release(held)
        const after = await sql.raw<{ id: number | string }>(backend.sessionIdSql).execute(solo.db)
        expect(after.rows[0]!.id).not.toBe(before.rows[0]!.id)
        expect(solo.pool.stats().invalidated).toBe(1)
        expect(solo.pool.checkedOut()).toBe(0)
      } finally {
        await solo.dispose()
      }
    })

    it('holds one connection for db.connection() and checks it in afterwards', async () => {
      const ids = await engine.db.connection().execute(async (db) => {
        expect(engine.pool.checkedOut()).toBe(1)
        const a = await sql.raw<{ id: number | string }>(backend.sessionIdSql).execute(db)
        await db.selectFrom(table).select('n').execute()
        const b = await sql.raw<{ id: number | string }>(backend.sessionIdSql).execute(db)
        return [a.rows[0]!.id, b.rows[0]!.id]
      })
      expect(ids[0]).toBe(ids[1])
      expect(engine.pool.checkedOut()).toBe(0)
    })

    it('streams with .stream(), plugins applied, and returns the connection', async () => {
      const camel = engine.db.withPlugin(new CamelCasePlugin()) as unknown as Kysely<Record<string, { firstName: string; n: number }>>
      const names: string[] = []
      for await (const row of camel.selectFrom(table).select('firstName').orderBy('n').stream(1)) names.push(row.firstName)
      expect(names.length).toBeGreaterThan(0)
      expect(names[0]).toBe('ada')
      expect(engine.pool.checkedOut()).toBe(0)
      await expect(engine.db.selectFrom(table).selectAll().stream(-1).next()).rejects.toBeInstanceOf(NotSupportedError)
      expect(engine.pool.checkedOut()).toBe(0)
    })

    it('runs conn.db statements on the held connection, with plugins too', async () => {
      const conn = await engine.connect()
      try {
        const first = await sql.raw<{ id: number | string }>(backend.sessionIdSql).execute(conn.db)
        const camel = conn.db.withPlugin(new CamelCasePlugin()) as unknown as Kysely<Record<string, { firstName: string; n: number }>>
        expect(await camel.selectFrom(table).select('firstName').where('n', '=', 1).execute()).toEqual([{ firstName: 'ada' }])
        const again = await sql.raw<{ id: number | string }>(backend.sessionIdSql).execute(conn.db)
        expect(again.rows[0]!.id).toBe(first.rows[0]!.id)
        expect(engine.pool.checkedOut()).toBe(1)
      } finally {
        await conn.close()
      }
      expect(engine.pool.checkedOut()).toBe(0)
    })

    it('fails the statement, not the pool, when the echo logger throws', async () => {
      const boom = new Error('logger down')
      const logger = { info: () => { throw boom }, warn() {}, error() {} }
      const echoing = createEngine<DB>(backend.url, { poolSize: 1, maxOverflow: 0, echo: true, logger })
      try {
        await expect(sql`SELECT 1`.execute(echoing.db)).rejects.toBe(boom)
        expect(echoing.pool.checkedOut()).toBe(0)
      } finally {
        await echoing.dispose()
      }
    })
  })
}

describe.skipIf(!runPg)("engine.db's executor on PostgreSQL: protocol", () => {
  it('sends a statement without parameters by the simple protocol (several statements in one text work)', async () => {
    const engine = createEngine(PG_URL, { poolSize: 1, maxOverflow: 0 })
    try {
      // The extended protocol refuses this: "cannot insert multiple commands into a prepared statement".
      await expect(sql.raw('SELECT 1; SELECT 2').execute(engine.db)).resolves.toBeDefined()
      // With parameters the extended protocol is used, and the values are bound, not spliced.
      const { rows } = await sql<{ v: string }>`SELECT ${"it's"}::text AS v`.execute(engine.db)
      expect(rows).toEqual([{ v: "it's" }])
    } finally {
      await engine.dispose()
    }
  })

  it('rolls back a transaction a failed statement left open before the next caller gets the connection', async () => {
    const engine = createEngine(PG_URL, { poolSize: 1, maxOverflow: 0 })
    try {
      // The error arrives before the server's "in a failed transaction" status.
      await expect(sql.raw('BEGIN; SELECT no_such_column_x').execute(engine.db)).rejects.toBeInstanceOf(DatabaseError)
      const { rows } = await sql<{ one: number }>`SELECT 1 AS one`.execute(engine.db)
      expect(rows).toEqual([{ one: 1 }])
      expect(engine.pool.checkedOut()).toBe(0)
    } finally {
      await engine.dispose()
    }
  })

  it('reaches the named schema through withSchema()', async () => {
    const engine = createEngine<Record<string, { id: number }>>(PG_URL, { poolSize: 1, maxOverflow: 0 })
    try {
      const schema = `${PREFIX}_schema`
      await sql.raw(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).execute(engine.db)
      await sql.raw(`CREATE SCHEMA ${schema}`).execute(engine.db)
      await sql.raw(`CREATE TABLE ${schema}.things (id integer)`).execute(engine.db)
      await sql.raw(`INSERT INTO ${schema}.things VALUES (7)`).execute(engine.db)
      expect(await engine.db.withSchema(schema).selectFrom('things').select('id').execute()).toEqual([{ id: 7 }])
      await expect(engine.db.selectFrom('things').select('id').execute()).rejects.toBeInstanceOf(DatabaseError)
      await sql.raw(`DROP SCHEMA ${schema} CASCADE`).execute(engine.db)
      expect(engine.pool.checkedOut()).toBe(0)
    } finally {
      await engine.dispose()
    }
  })
})
