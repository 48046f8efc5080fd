/**
 * The QueuePool on real servers: pg.Client and mysql2 connections as the
 * pooled resource. Sizes and overflow are checked from the server's side,
 * resets really roll back, and a connection killed by the server is found
 * by pre-ping and replaced.
 */
import mysql from 'mysql2/promise'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { QueuePool, type PoolDriver } from '../../src/pool/index.js'
import { mysqlConfig, pgConfig, runMysql, runPg } from '../support/servers.js'

/** The server process behind a pg.Client (its stand-ins are distinct objects per checkout). */
const backendPid = (c: pg.Client): number => (c as unknown as { processID: number }).processID

/** Polls `read` until it returns `want` (server-side counts lag a socket close, more so on a busy machine). */
async function eventually<T>(read: () => Promise<T>, want: T, ms = 15_000): Promise<T> {
  const end = Date.now() + ms
  let got = await read()
  while (got !== want && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20))
    got = await read()
  }
  return got
}

describe.skipIf(!runPg)('QueuePool on PostgreSQL (pg.Client)', () => {
  const app = `server_test_pool_${process.pid}`
  const table = 'server_test_pool_pg'
  let control: pg.Client

  const driver: PoolDriver<pg.Client> = {
    async open() {
      const c = new pg.Client({ ...pgConfig, application_name: app })
      // A backend killed while idle emits 'error'; the pool finds out through pre-ping.
      c.on('error', () => {})
      await c.connect()
      return c
    },
    close: (c) => c.end(),
    ping: (c) => c.query('SELECT 1').then(() => true, () => false),
    reset: async (c, mode) => {
      await c.query(mode === 'rollback' ? 'ROLLBACK' : 'COMMIT')
    },
  }

  const backends = async (): Promise<number> => {
    const r = await control.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1', [app])
    return Number(r.rows[0].n)
  }

  beforeAll(async () => {
    control = new pg.Client(pgConfig)
    await control.connect()
    await control.query(`DROP TABLE IF EXISTS ${table}`)
    await control.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`)
  })
  afterAll(async () => {
    await control?.query(`DROP TABLE IF EXISTS ${table}`)
    await control?.end()
  })

  it('opens poolSize + maxOverflow backends at most and keeps poolSize after the load', async () => {
    const pool = new QueuePool(driver, { poolSize: 2, maxOverflow: 2, poolTimeout: 10_000 })
    try {
      const held = await Promise.all([1, 2, 3, 4].map(() => pool.acquire()))
      expect(await backends()).toBe(4)
      expect(pool.overflow()).toBe(2)
      const fifth = pool.acquire()
      for (const c of held) pool.release(c)
      pool.release(await fifth)
      expect(await eventually(async () => pool.checkedIn(), 2)).toBe(2)
      expect(await eventually(backends, 2)).toBe(2)
    } finally {
      await pool.dispose()
    }
    expect(await eventually(backends, 0)).toBe(0)
  })

  it('rolls back a transaction left open when the connection is returned', async () => {
    const pool = new QueuePool(driver, { poolSize: 1, maxOverflow: 0 })
    try {
      const c = await pool.acquire()
      await c.query('BEGIN')
      await c.query(`INSERT INTO ${table} VALUES (1)`)
      pool.release(c)
      const again = await pool.acquire()
      expect(backendPid(again)).toBe(backendPid(c))
      const r = await again.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)
      expect(Number(r.rows[0].n)).toBe(0)
      const seen = await control.query(`SELECT * FROM ${table}`)
      expect(seen.rowCount).toBe(0)
      pool.release(again)
    } finally {
      await pool.dispose()
    }
  })

  it('replaces a backend killed by the server, found by pre-ping', async () => {
    const pool = new QueuePool(driver, { poolSize: 1, maxOverflow: 0, poolPrePing: true })
    try {
      const c = await pool.acquire()
      const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid
      pool.release(c)
      // Kill it idle, after its reset (ROLLBACK) has finished.
      expect(await eventually(async () => pool.checkedIn(), 1)).toBe(1)
      // Wait for the backend to exit (PostgreSQL 14+), so the pre-ping meets a dead connection.
      await control.query('SELECT pg_terminate_backend($1::int, 10000)', [pid])
      const next = await pool.acquire()
      const pid2 = (await next.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid
      expect(pid2).not.toBe(pid)
      expect(pool.stats()).toMatchObject({ invalidated: 1, created: 2, open: 1 })
      pool.release(next)
    } finally {
      await pool.dispose()
    }
  })
})

describe.skipIf(!runMysql)('QueuePool on MariaDB (mysql2)', () => {
  const table = 'server_test_pool_my'
  let control: mysql.Connection
  const ids = new Set<number>()

  const driver: PoolDriver<mysql.Connection> = {
    async open() {
      const c = await mysql.createConnection(mysqlConfig)
      c.on('error', () => {})
      ids.add(c.threadId)
      return c
    },
    close: (c) => c.end().catch(() => c.destroy()),
    ping: (c) => c.ping().then(() => true, () => false),
    reset: async (c, mode) => {
      await c.query(mode === 'rollback' ? 'ROLLBACK' : 'COMMIT')
    },
  }

  /** Our connections as the server sees them (filtered by our own connection ids). */
  const processes = async (): Promise<number> => {
    if (ids.size === 0) return 0
    const [rows] = await control.query<mysql.RowDataPacket[]>(
      `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID IN (${[...ids].map(Number).join(',')})`,
    )
    return Number(rows[0].n)
  }

  beforeAll(async () => {
    control = await mysql.createConnection(mysqlConfig)
    await control.query(`DROP TABLE IF EXISTS ${table}`)
    await control.query(`CREATE TABLE ${table} (id int PRIMARY KEY) ENGINE=InnoDB`)
  })
  afterAll(async () => {
    await control?.query(`DROP TABLE IF EXISTS ${table}`)
    await control?.end()
  })

  it('opens poolSize + maxOverflow connections at most and keeps poolSize after the load', async () => {
    ids.clear()
    const pool = new QueuePool(driver, { poolSize: 2, maxOverflow: 1, poolTimeout: 10_000 })
    try {
      const held = await Promise.all([1, 2, 3].map(() => pool.acquire()))
      expect(await processes()).toBe(3)
      const waiting = pool.acquire()
      expect(pool.stats().waiting).toBe(1)
      for (const c of held) pool.release(c)
      pool.release(await waiting)
      expect(await eventually(async () => pool.checkedIn(), 2)).toBe(2)
      expect(await eventually(processes, 2)).toBe(2)
    } finally {
      await pool.dispose()
    }
    expect(await eventually(processes, 0)).toBe(0)
  })

  it('rolls back a transaction left open when the connection is returned', async () => {
    const pool = new QueuePool(driver, { poolSize: 1, maxOverflow: 0 })
    try {
      const c = await pool.acquire()
      await c.query('START TRANSACTION')
      await c.query(`INSERT INTO ${table} VALUES (1)`)
      pool.release(c)
      const again = await pool.acquire()
      expect(again.threadId).toBe(c.threadId)
      const [rows] = await control.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${table}`)
      expect(Number(rows[0].n)).toBe(0)
      pool.release(again)
    } finally {
      await pool.dispose()
    }
  })

  it('replaces a connection killed by the server, found by pre-ping', async () => {
    const pool = new QueuePool(driver, { poolSize: 1, maxOverflow: 0, poolPrePing: true })
    try {
      const c = await pool.acquire()
      const id = c.threadId
      pool.release(c)
      expect(await eventually(async () => pool.checkedIn(), 1)).toBe(1)
      await control.query(`KILL CONNECTION ${Number(id)}`)
      // KILL returns before the server has closed the session: wait until it is gone.
      expect(await eventually(processes, 0)).toBe(0)
      const next = await pool.acquire()
      expect(next.threadId).not.toBe(id)
      const [rows] = await next.query<mysql.RowDataPacket[]>('SELECT 1 AS one')
      expect(rows[0].one).toBe(1)
      expect(pool.stats()).toMatchObject({ invalidated: 1, created: 2, open: 1 })
      pool.release(next)
    } finally {
      await pool.dispose()
    }
  })
})
