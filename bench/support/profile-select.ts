/**
 * Runs `SELECT 1` through one library for a while (32 callers, pool of 10),
 * for a CPU profile of that library alone.
 *
 * ```sh
 * node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/support/profile-select.ts athanor-pg 5000
 * npx tsx bench/support/cpuprofile-top.ts /tmp/prof/*.cpuprofile
 * ```
 * Libraries: athanor-pg, pg, kysely-pg, athanor-mysql, mysql2, kysely-mysql.
 */
import { Kysely, MysqlDialect, PostgresDialect, sql } from 'kysely'
import mysql from 'mysql2'
import pg from 'pg'
import { createEngine } from '../../src/index.js'
import { MYSQL_URL, PG_URL, mysqlConfig, pgConfig } from './config.js'
import { isMain } from './main.js'
import { throughput, type Runner } from './throughput.js'

/** Opens the named library's pool and returns its `SELECT 1` call. */
export function openSelectRunner(name: string): Runner {
  switch (name) {
    case 'pg': {
      const pool = new pg.Pool({ ...pgConfig, max: 10 })
      return { call: () => pool.query('SELECT 1'), close: () => pool.end() }
    }
    case 'kysely-pg': {
      const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ ...pgConfig, max: 10 }) }) })
      return { call: () => sql`SELECT 1`.execute(db), close: () => db.destroy() }
    }
    case 'mysql2': {
      const pool = mysql.createPool({ ...mysqlConfig, connectionLimit: 10 })
      const call = () => new Promise<unknown>((resolve, reject) => pool.query('SELECT 1', (e, r) => (e ? reject(e) : resolve(r))))
      return { call, close: () => new Promise<void>((resolve) => pool.end(() => resolve())) }
    }
    case 'kysely-mysql': {
      const db = new Kysely<unknown>({ dialect: new MysqlDialect({ pool: mysql.createPool({ ...mysqlConfig, connectionLimit: 10 }) }) })
      return { call: () => sql`SELECT 1`.execute(db), close: () => db.destroy() }
    }
    case 'athanor-pg':
    case 'athanor-mysql': {
      const engine = createEngine<unknown>(name === 'athanor-pg' ? PG_URL : MYSQL_URL, { poolSize: 10, maxOverflow: 0 })
      return { call: () => sql`SELECT 1`.execute(engine.db), close: () => engine.dispose() }
    }
    default:
      throw new Error(`unknown library "${name}": use athanor-pg, pg, kysely-pg, athanor-mysql, mysql2 or kysely-mysql`)
  }
}

if (isMain(import.meta.url)) {
  // A comma-separated list runs one after the other in this process (to see how they affect each other).
  for (const name of (process.argv[2] ?? 'athanor-pg').split(',')) {
    const runner = openSelectRunner(name)
    const { perSecond, cpuUsPerCall } = await throughput(runner.call, { concurrency: 32, durationMs: Number(process.argv[3] ?? 5000) })
    console.log(`${name}: ${Math.round(perSecond)} q/s, ${cpuUsPerCall.toFixed(1)} cpu µs/query`)
    await runner.close()
  }
}
