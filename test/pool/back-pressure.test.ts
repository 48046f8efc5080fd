/**
 * "Too many clients" is back-pressure, not an outage: an open the server
 * refuses for being at its connection limit (PostgreSQL 53300; MySQL 1040,
 * 1203, and 1226 for MAX_USER_CONNECTIONS) keeps the caller waiting for a
 * returned connection or a retried open within `poolTimeout`; only a caller
 * whose wait runs out fails, with a PoolTimeoutError that names the limit.
 */
import { sql } from 'kysely'
import mysql from 'mysql2/promise'
import pg from 'pg'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createEngine, type Connection, type Engine } from '../../src/engine/index.js'
import { isMysqlTooManyConnections } from '../../src/engine/dialects/mysql.js'
import {
  NullPool,
  PoolConnectError,
  PoolTimeoutError,
  QueuePool,
  StaticPool,
  type Pool,
} from '../../src/pool/index.js'
import { FakeDriver, ServerFullError, type FakeConnection } from '../support/fake-driver.js'
import { createMysqlUser, dropMysqlUser, privatePostgresAvailable, startPrivatePostgres } from '../support/server-control.js'
import { mysqlConfig, PG_URL, pgConfig, runMysql, runPg } from '../support/servers.js'

afterEach(() => {
  vi.useRealTimers()
})

function useFakeClock(): void {
  vi.useFakeTimers({ toFake: ['performance', 'Date', 'setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'] })
}

describe('a full server on the fake driver', () => {
  it('QueuePool: the caller waits for a returned connection instead of failing at once', async () => {
    useFakeClock()
    const driver = new FakeDriver()
    const pool = new QueuePool(driver, { poolSize: 2, maxOverflow: 0, poolTimeout: 500, connectBackoff: 20 })
    const held = await pool.acquire()
    driver.failAllOpens(new ServerFullError())
    let outcome: unknown = 'pending'
    const waiting = pool.acquire().then(
      (c) => (outcome = c),
      (e: unknown) => (outcome = e),
    )
    await vi.advanceTimersByTimeAsync(100)
    expect(outcome).toBe('pending')
    // Retried meanwhile, with the back-off.
    expect(driver.openAttempts).toBeGreaterThan(2)
    pool.release(held)
    await waiting
    expect((outcome as FakeConnection).id).toBe(held.id)
    pool.release(outcome as FakeConnection)
    await pool.dispose()
  })

  it('QueuePool: a retried open that succeeds serves the caller', async () => {
    useFakeClock()
    const driver = new FakeDriver()
    const pool = new QueuePool(driver, { poolSize: 1, maxOverflow: 0, poolTimeout: 500, connectBackoff: 20 })
    driver.failOpens(3, new ServerFullError())
    const got = pool.acquire()
    await vi.advanceTimersByTimeAsync(200)
    const c = await got
    expect(driver.openAttempts).toBe(4)
    pool.release(c)
    await pool.dispose()
  })

  it('QueuePool: when the wait runs out, a PoolTimeoutError says the server is full', async () => {
    useFakeClock()
    const driver = new FakeDriver()
    const pool = new QueuePool(driver, { poolSize: 1, maxOverflow: 0, poolTimeout: 300, connectBackoff: 20 })
    driver.failAllOpens(new ServerFullError())
    const failed = pool.acquire().catch((e: unknown) => e)
    await vi.advanceTimersByTimeAsync(300)
    const e = await failed
    expect(e).toBeInstanceOf(PoolTimeoutError)
    expect((e as Error).message).toMatch(/connection limit/)
    expect((e as Error).message).toMatch(/too many clients/)
    expect((e as Error).cause).toBeInstanceOf(ServerFullError)
    await pool.dispose()
  })

  it('a permanent open failure still fails the caller at once', async () => {
    const driver = new FakeDriver()
    const pool = new QueuePool(driver, { poolSize: 1, poolTimeout: 10_000 })
    driver.failOpens(1, new Error('password authentication failed'))
    await expect(pool.acquire()).rejects.toBeInstanceOf(PoolConnectError)
    await pool.dispose()
  })

  it.each([
    ['NullPool', (d: FakeDriver) => new NullPool(d, { poolTimeout: 500, connectBackoff: 20 })],
    ['StaticPool', (d: FakeDriver) => new StaticPool(d, { poolTimeout: 500, connectBackoff: 20 })],
  ] as [string, (d: FakeDriver) => Pool<FakeConnection>][])('%s retries the open within poolTimeout', async (_name, make) => {
    useFakeClock()
    const driver = new FakeDriver()
    const pool = make(driver)
    driver.failOpens(2, new ServerFullError())
    const got = pool.acquire()
    await vi.advanceTimersByTimeAsync(200)
    const c = await got
    expect(driver.openAttempts).toBe(3)
    pool.release(c)
    driver.failAllOpens(new ServerFullError())
    if (pool instanceof NullPool) {
      const failed = pool.acquire().catch((e: unknown) => e)
      await vi.advanceTimersByTimeAsync(600)
      const e = await failed
      expect(e).toBeInstanceOf(PoolTimeoutError)
      expect((e as Error).message).toMatch(/connection limit/)
    }
    await pool.dispose()
  })
})

