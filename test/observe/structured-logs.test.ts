import { sql } from 'kysely'
import { pino } from 'pino'
import type { Logger as PinoLogger } from 'pino'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createEngine, EngineOptionError, IntegrityError } from '../../src/index.js'
import type { Engine, EngineOptions, LogRecord } from '../../src/index.js'
import { scoped } from '../support/reliability.js'
import { PG_URL, runPg } from '../support/servers.js'

/** A real pino logger writing its JSON lines into an array. */
function pinoCapture(): { logger: PinoLogger; records: (LogRecord & { level: number; msg: string })[] } {
  const records: (LogRecord & { level: number; msg: string })[] = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => void records.push(JSON.parse(line)) })
  return { logger, records }
}

const table = scoped('observe_logs')

const backends = [
  { name: 'sqlite://', url: 'sqlite://', pool: 'sqlite::memory:', sqlState: undefined },
  ...(runPg ? [{ name: 'PostgreSQL', url: PG_URL, pool: 'logs-test', sqlState: '23505' }] : []),
]

for (const backend of backends) {
  describe(`structured logs on ${backend.name}`, () => {
    const engines: Engine<Record<string, never>>[] = []
    const open = (options: EngineOptions) => {
      const engine = createEngine<Record<string, never>>(backend.url, { ...options, ...(backend.url === PG_URL ? { name: 'logs-test' } : {}) })
      engines.push(engine)
      return engine
    }
    afterEach(async () => {
      for (const e of engines.splice(0)) await e.dispose()
    })

    it('gives a pino logger objects: event, sql, duration, pool, and the error code of a failure', async () => {
      const { logger, records } = pinoCapture()
      const engine = open({ echo: true, echoPool: true, logger })
      await sql`DROP TABLE IF EXISTS ${sql.table(table)}`.execute(engine.db)
      await sql`CREATE TABLE ${sql.table(table)} (id INTEGER PRIMARY KEY)`.execute(engine.db)
      await sql`INSERT INTO ${sql.table(table)} (id) VALUES (${1})`.execute(engine.db)
      const failed = await sql`INSERT INTO ${sql.table(table)} (id) VALUES (${1})`.execute(engine.db).catch((e: unknown) => e)
      expect(failed).toBeInstanceOf(IntegrityError)
      await sql`DROP TABLE ${sql.table(table)}`.execute(engine.db)

      const connect = records.find((r) => r.event === 'connect')!
      expect(connect.pool).toBe(backend.pool)
      expect(connect.openMs).toBeGreaterThanOrEqual(0)
      expect(connect.msg).toMatch(/^athanor\.pool \(.+\): connection opened; /)

      const statements = records.filter((r) => r.event === 'statement')
      expect(statements).toHaveLength(5)
      const ok = statements[2]!
      expect(ok.level).toBe(30) // info
      expect(ok.sql).toMatch(/^INSERT INTO/)
      expect(ok.pool).toBe(backend.pool)
      expect(ok.durationMs).toBeGreaterThanOrEqual(0)
      expect(ok.msg).toBe(`athanor.engine: ${ok.sql}`)
      expect(ok.parameters).toBeUndefined()
      expect(ok.errorCode).toBeUndefined()

      const bad = statements[3]!
      expect(bad.level).toBe(40) // warn
      expect(bad.errorCode).toBe('DB_INTEGRITY')
      expect(bad.sqlState).toBe(backend.sqlState)
      expect(bad.msg).toMatch(/^athanor\.engine: INSERT INTO .* failed: /)
    })

    it("shows parameters only with echo: 'debug', and never with hideParameters", async () => {
      const run = async (options: EngineOptions) => {
        const { logger, records } = pinoCapture()
        const engine = open({ ...options, logger })
        await sql`SELECT ${'secret-value'} AS v`.execute(engine.db)
        return JSON.stringify(records)
      }
      expect(await run({ echo: true })).not.toContain('secret-value')
      const debug = await run({ echo: 'debug' })
      expect(debug).toContain('"parameters":"[\\"secret-value\\"]"')
      expect(await run({ echo: 'debug', hideParameters: true })).not.toContain('secret-value')
    })
  })
}

describe('log formats', () => {
  const engines: Engine<Record<string, never>>[] = []
  afterEach(async () => {
    vi.restoreAllMocks()
    for (const e of engines.splice(0)) await e.dispose()
  })
  const open = (options: EngineOptions) => {
    const engine = createEngine<Record<string, never>>('sqlite://', options)
    engines.push(engine)
    return engine
  }

  it('echo to the console stays one human-readable string per line', async () => {
    const lines: unknown[][] = []
    vi.spyOn(console, 'info').mockImplementation((...args: unknown[]) => void lines.push(args))
    const engine = open({ echo: true, echoPool: true })
    await sql`SELECT 1 AS one`.execute(engine.db)
    expect(lines.length).toBeGreaterThan(1)
    expect(lines.every((l) => l.length === 1 && typeof l[0] === 'string')).toBe(true)
    expect(lines.map((l) => l[0])).toContain('athanor.engine: SELECT 1 AS one')
  })

  it("a logger without child() gets strings; logFormat 'object' gives it records, 'text' gives pino strings", async () => {
    const plain: unknown[][] = []
    const logger = { info: (...a: unknown[]) => void plain.push(a), warn() {}, error() {} }
    await sql`SELECT 1 AS one`.execute(open({ echo: true, logger }).db)
    expect(plain).toEqual([['athanor.engine: SELECT 1 AS one']])

    plain.length = 0
    await sql`SELECT 2 AS two`.execute(open({ echo: true, logger, logFormat: 'object' }).db)
    expect(plain).toHaveLength(1)
    expect(plain[0]![0]).toMatchObject({ event: 'statement', sql: 'SELECT 2 AS two', pool: 'sqlite::memory:', rows: 1 })
    expect(plain[0]![1]).toBe('athanor.engine: SELECT 2 AS two')

    const { logger: p, records } = pinoCapture()
    await sql`SELECT 3 AS three`.execute(open({ echo: true, logger: p, logFormat: 'text' }).db)
    expect(records.map((r) => [r.msg, r.event])).toEqual([['athanor.engine: SELECT 3 AS three', undefined]])
  })

  it('refuses an unknown logFormat', () => {
    expect(() => createEngine('sqlite://', { logFormat: 'json' as never })).toThrow(EngineOptionError)
  })

  it('a logger that throws fails the statement, not the pool', async () => {
    const boom = new Error('logger down')
    const engine = open({ echo: true, logFormat: 'object', logger: { info: () => { throw boom }, warn() {}, error() {} } })
    await expect(sql`SELECT 1`.execute(engine.db)).rejects.toBe(boom)
    expect(engine.pool.checkedOut()).toBe(0)
  })
})
