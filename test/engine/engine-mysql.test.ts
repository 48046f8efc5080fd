import mysql from 'mysql2/promise'
import { sql, type Generated } from 'kysely'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { createEngine, DisconnectError, StatementTimeoutError, type Engine } from '../../src/engine/index.js'
import { PoolDisposedError } from '../../src/pool/index.js'
import type { DialectDriver } from '../../src/engine/dialect.js'
import { MysqlDriver } from '../../src/engine/dialects/mysql.js'
import { insertMany } from '../../src/engine/insert-many.js'
import { parseUrl } from '../../src/engine/url.js'
import { probeLateness } from '../support/lateness.js'
import { mysqlConfig, MYSQL_URL, runMysql } from '../support/servers.js'
import { defineEngineSuite } from './engine-suite.js'

const PREFIX = 'engine_mysql'

describe.skipIf(!runMysql)('engine on MariaDB/MySQL (mysql2)', () => {
  defineEngineSuite({
    prefix: PREFIX,
    url: MYSQL_URL,
    multiConnection: true,
    cheapEngines: true,
    createTable: (table) =>
      `CREATE TABLE ${table} (id int AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL UNIQUE, note varchar(100) DEFAULT 'none', n int NOT NULL)`,
    readIsolation: async (db) => {
      const { rows } = await sql<{ level: string }>`SELECT @@tx_isolation AS level`.execute(db)
      return rows[0].level.replace(/-/g, ' ')
    },
    levels: ['SERIALIZABLE', 'READ COMMITTED', 'READ UNCOMMITTED'],
  })

  interface DB {
    engine_mysql_typed: { id: Generated<number>; label: string }
    engine_mysql_ids: { id: Generated<number>; label: string }
  }

  describe('MariaDB specifics', () => {
    let engine: Engine<DB>
    let admin: mysql.Connection

    beforeAll(async () => {
      engine = createEngine<DB>(MYSQL_URL, { poolSize: 2, maxOverflow: 0, statementTimeout: 300 })
      admin = await mysql.createConnection(mysqlConfig)
      for (const table of ['engine_mysql_typed', 'engine_mysql_ids']) {
        await admin.query(`DROP TABLE IF EXISTS ${table}`)
        await admin.query(`CREATE TABLE ${table} (id int AUTO_INCREMENT PRIMARY KEY, label varchar(100) NOT NULL)`)
      }
    })

    afterAll(async () => {
      for (const table of ['engine_mysql_typed', 'engine_mysql_ids']) await admin?.query(`DROP TABLE IF EXISTS ${table}`)
      await admin?.end()
      await engine?.dispose()
    })

    it('flows the DB interface into Kysely results', async () => {
      const result = await engine.db.insertInto('engine_mysql_typed').values({ label: 'typed' }).executeTakeFirstOrThrow()
      expect(result.insertId).toBeTypeOf('bigint')
      const row = await engine.db.selectFrom('engine_mysql_typed').select(['id', 'label']).executeTakeFirstOrThrow()
      expectTypeOf(row).toEqualTypeOf<{ id: number; label: string }>()
      expect(row).toEqual({ id: Number(result.insertId), label: 'typed' })
    })

    it('detects RETURNING from the server version at the first connection (MariaDB 10.5+)', async () => {
      const [rows] = await admin.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v')
      const version = String(rows[0].v)
      const match = /^(\d+)\.(\d+)/.exec(version.replace(/^5\.5\.5-/, ''))
      const expected = /mariadb/i.test(version) && (Number(match?.[1]) > 10 || (Number(match?.[1]) === 10 && Number(match?.[2]) >= 5))
      await sql`SELECT 1`.execute(engine.db)
      expect(engine.capabilities.insertReturning).toBe(expected)
    })

    it('has the server enforce statementTimeout, as StatementTimeoutError, and keeps the connection', async () => {
      const error = await sql`SELECT SLEEP(5) FROM engine_mysql_typed`.execute(engine.db).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(StatementTimeoutError)
      const invalidated = engine.pool.stats().invalidated
      expect((await sql<{ one: number }>`SELECT 1 AS one`.execute(engine.db)).rows).toEqual([{ one: 1 }])
      expect(engine.pool.stats().invalidated).toBe(invalidated)
    })

    it('turns a KILLed connection mid-query into DisconnectError, invalidates, and recovers', async () => {
      const conn = await engine.connect()
      const { rows } = await sql<{ id: number }>`SELECT CONNECTION_ID() AS id`.execute(conn.db)
      const stats = engine.pool.stats()
      const running = sql`SELECT SLEEP(0.25)`.execute(conn.db).catch((e: unknown) => e)
      await admin.query(`KILL ${Number(rows[0].id)}`)
      const error = await running
      expect(error).toBeInstanceOf(DisconnectError)
      expect(engine.pool.stats().invalidated).toBe(stats.invalidated + 1)
      expect((await sql<{ one: number }>`SELECT 1 AS one`.execute(conn.db)).rows).toEqual([{ one: 1 }])
      await conn.close()
      expect((await sql<{ one: number }>`SELECT 1 AS one`.execute(engine.db)).rows).toEqual([{ one: 1 }])
      expect(engine.pool.checkedOut()).toBe(0)
    })

    it('survives an idle connection being killed: no crash, the next query just works', async () => {
      const solo = createEngine<DB>(MYSQL_URL, { poolSize: 1, maxOverflow: 0 })
      try {
        const { rows } = await sql<{ id: number }>`SELECT CONNECTION_ID() AS id`.execute(solo.db)
        await admin.query(`KILL ${Number(rows[0].id)}`)
        // Wait until the server has really dropped the session, then for its notice to arrive.
        for (let i = 0; i < 100; i++) {
          const [left] = await admin.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS c FROM information_schema.processlist WHERE id = ?', [rows[0].id])
          if (Number(left[0].c) === 0) break
          await new Promise((r) => setTimeout(r, 10))
        }
        await new Promise((r) => setTimeout(r, 50))
        const again = await sql<{ id: number }>`SELECT CONNECTION_ID() AS id`.execute(solo.db)
        expect(Number(again.rows[0].id)).not.toBe(Number(rows[0].id))
      } finally {
        await solo.dispose()
      }
    })

    it('returns the insert-id range when the server has no RETURNING (MySQL)', async () => {
      const driver = new MysqlDriver({
        url: parseUrl(MYSQL_URL),
        connectArgs: {},
        context: { echo: false, logger: console, hideParameters: false, invalidate: () => {} },
      })
      const connection = await driver.open()
      // The same driver, as a MySQL server without RETURNING would configure it.
      const noReturning: DialectDriver = Object.create(driver, {
        capabilities: { value: { ...driver.capabilities, insertReturning: false, maxParameters: 65_535 } },
      })
      try {
        await connection.run('INSERT INTO engine_mysql_ids (label) VALUES (?)', ['before'])
        const rows = Array.from({ length: 25 }, (_, i) => ({ label: `r${i}` }))
        const ids = await insertMany<{ id: number; label: string }>(connection, noReturning, 'engine_mysql_ids', rows, {
          returning: ['id', 'label'],
          pageSize: 10,
        })
        const stored = new Map((await connection.run<{ id: number; label: string }>('SELECT id, label FROM engine_mysql_ids')).rows.map((r) => [r.id, r.label]))
        expect(ids).toHaveLength(25)
        ids.forEach((r, i) => {
          expect(r.label).toBe(`r${i}`)
          expect(stored.get(r.id)).toBe(`r${i}`)
        })
      } finally {
        await connection.close()
      }
    })

    it('applies Kysely transaction settings (isolation level) on engine.db', async () => {
      const level = await engine.db
        .transaction()
        .setIsolationLevel('serializable')
        .execute(async (trx) => {
          // InnoDB lists the transaction once it holds a lock (a plain read may not take one).
          await trx.selectFrom('engine_mysql_typed').selectAll().forUpdate().execute()
          const { rows } = await sql<{ level: string }>`SELECT trx_isolation_level AS level FROM information_schema.innodb_trx WHERE trx_mysql_thread_id = CONNECTION_ID()`.execute(trx)
          return rows[0]?.level
        })
      expect(level).toBe('SERIALIZABLE')
    })

    it('rolls back on return what autocommit=0 left open (the status flags cannot show it)', async () => {
      const solo = createEngine<DB>(MYSQL_URL, { poolSize: 1, maxOverflow: 0 })
      try {
        const conn = await solo.connect()
        await sql`SET autocommit = 0`.execute(conn.db)
        await conn.db.insertInto('engine_mysql_typed').values({ label: 'left-open' }).execute()
        expect(conn.inTransaction()).toBe(true)
        await conn.close()
        const rows = await engine.db.selectFrom('engine_mysql_typed').select('label').where('label', '=', 'left-open').execute()
        expect(rows).toEqual([])
        expect(solo.pool.checkedOut()).toBe(0)
      } finally {
        await solo.dispose()
      }
    })

    it('force-closes a connection held past dispose({ timeout }), ending its statement with a typed error', async () => {
      const e = createEngine(MYSQL_URL, { poolSize: 1, maxOverflow: 0 })
      // A warm connection, so the statement is on the wire once it is checked out.
      await sql`SELECT 1`.execute(e.db)
      const stuck = sql`SELECT SLEEP(10)`.execute(e.db).then(
        () => undefined,
        (error: unknown) => error,
      )
      await expect.poll(() => e.pool.checkedOut(), { interval: 5 }).toBe(1)
      const loop = probeLateness()
      const t0 = performance.now()
      await e.dispose({ timeout: 100 })
      const error = await stuck
      // Generous bound: the statement would otherwise take 10 s. The deadline
      // timer may fire late by what the event loop alone was late meanwhile.
      expect(performance.now() - t0).toBeLessThan(1_500 + loop.stop().allowanceMs)
      // The engine was disposed under it: that is what the error says (issue 8).
      expect(error).toBeInstanceOf(PoolDisposedError)
      expect(e.pool.stats().open).toBe(0)
    })

    it('maps URL query parameters to mysql2 (charset reaches the server)', async () => {
      const e = createEngine(`${MYSQL_URL}?charset=latin1_swedish_ci&connect_timeout=5`)
      try {
        const { rows } = await sql<{ cs: string }>`SELECT @@character_set_client AS cs`.execute(e.db)
        expect(rows[0].cs).toBe('latin1')
      } finally {
        await e.dispose()
      }
    })
  })
})
