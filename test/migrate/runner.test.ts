import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Engine } from '../../src/engine/types.js'
import { sqlRunner } from '../../src/migrate/connection.js'
import { IncompleteMigrationError, MigrationFailedError, MigrationLockError, RevisionGraphError } from '../../src/migrate/errors.js'
import type { Migration } from '../../src/migrate/migration.js'
import { reflect } from '../../src/migrate/reflect.js'
import { MigrationRunner } from '../../src/migrate/runner.js'
import { migrationSupport } from '../../src/migrate/support-registry.js'
import { MYSQL_URL, PG_URL, runMysql, runPg } from '../support/servers.js'
import { REPO, migrateEngine } from './project.js'

const run = promisify(execFile)
const sqliteDir = mkdtempSync(path.join(os.tmpdir(), 'athanor-runner-'))
afterAll(() => rmSync(sqliteDir, { recursive: true, force: true }))

/** Server targets plus SQLite in a file (two processes need a file, not memory). */
const TARGETS = [
  { name: 'postgresql', url: PG_URL, run: runPg },
  { name: 'mysql', url: MYSQL_URL, run: runMysql },
  { name: 'sqlite', url: `sqlite:///${path.join(sqliteDir, 'runner.db')}`, run: true },
]

const P = 'mrn'

async function dropTables(engine: Engine<unknown>, names: readonly string[]): Promise<void> {
  for (const n of names) await engine.begin((c) => c.db.schema.dropTable(n).ifExists().execute())
}

/** Two migrations; the second creates a table, writes a row, then fails on a missing table. */
function failing(): Migration[] {
  return [
    {
      revision: 'fail0001',
      parent: null,
      message: 'create a',
      up: async ({ db }) => void (await db.schema.createTable(`${P}_a`).addColumn('id', 'integer', (c) => c.primaryKey()).execute()),
      down: async ({ db }) => void (await db.schema.dropTable(`${P}_a`).execute()),
    },
    {
      revision: 'fail0002',
      parent: 'fail0001',
      message: 'create b, then fail',
      up: async ({ db, sql }) => {
        await db.schema.createTable(`${P}_b`).addColumn('id', 'integer', (c) => c.primaryKey()).execute()
        await db.insertInto(`${P}_a`).values({ id: 1 }).execute()
        await sql`SELECT * FROM ${sql.id(`${P}_missing`)}`.execute(db)
      },
      down: async ({ db }) => void (await db.schema.dropTable(`${P}_b`).execute()),
    },
  ]
}

