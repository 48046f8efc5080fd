/**
 * One deploy running `upgrade` (a child process of runner.test.ts): a migration
 * that records which process ran it and takes a moment, so two deploys overlap.
 * Prints {"applied": [...]} or {"error": code}.
 */
import { createEngine } from '../../src/engine/index.js'
import { MigrationRunner } from '../../src/migrate/runner.js'
import type { Migration } from '../../src/migrate/migration.js'
import { PGLITE_START } from '../support/slow-setup.js'

const [url, versionTable, tableName] = process.argv.slice(2)
const engine = createEngine(url, { poolSize: 2, ...PGLITE_START })
const migrations: Migration[] = [
  {
    revision: 'lock0001',
    parent: null,
    message: 'record the deploy that ran it',
    async up({ db, sql, dialect }) {
      await db.schema.createTable(tableName).addColumn('pid', 'integer', (c) => c.primaryKey()).execute()
      await db.insertInto(tableName).values({ pid: process.pid }).execute()
      if (dialect === 'postgresql') await sql`SELECT pg_sleep(0.3)`.execute(db)
      if (dialect === 'mysql') await sql`SELECT SLEEP(0.3)`.execute(db)
    },
    async down({ db }) {
      await db.schema.dropTable(tableName).execute()
    },
  },
]
const runner = new MigrationRunner({ engine, migrations, versionTable, lockTimeout: 60_000 })
try {
  process.stdout.write(JSON.stringify({ applied: await runner.upgrade() }))
} catch (error) {
  process.stdout.write(JSON.stringify({ error: (error as { code?: string }).code ?? String(error) }))
} finally {
  await engine.dispose()
}
