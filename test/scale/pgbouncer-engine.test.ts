/**
 * The engine conformance suite through PgBouncer: transaction pooling (with
 * `?pgbouncer=transaction`) and session pooling (no option at all). The
 * session-pooling instance is a second PgBouncer started here.
 */
import { sql } from 'kysely'
import { afterAll, beforeAll, describe } from 'vitest'
import { PGBOUNCER_URL, runPgbouncer, withPooler } from '../support/servers.js'
import { defineEngineSuite } from '../engine/engine-suite.js'
import { startPgbouncer, type PgbouncerInstance } from './pgbouncer-control.js'

const createTable = (table: string): string =>
  `CREATE TABLE ${table} (id serial PRIMARY KEY, name text NOT NULL UNIQUE, note text DEFAULT 'none', n integer NOT NULL)`

describe.skipIf(!runPgbouncer)('engine through PgBouncer, pool_mode = transaction', () => {
  defineEngineSuite({
    prefix: 'scale_pgb_tx',
    url: withPooler(PGBOUNCER_URL, 'transaction'),
    multiConnection: true,
    cheapEngines: true,
    createTable,
    readIsolation: async (db) => {
      const { rows } = await sql<{ transaction_isolation: string }>`SHOW transaction_isolation`.execute(db)
      return rows[0].transaction_isolation.toUpperCase()
    },
    levels: ['REPEATABLE READ', 'SERIALIZABLE', 'READ UNCOMMITTED'],
  })
})

describe.skipIf(!runPgbouncer)('engine through PgBouncer, pool_mode = session (no option)', () => {
  let bouncer: PgbouncerInstance | undefined
  const url = { value: '' }
  beforeAll(async () => {
    bouncer = await startPgbouncer('session')
    url.value = bouncer.url
  })
  afterAll(async () => {
    await bouncer?.stop()
  })
  defineEngineSuite({
    prefix: 'scale_pgb_session',
    get url() {
      return url.value
    },
    multiConnection: true,
    cheapEngines: true,
    createTable,
    readIsolation: async (db) => {
      const { rows } = await sql<{ transaction_isolation: string }>`SHOW transaction_isolation`.execute(db)
      return rows[0].transaction_isolation.toUpperCase()
    },
    levels: ['REPEATABLE READ', 'SERIALIZABLE', 'READ UNCOMMITTED'],
  })
})
