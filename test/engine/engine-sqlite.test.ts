import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { sql, type Generated } from 'kysely'
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest'
import {
  createEngine,
  DatabaseError,
  DriverNotInstalledError,
  EngineOptionError,
} from '../../src/engine/index.js'
import { assertInstalled, importOptional } from '../../src/engine/dialects/optional-driver.js'
import { PoolConnectError } from '../../src/pool/index.js'
import { defineEngineSuite, type SuiteConfig } from './engine-suite.js'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine_sqlite_'))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const common: Omit<SuiteConfig, 'prefix' | 'url' | 'multiConnection'> = {
  cheapEngines: true,
  createTable: (table) =>
    `CREATE TABLE IF NOT EXISTS ${table} (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, note TEXT DEFAULT 'none', n INTEGER NOT NULL)`,
  readIsolation: async (db) => {
    const { rows } = await sql<{ read_uncommitted: number }>`PRAGMA read_uncommitted`.execute(db)
    return rows[0].read_uncommitted === 1 ? 'READ UNCOMMITTED' : 'SERIALIZABLE'
  },
  levels: ['READ UNCOMMITTED', 'SERIALIZABLE'],
}

describe('engine on SQLite (better-sqlite3), in memory', () => {
  defineEngineSuite({ ...common, prefix: 'engine_sqlite_mem', url: 'sqlite://', multiConnection: false })
})

describe('engine on SQLite (better-sqlite3), file', () => {
  defineEngineSuite({ ...common, prefix: 'engine_sqlite_file', url: `sqlite:///${path.join(dir, 'suite.db')}`, multiConnection: true })
})

describe('SQLite specifics', () => {
  interface DB {
    engine_sqlite_typed: { id: Generated<number>; label: string }
  }

  it('flows the DB interface into Kysely results', async () => {
    const engine = createEngine<DB>('sqlite://')
    try {
      await sql`CREATE TABLE engine_sqlite_typed (id INTEGER PRIMARY KEY, label TEXT NOT NULL)`.execute(engine.db)
      const inserted = await engine.db.insertInto('engine_sqlite_typed').values({ label: 'typed' }).returning(['id', 'label']).executeTakeFirstOrThrow()
      expectTypeOf(inserted).toEqualTypeOf<{ id: number; label: string }>()
      expect(inserted).toEqual({ id: 1, label: 'typed' })
    } finally {
      await engine.dispose()
    }
  })

  it('keeps a file database across engines', async () => {
    const url = `sqlite:///${path.join(dir, 'persist.db')}`
    const first = createEngine(url)
    await sql`CREATE TABLE engine_sqlite_persist (v TEXT)`.execute(first.db)
    await sql`INSERT INTO engine_sqlite_persist VALUES ('kept')`.execute(first.db)
    await first.dispose()
    const second = createEngine(url)
    try {
      expect((await sql<{ v: string }>`SELECT v FROM engine_sqlite_persist`.execute(second.db)).rows).toEqual([{ v: 'kept' }])
    } finally {
      await second.dispose()
    }
  })

  it('maps mode=ro (read-only) and mode=rw (must exist) from the URL', async () => {
    const file = path.join(dir, 'modes.db')
    const missing = createEngine(`sqlite:///${file}?mode=rw`, { poolTimeout: 1000 })
    await expect(sql`SELECT 1`.execute(missing.db)).rejects.toBeInstanceOf(PoolConnectError)
    await missing.dispose()
    const writer = createEngine(`sqlite:///${file}?timeout=100`)
    await sql`CREATE TABLE engine_sqlite_modes (v TEXT)`.execute(writer.db)
    await writer.dispose()
    const reader = createEngine(`sqlite:///${file}?mode=ro`)
    try {
      expect((await sql`SELECT COUNT(*) AS c FROM engine_sqlite_modes`.execute(reader.db)).rows).toEqual([{ c: 0 }])
      const error = await sql`INSERT INTO engine_sqlite_modes VALUES ('x')`.execute(reader.db).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(DatabaseError)
      expect((error as DatabaseError).driverCode).toBe('SQLITE_READONLY')
    } finally {
      await reader.dispose()
    }
  })

  it('accepts the maxParameters it announces, and the build refuses one more', async () => {
    const engine = createEngine('sqlite://')
    try {
      const max = engine.capabilities.maxParameters
      const statement = (n: number) => `SELECT COUNT(*) AS s FROM (VALUES ${Array.from({ length: n }, () => '(?)').join(', ')})`
      const ok = await engine.db.executeQuery({ ...sql.raw('').compile(engine.db), sql: statement(max), parameters: Array(max).fill(1) })
      expect(ok.rows).toEqual([{ s: max }])
      const tooMany = engine.db.executeQuery({ ...sql.raw('').compile(engine.db), sql: statement(max + 1), parameters: Array(max + 1).fill(1) })
      await expect(tooMany).rejects.toThrow(/too many SQL variables/)
    } finally {
      await engine.dispose()
    }
  })

  it('uses the single-connection pool by default, and refuses a queue pool for :memory:', async () => {
    const engine = createEngine('sqlite://')
    expect(engine.pool.options.poolSize).toBe(1)
    await engine.dispose()
    expect(() => createEngine('sqlite://', { poolClass: 'queue' })).toThrow(EngineOptionError)
    expect(() => createEngine('sqlite://', { poolClass: 'null' })).toThrow(/in-memory/)
    const file = createEngine(`sqlite:///${path.join(dir, 'queue.db')}`, { poolClass: 'queue', poolSize: 2 })
    await sql`SELECT 1`.execute(file.db)
    await file.dispose()
  })

  it('refuses statementTimeout and isolation levels SQLite lacks, with typed errors', () => {
    expect(() => createEngine('sqlite://', { statementTimeout: 1000 })).toThrow(EngineOptionError)
    expect(() => createEngine('sqlite://', { isolationLevel: 'READ COMMITTED' })).toThrow(/sqlite does not support isolation level 'READ COMMITTED'/)
  })

  it('names the package to install when an optional driver is missing', async () => {
    expect(() => assertInstalled('athanor-no-such-driver', 'sqlite')).toThrow(DriverNotInstalledError)
    expect(() => assertInstalled('athanor-no-such-driver', 'sqlite')).toThrow(/npm install athanor-no-such-driver/)
    const error = await importOptional('athanor-no-such-driver', 'pglite').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DriverNotInstalledError)
    expect((error as DriverNotInstalledError).packageName).toBe('athanor-no-such-driver')
  })
})
