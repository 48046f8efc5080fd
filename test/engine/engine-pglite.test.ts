import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest'
import { createEngine, EngineOptionError } from '../../src/engine/index.js'
import { PGLITE_START, SLOW_SETUP_MS } from '../support/slow-setup.js'
import { defineEngineSuite } from './engine-suite.js'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine_pglite_'))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

// PGlite takes seconds to start here, so the shared suite runs once, in memory.
describe('engine on PGlite, in memory', () => {
  defineEngineSuite({
    prefix: 'engine_pglite',
    url: 'pglite://',
    options: PGLITE_START,
    multiConnection: false,
    cheapEngines: false,
    createTable: (table) =>
      `CREATE TABLE ${table} (id serial PRIMARY KEY, name text NOT NULL UNIQUE, note text DEFAULT 'none', n integer NOT NULL)`,
    readIsolation: async (db) => {
      const { rows } = await sql<{ transaction_isolation: string }>`SHOW transaction_isolation`.execute(db)
      return rows[0].transaction_isolation.toUpperCase()
    },
    levels: ['SERIALIZABLE', 'REPEATABLE READ'],
  })
})

describe('PGlite specifics', () => {
  it('keeps a directory database across engines, with the engine-wide isolation level', async () => {
    const url = `pglite:///${path.join(dir, 'data')}`
    const first = createEngine(url, { isolationLevel: 'SERIALIZABLE', ...PGLITE_START })
    await first.begin(async (conn) => {
      await sql`CREATE TABLE engine_pglite_persist (v text)`.execute(conn.db)
      await sql`INSERT INTO engine_pglite_persist VALUES ('kept')`.execute(conn.db)
      const { rows } = await sql<{ transaction_isolation: string }>`SHOW transaction_isolation`.execute(conn.db)
      expect(rows[0].transaction_isolation).toBe('serializable')
    })
    await first.dispose()
    const second = createEngine<{ engine_pglite_persist: { v: string } }>(url, PGLITE_START)
    try {
      const kept = await second.db.selectFrom('engine_pglite_persist').select('v').execute()
      expectTypeOf(kept).toEqualTypeOf<{ v: string }[]>()
      expect(kept).toEqual([{ v: 'kept' }])
      expect((await second.db.introspection.getTables()).map((t) => t.name)).toContain('engine_pglite_persist')
      const ids = await second.insertMany<{ v: string }>('engine_pglite_persist', [{ v: 'a' }, { v: 'b' }], { returning: ['v'] })
      expect(ids).toEqual([{ v: 'a' }, { v: 'b' }])
    } finally {
      await second.dispose()
    }
    // Two PGlite starts, one after the other.
  }, 2 * SLOW_SETUP_MS)

  it('uses the single-connection pool, and refuses what PGlite cannot do', () => {
    expect(() => createEngine('pglite://', { poolClass: 'queue' })).toThrow(EngineOptionError)
    expect(() => createEngine('pglite://', { statementTimeout: 500 })).toThrow(/statementTimeout is not supported on pglite/)
    const engine = createEngine('pglite://')
    expect(engine.pool.options.poolSize).toBe(1)
    expect(engine.dialect).toBe('pglite')
    void engine.dispose()
  })
})
