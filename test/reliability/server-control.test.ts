/**
 * The server-side fault helpers: each kills only what it is told to, and each
 * idle limit really makes the server drop an idle session.
 */
import mysql from 'mysql2/promise'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import {
  createMysqlUser,
  dropMysqlUser,
  killMysql,
  mysqlConnectionIds,
  mysqlIdleLimitSql,
  pgBackends,
  pgIdleLimitOptions,
  privatePostgresAvailable,
  startPrivatePostgres,
  terminatePg,
} from '../support/server-control.js'
import { scoped } from '../support/reliability.js'
import { SLOW_SETUP_MS } from '../support/slow-setup.js'
import { mysqlConfig, pgConfig, REQUIRE_SERVERS, runMysql, runPg } from '../support/servers.js'

const SERVER_CONTROL_VICTIM = scoped('server_control_victim')
const SERVER_CONTROL_BYSTANDER = scoped('server_control_bystander')
const SERVER_CONTROL_LIMIT = scoped('server_control_limit')
const SERVER_CONTROL_IDLE = scoped('server_control_idle')
const SERVER_CONTROL_U = scoped('server_control_u')

async function pgClient(app: string, extra: pg.ClientConfig = {}): Promise<{ c: pg.Client; errors: Error[] }> {
  const c = new pg.Client({ ...pgConfig, application_name: app, ...extra })
  const errors: Error[] = []
  c.on('error', (e) => errors.push(e))
  await c.connect()
  return { c, errors }
}

describe.skipIf(!runPg)('server control: PostgreSQL', () => {
  it('terminatePg kills the sessions of one application_name and no other', async () => {
    const victims = await Promise.all([pgClient(SERVER_CONTROL_VICTIM), pgClient(SERVER_CONTROL_VICTIM)])
    const bystander = await pgClient(SERVER_CONTROL_BYSTANDER)
    expect(await pgBackends(SERVER_CONTROL_VICTIM)).toBe(2)
    // waitMs: resolves once both have exited, so their next statement fails for sure.
    expect(await terminatePg(SERVER_CONTROL_VICTIM, { waitMs: 10_000 })).toBe(2)
    for (const v of victims) await expect(v.c.query('SELECT 1')).rejects.toThrow()
    expect((await bystander.c.query('SELECT 1 AS one')).rows[0].one).toBe(1)
    expect(await pgBackends(SERVER_CONTROL_VICTIM)).toBe(0)
    await bystander.c.end()
  })

  it('terminatePg with a limit kills at most that many', async () => {
    const clients = await Promise.all([1, 2, 3].map(() => pgClient(SERVER_CONTROL_LIMIT)))
    expect(await terminatePg(SERVER_CONTROL_LIMIT, { limit: 1 })).toBe(1)
    await expect.poll(() => pgBackends(SERVER_CONTROL_LIMIT)).toBe(2)
    for (const { c } of clients) await c.end().catch(() => {})
  })

  it('pgIdleLimitOptions makes the server end an idle session', async () => {
    const { c, errors } = await pgClient(SERVER_CONTROL_IDLE, { options: pgIdleLimitOptions(200) })
    expect((await c.query<{ t: string }>('SELECT current_setting($1) AS t', ['idle_session_timeout'])).rows[0].t).toBe('200ms')
    await expect.poll(() => errors.length).toBeGreaterThan(0)
    expect(String((errors[0] as { code?: string }).code ?? errors[0].message)).toMatch(/57P05|terminat/)
    await c.end().catch(() => {})
  })

  it.skipIf(!REQUIRE_SERVERS && !privatePostgresAvailable)('a private PostgreSQL starts, restarts (sessions see 57P01) and is removed', async () => {
    const t0 = performance.now()
    const server = await startPrivatePostgres()
    const started = performance.now() - t0
    try {
      const { c, errors } = await pgClient('private', server.config)
      expect((await c.query<{ v: string }>('SELECT current_setting($1) AS v', ['server_version'])).rows[0].v).toMatch(/^15\./)
      const t1 = performance.now()
      await server.restart({ downMs: 200 })
      const restarted = performance.now() - t1
      await expect(c.query('SELECT 1')).rejects.toThrow()
      expect(errors.map((e) => (e as { code?: string }).code)).toContain('57P01')
      const d = await pgClient('private', server.config)
      expect((await d.c.query('SELECT 1 AS one')).rows[0].one).toBe(1)
      await d.c.end()
      console.log(`RELIABILITY: private PostgreSQL start ${started.toFixed(0)} ms, restart ${restarted.toFixed(0)} ms`)
      // The brief: a restart cycle is a few seconds at most.
      expect(restarted).toBeLessThan(10_000)
    } finally {
      await server.remove()
    }
    await expect(pgClient('private', server.config)).rejects.toThrow(/ECONNREFUSED/)
  }, SLOW_SETUP_MS)
})

describe.skipIf(!runMysql)('server control: MariaDB', () => {
  it('a scenario user is told apart; killMysql kills its connections and no other; idle limit drops it', async () => {
    const url = await createMysqlUser(SERVER_CONTROL_U)
    try {
      const u = new URL(url.replace(/^mysql:/, 'http:'))
      const mine = await mysql.createConnection({ ...mysqlConfig, user: u.username })
      const mineErrors: Error[] = []
      mine.on('error', (e) => mineErrors.push(e))
      const other = await mysql.createConnection(mysqlConfig)
      other.on('error', () => {})
      const ids = await mysqlConnectionIds(SERVER_CONTROL_U)
      expect(ids).toEqual([mine.threadId])
      expect(await killMysql(ids)).toBe(1)
      await expect(mine.query('SELECT 1')).rejects.toThrow()
      const [rows] = await other.query<mysql.RowDataPacket[]>('SELECT 1 AS one')
      expect(rows[0].one).toBe(1)
      await other.end()

      const idle = await mysql.createConnection({ ...mysqlConfig, user: u.username })
      const idleErrors: Error[] = []
      idle.on('error', (e) => idleErrors.push(e))
      await idle.query(mysqlIdleLimitSql(1))
      await expect.poll(() => idleErrors.length, { interval: 50 }).toBeGreaterThan(0)
      expect((idleErrors[0] as { code?: string }).code).toMatch(/^(PROTOCOL_CONNECTION_LOST|ECONNRESET)$/)
      expect(await mysqlConnectionIds(SERVER_CONTROL_U)).toEqual([])
    } finally {
      await dropMysqlUser(SERVER_CONTROL_U)
    }
  })
})
