import { CompiledQuery } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Engine } from '../../src/engine/types.js'
import { UnsupportedTypeError } from '../../src/migrate/errors.js'
import { reflect } from '../../src/migrate/reflect.js'
import { MYSQL_URL, PG_URL, runMysql, runPg } from '../support/servers.js'
import { migrateEngine } from './project.js'

/** Per database: a column of a type athanor has no builder for, and a table without a primary key. */
const TARGETS = [
  { name: 'postgresql', url: PG_URL, run: runPg, odd: 'timestamp without time zone', oddSql: 'timestamp' },
  { name: 'mysql', url: MYSQL_URL, run: runMysql, odd: 'datetime', oddSql: 'DATETIME' },
  { name: 'sqlite', url: 'sqlite://', run: true, odd: 'POINT', oddSql: 'POINT' },
]

const P = 'mrf'

for (const target of TARGETS) {
  describe.skipIf(!target.run)(`reflect on ${target.name}`, () => {
    let engine: Engine<unknown>
    const exec = (text: string) => engine.begin((c) => c.db.executeQuery(CompiledQuery.raw(text, [])))
    const q = (name: string) => (target.name === 'mysql' ? `\`${name}\`` : `"${name}"`)

    beforeAll(async () => {
      engine = migrateEngine(target.url)
      for (const t of [`${P}_odd`, `${P}_nokey`]) await exec(`DROP TABLE IF EXISTS ${q(t)}`)
      await exec(`CREATE TABLE ${q(`${P}_odd`)} (${q('id')} INTEGER NOT NULL PRIMARY KEY, ${q('at')} ${target.oddSql} NULL, ${q('name')} VARCHAR(10) NOT NULL)`)
      await exec(`CREATE TABLE ${q(`${P}_nokey`)} (${q('x')} INTEGER)`)
    }, 120_000)
    afterAll(async () => {
      for (const t of [`${P}_odd`, `${P}_nokey`]) await exec(`DROP TABLE IF EXISTS ${q(t)}`)
      await engine.dispose()
    })

    it('reports what it cannot express instead of guessing', async () => {
      const r = await reflect(engine, { only: [`${P}_odd`, `${P}_nokey`] })
      expect(r.tables.map((t) => t.name)).toEqual([`${P}_odd`])
      expect(r.table(`${P}_odd`)?.columnList.map((c) => c.name)).toEqual(['id', 'name'])
      expect(r.warnings.find((w) => w.column === 'at')).toMatchObject({ table: `${P}_odd`, type: target.odd })
      expect(r.warnings.some((w) => w.table === `${P}_nokey` && /no primary key/.test(w.message))).toBe(true)
      expect(r.unsupportedColumns.get(`${P}_odd`)).toEqual(new Set(['at']))

      const error = await reflect(engine, { only: [`${P}_odd`], onUnsupported: 'error' }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(UnsupportedTypeError)
      expect(error).toMatchObject({ code: 'MIGRATE_UNSUPPORTED_TYPE', table: `${P}_odd`, column: 'at', type: target.odd })
    })

    it('reads through a connection the caller holds, inside its transaction', async () => {
      const conn = await engine.connect()
      try {
        await conn.begin()
        await conn.db.executeQuery(CompiledQuery.raw(`CREATE TABLE ${q(`${P}_tx`)} (${q('id')} INTEGER NOT NULL PRIMARY KEY)`, []))
        const r = await reflect(conn, { only: (name) => name.startsWith(`${P}_tx`) })
        expect(r.tables.map((t) => t.name)).toEqual([`${P}_tx`])
        await conn.rollback()
      } finally {
        await conn.close()
        await exec(`DROP TABLE IF EXISTS ${q(`${P}_tx`)}`)
      }
    })
  })
}

describe.skipIf(!runPg)('reflect a PostgreSQL schema', () => {
  it('reads the schema it is given', async () => {
    const engine = migrateEngine(PG_URL)
    try {
      await engine.begin(async (c) => {
        await c.db.executeQuery(CompiledQuery.raw(`DROP SCHEMA IF EXISTS ${P}_other CASCADE`, []))
        await c.db.executeQuery(CompiledQuery.raw(`CREATE SCHEMA ${P}_other`, []))
        await c.db.executeQuery(CompiledQuery.raw(`CREATE TABLE ${P}_other.thing (id bigint PRIMARY KEY, label varchar(5) DEFAULT 'x')`, []))
      })
      const r = await reflect(engine, { schema: `${P}_other` })
      expect(r.tables.map((t) => t.name)).toEqual(['thing'])
      expect(r.table('thing')?.column('label')).toMatchObject({ kind: 'varchar', length: 5, nullable: true, serverDefault: "'x'" })
    } finally {
      await engine.begin((c) => c.db.executeQuery(CompiledQuery.raw(`DROP SCHEMA IF EXISTS ${P}_other CASCADE`, [])))
      await engine.dispose()
    }
  })
})
