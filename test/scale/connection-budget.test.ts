/**
 * The connection budget: at the first connection the engine reads the
 * server's max_connections, its reserved slots and the connections in use,
 * and warns once (logger and the pool's `budget` event) when the pool could
 * take more than its share of what is free; `onExceed: 'error'` refuses to start.
 */
import { sql } from 'kysely'
import pg from 'pg'
import mysql from 'mysql2/promise'
import { describe, expect, it } from 'vitest'
import { ConnectionBudgetError, createEngine, EngineOptionError } from '../../src/engine/index.js'
import type { DatabaseEngine } from '../../src/engine/index.js'
import { PoolConnectError } from '../../src/pool/index.js'
import type { ConnectionBudgetReport } from '../../src/pool/index.js'
import { MYSQL_URL, mysqlConfig, PG_URL, pgConfig, runMysql, runPg } from '../support/servers.js'

function recorder() {
  const warnings: string[] = []
  const logger = { info: () => {}, warn: (m: unknown) => void warnings.push(String(m)), error: () => {} }
  return { warnings, logger }
}

const servers = [
  {
    name: 'PostgreSQL',
    run: runPg,
    url: PG_URL,
    async limits(): Promise<{ max: number; reserved: number }> {
      const client = new pg.Client(pgConfig)
      await client.connect()
      try {
        const { rows } = await client.query<{ max: string; reserved: string }>(
          "SELECT current_setting('max_connections') AS max, current_setting('superuser_reserved_connections') AS reserved",
        )
        return { max: Number(rows[0].max), reserved: Number(rows[0].reserved) }
      } finally {
        await client.end()
      }
    },
  },
  {
    name: 'MariaDB',
    run: runMysql,
    url: MYSQL_URL,
    async limits(): Promise<{ max: number; reserved: number }> {
      const c = await mysql.createConnection(mysqlConfig)
      try {
        const [rows] = await c.query('SELECT @@max_connections AS max')
        return { max: Number((rows as { max: number }[])[0].max), reserved: 0 }
      } finally {
        await c.end()
      }
    },
  },
]

for (const server of servers) {
  describe.skipIf(!server.run)(`connection budget on ${server.name}`, () => {
    it('warns once, through the logger and the budget event, saying how many processes fit', async () => {
      const { max, reserved } = await server.limits()
      const { warnings, logger } = recorder()
      // A pool as large as the server: over any share of what is free.
      const engine = createEngine(server.url, { poolSize: max, maxOverflow: 0, logger }) as DatabaseEngine<unknown>
      const events: ConnectionBudgetReport[] = []
      engine.pool.on('budget', (r) => events.push(r))
      try {
        // Three connections at once, then more: still one warning.
        await Promise.all([1, 2, 3].map(() => engine.begin((c) => sql`SELECT 1`.execute(c.db))))
        await sql`SELECT 1`.execute(engine.db)
        expect(warnings).toHaveLength(1)
        expect(events).toHaveLength(1)
        const report = engine.connectionBudget!
        expect(events[0]).toEqual(report)
        expect(report.maxConnections).toBe(max)
        expect(report.reserved).toBeGreaterThanOrEqual(reserved)
        expect(report.free).toBe(Math.max(0, max - report.reserved - report.inUse))
        expect(report.poolMax).toBe(max)
        expect(report.exceeded).toBe(true)
        expect(report.processesThatFit).toBe(Math.floor(report.free / max))
        expect(warnings[0]).toContain(`${report.processesThatFit} process`)
        expect(warnings[0]).toContain(`max_connections ${max}`)
        expect(warnings[0]).not.toMatch(/password|secret/i)
      } finally {
        await engine.dispose()
      }
    })

    it('stays quiet for a pool within its share, and reports the figures', async () => {
      const { warnings, logger } = recorder()
      const engine = createEngine(server.url, { poolSize: 1, maxOverflow: 0, logger, connectionBudget: { share: 1 } }) as DatabaseEngine<unknown>
      try {
        expect(engine.connectionBudget).toBeUndefined()
        await sql`SELECT 1`.execute(engine.db)
        const report = engine.connectionBudget!
        expect(report.poolMax).toBe(1)
        expect(report.exceeded).toBe(report.free < 1)
        expect(report.processesThatFit).toBe(report.free)
        if (!report.exceeded) expect(warnings).toEqual([])
      } finally {
        await engine.dispose()
      }
    })

    it("onExceed: 'error' refuses to start with a typed error, at every try, leaving no connection open", async () => {
      const { max } = await server.limits()
      const { warnings, logger } = recorder()
      const engine = createEngine(server.url, {
        poolSize: max,
        maxOverflow: 0,
        logger,
        poolTimeout: 5_000,
        connectionBudget: { onExceed: 'error', share: 0.5 },
      }) as DatabaseEngine<unknown>
      try {
        for (let i = 0; i < 2; i++) {
          const error = await engine.connect().then(
            () => undefined,
            (e: unknown) => e,
          )
          expect(error).toBeInstanceOf(PoolConnectError)
          const cause = (error as PoolConnectError).cause
          expect(cause).toBeInstanceOf(ConnectionBudgetError)
          expect((cause as ConnectionBudgetError).code).toBe('CONNECTION_BUDGET_EXCEEDED')
          expect((cause as ConnectionBudgetError).report.exceeded).toBe(true)
          expect((cause as Error).message).toMatch(/process(es)? with a pool of this size fit/)
        }
        expect(engine.pool.stats().open).toBe(0)
        expect(warnings).toEqual([])
      } finally {
        await engine.dispose()
      }
    })

    it('connectionBudget: false skips the check', async () => {
      const { warnings, logger } = recorder()
      const engine = createEngine(server.url, { poolSize: 100_000, logger, connectionBudget: false }) as DatabaseEngine<unknown>
      try {
        await sql`SELECT 1`.execute(engine.db)
        expect(engine.connectionBudget).toBeUndefined()
        expect(warnings).toEqual([])
      } finally {
        await engine.dispose()
      }
    })
  })
}

describe('connection budget options', () => {
  it('refuses a bad share or onExceed with a typed error', () => {
    expect(() => createEngine('sqlite://', { connectionBudget: { share: 0 } })).toThrow(EngineOptionError)
    expect(() => createEngine('sqlite://', { connectionBudget: { share: 1.5 } })).toThrow(/share/)
    expect(() => createEngine('sqlite://', { connectionBudget: { onExceed: 'explode' as 'warn' } })).toThrow(/onExceed/)
    expect(() => createEngine('sqlite://', { connectionBudget: { shares: 1 } as never })).toThrow(/unknown key "shares"/)
  })

  it('has nothing to check on an in-process database', async () => {
    const engine = createEngine('sqlite://') as DatabaseEngine<unknown>
    await sql`SELECT 1`.execute(engine.db)
    expect(engine.connectionBudget).toBeUndefined()
    await engine.dispose()
  })
})
