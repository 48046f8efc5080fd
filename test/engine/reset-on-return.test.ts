/**
 * A connection comes back clean. With the default reset, a returned
 * connection has no open transaction and autocommit on (MySQL's `SET
 * autocommit = 0` by raw SQL no longer leaks to the next holder and swallows
 * its writes). `poolResetOnReturn: 'reset'` also clears session variables,
 * temporary tables and prepared statements (COM_RESET_CONNECTION on
 * MySQL/MariaDB, DISCARD ALL on PostgreSQL and PGlite), keeping the engine's
 * own settings. And once `await conn.close()` resolves, `checkedOut()` no
 * longer counts the connection.
 */
import mysql from 'mysql2/promise'
import { sql, type Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEngine, type Engine, type EngineOptions } from '../../src/engine/index.js'
import { mysqlConfig, MYSQL_URL, PG_URL, runMysql, runPg } from '../support/servers.js'

interface Backend {
  readonly name: string
  readonly url: string
  readonly run: boolean
  /** The server's id of the session (the same connection comes back: pool of one). */
  readonly sessionId: string
  /** A session setting: how to change it and read it back. */
  readonly setSetting: string
  readonly readSetting: string
  readonly makeTemp: string
  readonly readTemp: string
  readonly prepare: string
  readonly execute: string
  readonly readIsolation: string
}

const POSTGRES_FAMILY = {
  sessionId: 'SELECT pg_backend_pid() AS v',
  setSetting: "SET lock_timeout = '4321ms'",
  readSetting: 'SELECT current_setting(\'lock_timeout\') AS v',
  makeTemp: 'CREATE TEMP TABLE reset_probe_tmp (a int)',
  readTemp: 'SELECT count(*) AS v FROM reset_probe_tmp',
  prepare: 'PREPARE reset_probe_ps AS SELECT 1 AS v',
  execute: 'EXECUTE reset_probe_ps',
  readIsolation: 'SELECT current_setting(\'transaction_isolation\') AS v',
}

const BACKENDS: Backend[] = [
  { name: 'PostgreSQL', url: PG_URL, run: runPg, ...POSTGRES_FAMILY },
  { name: 'PGlite', url: 'pglite://', run: true, ...POSTGRES_FAMILY, sessionId: 'SELECT 1 AS v' },
  {
    name: 'MariaDB',
    url: MYSQL_URL,
    run: runMysql,
    sessionId: 'SELECT CONNECTION_ID() AS v',
    setSetting: 'SET SESSION wait_timeout = 4321',
    readSetting: 'SELECT @@session.wait_timeout AS v',
    makeTemp: 'CREATE TEMPORARY TABLE reset_probe_tmp (a int)',
    readTemp: 'SELECT count(*) AS v FROM reset_probe_tmp',
    prepare: "PREPARE reset_probe_ps FROM 'SELECT 1 AS v'",
    execute: 'EXECUTE reset_probe_ps',
    readIsolation: 'SELECT @@tx_isolation AS v',
  },
]

const value = async (db: Kysely<unknown>, text: string): Promise<string> => {
  const { rows } = await sql.raw<{ v: unknown }>(text).execute(db)
  return String(rows[0]?.v)
}
const fails = (db: Kysely<unknown>, text: string): Promise<boolean> =>
  sql.raw(text).execute(db).then(
    () => false,
    () => true,
  )

