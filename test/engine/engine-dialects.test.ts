import { Kysely, sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { createEngine, EngineOptionError, NotSupportedError, parseUrl } from '../../src/engine/index.js'
import { classifyMysql, mysqlConfigFromUrl, parseServerVersion } from '../../src/engine/dialects/mysql.js'
import { classifyPostgres, postgresResult } from '../../src/engine/dialects/postgres-family.js'
import { pgConfigFromUrl } from '../../src/engine/dialects/postgres.js'
import { classifySqlite, sqliteConfigFromUrl } from '../../src/engine/dialects/sqlite.js'

/** An error shaped like the driver's. */
const err = (message: string, props: Record<string, unknown> = {}) => Object.assign(new Error(message), props)

describe('disconnect, timeout and integrity detection', () => {
  it('reads PostgreSQL SQLSTATEs and pg socket errors', () => {
    expect(classifyPostgres(err('terminating connection due to administrator command', { code: '57P01' })).kind).toBe('disconnect')
    expect(classifyPostgres(err('crash', { code: '57P02' })).kind).toBe('disconnect')
    expect(classifyPostgres(err('starting up', { code: '57P03' })).kind).toBe('disconnect')
    expect(classifyPostgres(err('connection failure', { code: '08006' })).kind).toBe('disconnect')
    expect(classifyPostgres(err('read ECONNRESET', { code: 'ECONNRESET' })).kind).toBe('disconnect')
    expect(classifyPostgres(err('write EPIPE', { code: 'EPIPE' })).kind).toBe('disconnect')
    expect(classifyPostgres(err('Connection terminated unexpectedly')).kind).toBe('disconnect')
    expect(classifyPostgres(err('Client has encountered a connection error and is not queryable')).kind).toBe('disconnect')
    expect(classifyPostgres(err('canceling statement due to statement timeout', { code: '57014' })).kind).toBe('timeout')
    expect(classifyPostgres(err('canceling statement due to user request', { code: '57014' })).kind).toBe('other')
    expect(classifyPostgres(err('duplicate key value', { code: '23505' }))).toMatchObject({ kind: 'integrity', sqlState: '23505' })
    expect(classifyPostgres(err('syntax error', { code: '42601' })).kind).toBe('other')
  })

  it('reads MySQL error numbers and mysql2 codes', () => {
    expect(classifyMysql(err('gone away', { errno: 2006 })).kind).toBe('disconnect')
    expect(classifyMysql(err('lost', { errno: 2013 })).kind).toBe('disconnect')
    expect(classifyMysql(err('shutdown', { errno: 1053, code: 'ER_SERVER_SHUTDOWN' })).kind).toBe('disconnect')
    expect(classifyMysql(err('interaction timeout', { errno: 4031 })).kind).toBe('disconnect')
    expect(classifyMysql(err('Connection lost: The server closed the connection.', { code: 'PROTOCOL_CONNECTION_LOST', fatal: true })).kind).toBe(
      'disconnect',
    )
    expect(classifyMysql(err("Can't add new command when connection is in closed state")).kind).toBe('disconnect')
    expect(classifyMysql(err('max_statement_time exceeded', { errno: 1969 })).kind).toBe('timeout')
    expect(classifyMysql(err('max_execution_time exceeded', { errno: 3024 })).kind).toBe('timeout')
    expect(classifyMysql(err('Duplicate entry', { errno: 1062, code: 'ER_DUP_ENTRY', sqlState: '23000' }))).toMatchObject({
      kind: 'integrity',
      errno: 1062,
      driverCode: 'ER_DUP_ENTRY',
      sqlState: '23000',
    })
    expect(classifyMysql(err('fk', { errno: 1452 })).kind).toBe('integrity')
    expect(classifyMysql(err('syntax', { errno: 1064 })).kind).toBe('other')
  })

  it('reads SQLite result codes', () => {
    expect(classifySqlite(err('UNIQUE constraint failed', { code: 'SQLITE_CONSTRAINT_UNIQUE' })).kind).toBe('integrity')
    expect(classifySqlite(err('database is locked', { code: 'SQLITE_BUSY' }))).toMatchObject({ kind: 'other', driverCode: 'SQLITE_BUSY' })
  })

  it('tells MariaDB with RETURNING from MySQL by the server version', () => {
    expect(parseServerVersion('10.11.6-MariaDB-0+deb12u1')).toEqual({ mariadb: true, major: 10, minor: 11 })
    expect(parseServerVersion('5.5.5-10.4.32-MariaDB')).toEqual({ mariadb: true, major: 10, minor: 4 })
    expect(parseServerVersion('8.0.36')).toEqual({ mariadb: false, major: 8, minor: 0 })
  })

  it('counts affected rows only for writes, as Kysely does', () => {
    expect(postgresResult({ command: 'UPDATE', rowCount: 3, rows: [] }).numAffectedRows).toBe(3n)
    expect(postgresResult({ command: 'SELECT', rowCount: 1, rows: [{ a: 1 }] })).toEqual({ numAffectedRows: undefined, rows: [{ a: 1 }] })
  })
})

describe('URL query parameters reach the driver config', () => {
  it('maps PostgreSQL parameters onto pg', () => {
    const config = pgConfigFromUrl(
      parseUrl('postgresql://app:p%40ss@db:6543/app?sslmode=require&application_name=web&connect_timeout=7&options=-c%20search_path%3Dx&client_encoding=UTF8'),
    ) as Record<string, unknown>
    expect(config).toMatchObject({
      host: 'db',
      port: 6543,
      user: 'app',
      password: 'p@ss',
      database: 'app',
      ssl: { rejectUnauthorized: false },
      application_name: 'web',
      connectionTimeoutMillis: 7000,
      options: '-c search_path=x',
      client_encoding: 'UTF8',
    })
    expect((pgConfigFromUrl(parseUrl('postgresql://db/app?sslmode=verify-full')) as Record<string, unknown>).ssl).toBe(true)
    expect((pgConfigFromUrl(parseUrl('postgresql://db/app?sslmode=disable')) as Record<string, unknown>).ssl).toBe(false)
  })

  it('maps MySQL parameters onto mysql2', () => {
    const config = mysqlConfigFromUrl(parseUrl('mysql://root:pw@db:3307/app?charset=utf8mb4&connect_timeout=3&timezone=Z&ssl=true')) as Record<string, unknown>
    expect(config).toMatchObject({ host: 'db', port: 3307, user: 'root', password: 'pw', database: 'app', charset: 'utf8mb4', connectTimeout: 3000, timezone: 'Z' })
    expect(config.ssl).toEqual({ rejectUnauthorized: true })
    expect((mysqlConfigFromUrl(parseUrl('mysql://db/app?ssl=0')) as Record<string, unknown>).ssl).toBeUndefined()
  })

  it('maps SQLite parameters onto better-sqlite3', () => {
    expect(sqliteConfigFromUrl(parseUrl('sqlite://'))).toEqual({ filename: ':memory:', options: {} })
    expect(sqliteConfigFromUrl(parseUrl('sqlite:///app.db?mode=ro&timeout=250'))).toEqual({
      filename: 'app.db',
      options: { readonly: true, fileMustExist: true, timeout: 250 },
    })
    expect(() => sqliteConfigFromUrl({ ...parseUrl('sqlite:///app.db'), query: { mode: 'wr' } })).toThrow(EngineOptionError)
  })
})

describe('createEngine', () => {
  it('validates isolation levels, at creation and at connect', async () => {
    expect(() => createEngine('postgresql://db/app', { isolationLevel: 'CHAOS' as never })).toThrow(EngineOptionError)
    const engine = createEngine('sqlite://')
    try {
      await expect(engine.connect({ isolationLevel: 'READ COMMITTED' })).rejects.toThrow(/sqlite does not support/)
      await expect(engine.connect({ isolationLevel: 'nope' as never })).rejects.toBeInstanceOf(EngineOptionError)
      expect(engine.pool.checkedOut()).toBe(0)
    } finally {
      await engine.dispose()
    }
  })

  it('logs pool events with echoPool, as plain strings a pino logger takes as is', async () => {
    const lines: unknown[][] = []
    const logger = { info: (...a: unknown[]) => lines.push(a), warn: (...a: unknown[]) => lines.push(a), error: (...a: unknown[]) => lines.push(a) }
    const engine = createEngine('sqlite://', { echoPool: 'debug', logger })
    await sql`SELECT 1`.execute(engine.db)
    await engine.dispose()
    const text = lines.map((l) => l.join(' ')).join('\n')
    expect(lines.every((l) => l.length === 1 && typeof l[0] === 'string')).toBe(true)
    expect(text).toMatch(/connection opened/)
    expect(text).toMatch(/checkout/)
    expect(text).toMatch(/checkin/)
    expect(text).toMatch(/connection closed/)
  })

  it('exposes its Kysely dialect for a layer that builds its own Kysely', async () => {
    const engine = createEngine('sqlite://')
    try {
      const db = new Kysely<Record<string, never>>({ dialect: engine.kyselyDialect })
      expect((await sql<{ two: number }>`SELECT 2 AS two`.execute(db)).rows).toEqual([{ two: 2 }])
      expect(engine.pool.checkedOut()).toBe(0)
    } finally {
      await engine.dispose()
    }
  })

  it('runs conn.db.transaction() as the Connection transaction', async () => {
    const engine = createEngine('sqlite://')
    try {
      await using conn = await engine.connect()
      await sql`CREATE TABLE engine_dialects_t (v TEXT)`.execute(conn.db)
      await expect(
        conn.db.transaction().execute(async (trx) => {
          await sql`INSERT INTO engine_dialects_t VALUES ('x')`.execute(trx)
          expect(conn.inTransaction()).toBe(true)
          throw new Error('undo')
        }),
      ).rejects.toThrow('undo')
      expect(conn.inTransaction()).toBe(false)
      await conn.db.transaction().execute(async (trx) => sql`INSERT INTO engine_dialects_t VALUES ('y')`.execute(trx))
      expect((await sql`SELECT v FROM engine_dialects_t`.execute(conn.db)).rows).toEqual([{ v: 'y' }])
    } finally {
      await engine.dispose()
    }
  })

  it('forgets connections without closing them on dispose({ close: false })', async () => {
    const engine = createEngine(`sqlite://`)
    await sql`SELECT 1`.execute(engine.db)
    const closes: unknown[] = []
    engine.pool.on('close', (c) => closes.push(c))
    await engine.dispose({ close: false })
    expect(closes).toEqual([])
    await expect(sql`SELECT 1`.execute(engine.db)).rejects.toMatchObject({ code: 'POOL_DISPOSED' })
  })

  it("runs Kysely's stream() and returns the connection once it ends", async () => {
    const engine = createEngine('sqlite://')
    try {
      const one = sql<number>`1`.as('one')
      const seen: unknown[] = []
      for await (const row of engine.db.selectNoFrom(one).stream()) seen.push(row)
      expect(seen).toEqual([{ one: 1 }])
      expect(engine.pool.checkedOut()).toBe(0)
      await expect(engine.db.selectNoFrom(one).stream(0).next()).rejects.toBeInstanceOf(NotSupportedError)
    } finally {
      await engine.dispose()
    }
  })

  it('rejects a URL that is neither a string nor an EngineUrl', () => {
    expect(() => createEngine(42 as never)).toThrow(EngineOptionError)
  })
})