describe('which MySQL errors mean "the server is full"', () => {
  it.each([
    [{ errno: 1040, code: 'ER_CON_COUNT_ERROR', message: 'Too many connections' }, true],
    [{ errno: 1203, code: 'ER_TOO_MANY_USER_CONNECTIONS', message: "User x already has more than 'max_user_connections' active connections" }, true],
    [{ errno: 1226, code: 'ER_USER_LIMIT_REACHED', message: "User 'x' has exceeded the 'max_user_connections' resource (current value: 2)" }, true],
    [{ errno: 1226, code: 'ER_USER_LIMIT_REACHED', message: "User 'x' has exceeded the 'max_connections_per_hour' resource (current value: 2)" }, false],
    [{ errno: 1045, code: 'ER_ACCESS_DENIED_ERROR', message: 'Access denied' }, false],
  ])('%o -> %s', (error, temporary) => {
    expect(isMysqlTooManyConnections(Object.assign(new Error(error.message), error))).toBe(temporary)
  })
})

/**
 * Holds `limit` connections (the server's limit for this URL), starts one
 * more checkout, waits until the server has refused it at least once, then
 * returns one connection: the waiting checkout must get it.
 */
async function waitsForAReturnedConnection(engine: Engine<unknown>, limit: number, refusal: RegExp): Promise<void> {
  const held: Connection<unknown>[] = []
  try {
    for (let i = 0; i < limit; i++) held.push(await engine.connect())
    let outcome: unknown = 'pending'
    const extra = engine.connect().then(
      (c) => (outcome = c),
      (e: unknown) => (outcome = e),
    )
    await expect.poll(() => engine.pool.stats().connectErrors, { timeout: 10_000 }).toBeGreaterThan(0)
    expect(outcome).toBe('pending')
    await held.pop()!.close()
    await extra
    expect(outcome, String(outcome)).not.toBeInstanceOf(Error)
    const conn = outcome as Connection<unknown>
    expect((await sql<{ one: number }>`SELECT 1 AS one`.execute(conn.db)).rows[0].one).toBe(1)
    await conn.close()
    // Nothing returned and the server still full: the error says so, after poolTimeout.
    held.push(await engine.connect())
    const e = await engine.connect().catch((x: unknown) => x)
    expect(e).toBeInstanceOf(PoolTimeoutError)
    expect((e as Error).message).toMatch(/connection limit/)
    expect((e as Error).message).toMatch(refusal)
  } finally {
    for (const c of held) await c.close()
  }
}

describe.skipIf(!runPg)('a full PostgreSQL server', () => {
  it('a role at its CONNECTION LIMIT (53300): the caller waits for a returned connection', async () => {
    const role = `pool_limited_${process.pid}`
    const control = new pg.Client(pgConfig)
    await control.connect()
    try {
      await control.query(`DROP ROLE IF EXISTS ${role}`)
      await control.query(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT 2`)
      const url = new URL(PG_URL)
      url.username = role
      const engine = createEngine<unknown>(url.toString(), { poolSize: 4, maxOverflow: 0, poolTimeout: 1_500, connectBackoff: 20 })
      try {
        await waitsForAReturnedConnection(engine, 2, /too many connections for role/)
      } finally {
        await engine.dispose({ timeout: 5_000 })
      }
    } finally {
      await control.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined)
      await control.end()
    }
  })

  it.skipIf(!privatePostgresAvailable)('a server at max_connections ("sorry, too many clients already")', { timeout: 120_000 }, async () => {
    const server = await startPrivatePostgres({ maxConnections: 5 })
    try {
      const engine = createEngine<unknown>(server.url, { poolSize: 8, maxOverflow: 0, poolTimeout: 1_500, connectBackoff: 20 })
      try {
        await waitsForAReturnedConnection(engine, 5, /too many clients already/)
      } finally {
        await engine.dispose({ timeout: 5_000 })
      }
    } finally {
      await server.remove()
    }
  })
})

describe.skipIf(!runMysql)('a full MariaDB server', () => {
  it('an account at MAX_USER_CONNECTIONS (1226): the caller waits for a returned connection', async () => {
    const user = `pool_limited_${process.pid % 100_000}`
    const url = await createMysqlUser(user)
    const control = await mysql.createConnection(mysqlConfig)
    try {
      await control.query(`ALTER USER '${user}'@'%' WITH MAX_USER_CONNECTIONS 2`)
      const engine = createEngine<unknown>(url, { poolSize: 4, maxOverflow: 0, poolTimeout: 1_500, connectBackoff: 20 })
      try {
        await waitsForAReturnedConnection(engine, 2, /max_user_connections/)
      } finally {
        await engine.dispose({ timeout: 5_000 })
      }
    } finally {
      await control.end()
      await dropMysqlUser(user)
    }
  })
})
