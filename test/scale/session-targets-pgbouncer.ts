/**
 * Imported first by pgbouncer-sessions.test.ts: the session suites it then
 * imports run on one target, PostgreSQL through PgBouncer (transaction
 * pooling), in a database of their own: the same suites run straight on
 * PostgreSQL at the same time, on the same table names.
 */
import pg from 'pg'
import { beforeAll } from 'vitest'
import type { Target } from '../session/helpers.js'
import { PGBOUNCER_URL, pgConfig, runPgbouncer, withPooler } from '../support/servers.js'

const base = new URL(PGBOUNCER_URL.replace(/^[a-z0-9+]+:/, 'http:'))
const database = `${base.pathname.slice(1) || 'test'}_pgbouncer`
const url = withPooler(PGBOUNCER_URL.replace(/(:\/\/[^/]*\/)[^?]*/, `$1${database}`), 'transaction')

beforeAll(async () => {
  if (!runPgbouncer) return
  const admin = new pg.Client({ ...pgConfig, database: 'postgres' })
  await admin.connect()
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])
    if (rowCount === 0) {
      await admin.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`).catch((e: { code?: string }) => {
        if (e.code !== '42P04') throw e // created meanwhile by another run
      })
    }
  } finally {
    await admin.end()
  }
})

// Named 'postgresql': the suites' PostgreSQL-specific expectations hold through the pooler too.
const targets: readonly Target[] = [{ name: 'postgresql', url, run: runPgbouncer }]
;(globalThis as { athanorSessionTargets?: readonly Target[] }).athanorSessionTargets = targets