for (const target of TARGETS) {
  describe.skipIf(!target.run)(`migration runner on ${target.name}`, () => {
    let engine: Engine<unknown>
    beforeAll(async () => {
      engine = migrateEngine(target.url)
      await dropTables(engine, [`${P}_b`, `${P}_a`, `${P}_fail_version`, `${P}_lock_version`, `${P}_deploy`, `${P}_deploy_version`])
    }, 120_000)
    afterAll(async () => {
      await dropTables(engine, [`${P}_b`, `${P}_a`, `${P}_fail_version`, `${P}_lock_version`, `${P}_deploy`, `${P}_deploy_version`])
      await engine.dispose()
    })

    it('a migration failing halfway: rolled back whole where DDL is transactional, reported statement by statement on MySQL', async () => {
      const runner = new MigrationRunner({ engine, migrations: failing(), versionTable: `${P}_fail_version` })
      const error = await runner.upgrade().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(MigrationFailedError)
      const failed = error as MigrationFailedError
      expect(failed.revision).toBe('fail0002')
      const tables = (await reflect(engine, { only: [`${P}_a`, `${P}_b`] })).tables.map((t) => t.name).sort()
      if (migrationSupport(engine.dialect).transactionalDdl) {
        expect(failed.message).toContain('rolled back, nothing of it remains')
        expect(failed.applied).toEqual([])
        expect(tables).toEqual([`${P}_a`])
        expect(await engine.db.selectFrom(`${P}_a` as never).selectAll().execute()).toEqual([])
        expect(await runner.current()).toEqual({ revision: 'fail0001', state: 'applied' })
      } else {
        expect(failed.message).toContain('MySQL/MariaDB commit DDL implicitly')
        expect(failed.message).toContain('2 statement(s) ran and stay applied')
        expect(failed.message).toContain(`create table \`${P}_b\``)
        expect(failed.message).toContain('athanor migrate stamp fail0001')
        expect(failed.applied).toHaveLength(2)
        expect(tables).toEqual([`${P}_a`, `${P}_b`])
        expect(await runner.current()).toEqual({ revision: 'fail0002', state: 'upgrading' })
        // Until someone says what happened, nothing else runs.
        await expect(runner.upgrade()).rejects.toBeInstanceOf(IncompleteMigrationError)
        await dropTables(engine, [`${P}_b`])
        await engine.db.deleteFrom(`${P}_a` as never).execute()
        expect(await runner.stamp('fail0001')).toBe('fail0001')
        expect(await runner.current()).toEqual({ revision: 'fail0001', state: 'applied' })
      }
      await runner.downgrade('base')
      expect((await reflect(engine, { only: [`${P}_a`, `${P}_b`] })).tables).toEqual([])
    })

    it('waits for the migration lock and fails with MigrationLockError after lockTimeout', async () => {
      // Another deploy: its own engine (SQLite's file engine has a single connection).
      const other = migrateEngine(target.url)
      const holder = await other.connect()
      const support = migrationSupport(engine.dialect)
      const name = `${P}_lock_version`
      expect(await support.lock(sqlRunner(holder), name, 1000)).toBe(true)
      try {
        const runner = new MigrationRunner({ engine, migrations: failing().slice(0, 1), versionTable: name, lockTimeout: 300 })
        const error = await runner.upgrade().catch((e: unknown) => e)
        expect(error).toBeInstanceOf(MigrationLockError)
        expect((error as MigrationLockError).code).toBe('MIGRATE_LOCK_TIMEOUT')
        expect((error as Error).message).toContain('another process holds the migration lock')
      } finally {
        await support.unlock(sqlRunner(holder), name)
        await holder.close()
        await other.dispose()
      }
      const runner = new MigrationRunner({ engine, migrations: failing().slice(0, 1), versionTable: name, lockTimeout: 5000 })
      expect(await runner.upgrade()).toEqual(['fail0001'])
      await runner.downgrade('base')
    })

    it('offline mode prints the SQL of an upgrade and a downgrade and touches nothing', async () => {
      const versionTable = `${P}_offline_version`
      const runner = new MigrationRunner({ engine, migrations: failing().slice(0, 1), versionTable })
      const up = await runner.sql({ to: 'head' })
      const q = (name: string) => (target.name === 'mysql' ? `\`${name}\`` : `"${name}"`)
      expect(up).toContain(`create table if not exists ${q(versionTable)}`)
      expect(up).toContain(`-- upgrade fail0001: create a`)
      expect(up).toContain(`create table ${q(`${P}_a`)} (${q('id')} integer primary key);`)
      expect(up).toContain(`insert into ${q(versionTable)} (${q('version_num')}, ${q('state')}) values ('fail0001', 'applied');`)
      expect(up.includes('BEGIN;')).toBe(migrationSupport(engine.dialect).transactionalDdl)
      const down = await runner.sql({ from: 'head', to: 'base', direction: 'down' })
      expect(down).toContain(`drop table ${q(`${P}_a`)};`)
      expect(down).toContain(`delete from ${q(versionTable)};`)
      expect((await reflect(engine, { only: [versionTable, `${P}_a`] })).tables).toEqual([])
    })

    it('two processes upgrading at once: one migrates, the other waits and finds nothing to do', async () => {
      const child = path.join(REPO, 'test/migrate/upgrade-child.ts')
      const args = ['--import', 'tsx', child, target.url, `${P}_deploy_version`, `${P}_deploy`]
      const results = await Promise.all([0, 1].map(() => run(process.execPath, args, { cwd: REPO, timeout: 120_000 })))
      const outputs = results.map((r) => JSON.parse(r.stdout) as { applied?: string[]; error?: string })
      expect(outputs.map((o) => o.error)).toEqual([undefined, undefined])
      expect(outputs.map((o) => o.applied).sort()).toEqual([[], ['lock0001']])
      expect(await engine.db.selectFrom(`${P}_deploy` as never).selectAll().execute()).toHaveLength(1)
      const version = new MigrationRunner({ engine, migrations: [], versionTable: `${P}_deploy_version` })
      expect(await version.current()).toEqual({ revision: 'lock0001', state: 'applied' })
    }, 180_000)
  })
}

describe('revision graph', () => {
  const m = (revision: string, parent: string | null): Migration => ({ revision, parent, up: async () => {}, down: async () => {}, file: `/m/${revision}.ts` })

  it('says how to merge two heads', async () => {
    const runner = new MigrationRunner({ engine: migrateEngine('sqlite://'), migrations: [m('a', null), m('b', 'a'), m('c', 'a')] })
    const error = await runner.graph().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RevisionGraphError)
    expect((error as Error).message).toMatch(/two heads: revisions "b" \(b\.ts\) and "c" \(c\.ts\) both follow "a".*set `parent` in c\.ts to 'b'/)
    await runner.options.engine.dispose()
  })

  it('resolves head, base, prefixes and relative steps', async () => {
    const runner = new MigrationRunner({ engine: migrateEngine('sqlite://'), migrations: [m('c3', 'b2'), m('a1', null), m('b2', 'a1')] })
    const graph = await runner.graph()
    expect(graph.ordered.map((x) => x.revision)).toEqual(['a1', 'b2', 'c3'])
    expect(graph.resolve('head')).toBe('c3')
    expect(graph.resolve('base')).toBe(null)
    expect(graph.resolve('b')).toBe('b2')
    expect(graph.resolve('-2', 'c3')).toBe('a1')
    expect(graph.resolve('+1', null)).toBe('a1')
    expect(() => graph.resolve('zz')).toThrow(/no revision "zz"/)
    await expect(new MigrationRunner({ engine: runner.options.engine, migrations: [m('a', 'nope')] }).graph()).rejects.toThrow(/follows "nope"/)
    await runner.options.engine.dispose()
  })
})