describe.each(BACKENDS)("poolResetOnReturn: 'reset' on $name", (b) => {
  let engine: Engine<unknown>
  // PGlite takes seconds to start on a busy machine: generous limits for the opening.
  const options: EngineOptions = {
    poolSize: 1,
    maxOverflow: 0,
    poolResetOnReturn: 'reset',
    isolationLevel: 'SERIALIZABLE',
    poolTimeout: 60_000,
    connectTimeout: 60_000,
  }

  beforeAll(async () => {
    if (!b.run) return
    engine = createEngine<unknown>(b.url, options)
    await sql`SELECT 1`.execute(engine.db) // the opening, under the hook's timeout
  }, 120_000)
  afterAll(async () => {
    await engine?.dispose({ timeout: 5_000 })
  })

  it.skipIf(!b.run)('clears session settings, temporary tables and prepared statements; keeps the engine settings', async () => {
    const before = await value(engine.db, b.readSetting)
    const conn = await engine.connect()
    const session = await value(conn.db, b.sessionId)
    await sql.raw(b.setSetting).execute(conn.db)
    expect(await value(conn.db, b.readSetting)).not.toBe(before)
    await sql.raw(b.makeTemp).execute(conn.db)
    await sql.raw(b.prepare).execute(conn.db)
    expect(await value(conn.db, b.execute)).toBe('1')
    await conn.close()
    expect(engine.pool.checkedOut()).toBe(0)

    const next = await engine.connect()
    try {
      expect(await value(next.db, b.sessionId)).toBe(session)
      expect(await value(next.db, b.readSetting)).toBe(before)
      expect(await fails(next.db, b.readTemp)).toBe(true)
      expect(await fails(next.db, b.execute)).toBe(true)
      expect((await value(next.db, b.readIsolation)).toUpperCase().replace(/[-_]/g, ' ')).toBe('SERIALIZABLE')
    } finally {
      await next.close()
    }
  })

  it.skipIf(!b.run)("Kysely's db.transaction() and db.connection() on engine.db resolve once the connection is back", async () => {
    await engine.db.transaction().execute(async (trx) => sql.raw(b.setSetting).execute(trx))
    expect(engine.pool.checkedOut()).toBe(0)
    await engine.db.connection().execute(async (db) => sql.raw(b.makeTemp).execute(db))
    expect(engine.pool.checkedOut()).toBe(0)
    expect(await fails(engine.db, b.readTemp)).toBe(true)
  })

  it.skipIf(!b.run)('an open transaction is rolled back, and statements through engine.db still work', async () => {
    const conn = await engine.connect()
    await conn.begin()
    await sql.raw(b.setSetting).execute(conn.db)
    await conn.close()
    expect(engine.pool.checkedOut()).toBe(0)
    for (let i = 0; i < 3; i++) expect(await value(engine.db, 'SELECT 1 AS v')).toBe('1')
    // engine.db answers before the reset of its checkin has finished: the count follows.
    await expect.poll(() => engine.pool.checkedOut()).toBe(0)
  })
})

describe("poolResetOnReturn: 'reset' on SQLite (no session reset command: a rollback)", () => {
  it('rolls back what a returned connection left open', async () => {
    const engine = createEngine<unknown>('sqlite://', { poolResetOnReturn: 'reset' })
    try {
      await sql`CREATE TABLE reset_probe (a int)`.execute(engine.db)
      const conn = await engine.connect()
      await sql`BEGIN`.execute(conn.db)
      await sql`INSERT INTO reset_probe VALUES (1)`.execute(conn.db)
      await conn.close()
      expect(engine.pool.checkedOut()).toBe(0)
      expect(await value(engine.db, 'SELECT count(*) AS v FROM reset_probe')).toBe('0')
    } finally {
      await engine.dispose()
    }
  })
})

describe.skipIf(!runMysql)('MariaDB: autocommit turned off by raw SQL does not reach the next holder', () => {
  const table = 'reset_probe_autocommit'
  let engine: Engine<unknown>
  let control: mysql.Connection

  beforeAll(async () => {
    control = await mysql.createConnection(mysqlConfig)
    await control.query(`DROP TABLE IF EXISTS ${table}`)
    await control.query(`CREATE TABLE ${table} (id int PRIMARY KEY) ENGINE=InnoDB`)
    engine = createEngine<unknown>(MYSQL_URL, { poolSize: 1, maxOverflow: 0 })
  })
  afterAll(async () => {
    await engine?.dispose({ timeout: 5_000 })
    await control?.query(`DROP TABLE IF EXISTS ${table}`)
    await control?.end()
  })

  const committed = async (): Promise<number[]> => {
    const [rows] = await control.query<mysql.RowDataPacket[]>(`SELECT id FROM ${table} ORDER BY id`)
    return rows.map((r) => Number(r.id))
  }

  it('through engine.db', async () => {
    await sql`SET autocommit = 0`.execute(engine.db)
    await sql.raw(`INSERT INTO ${table} VALUES (1)`).execute(engine.db)
    expect(await committed()).toEqual([1])
    expect(await value(engine.db, 'SELECT @@autocommit AS v')).toBe('1')
  })

  it('through a Connection: its own writes end with it; the next holder writes for real', async () => {
    const conn = await engine.connect()
    await sql`SET autocommit = 0`.execute(conn.db)
    await sql.raw(`INSERT INTO ${table} VALUES (2)`).execute(conn.db)
    await conn.close()
    // Back in the pool once close() resolves, with autocommit on again.
    expect(engine.pool.checkedOut()).toBe(0)
    await engine.begin(async (c) => {
      await sql.raw(`INSERT INTO ${table} VALUES (3)`).execute(c.db)
    })
    await sql.raw(`INSERT INTO ${table} VALUES (4)`).execute(engine.db)
    expect(await committed()).toEqual([1, 3, 4])
  })
})
