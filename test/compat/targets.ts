/**
 * The four dialects the Kysely compatibility suite runs on, and what differs
 * between them in the suite's DDL. Each test file loops over {@link TARGETS}
 * with `describe.skipIf(!target.run)`, as test/engine/engine-suite.ts does.
 */
import { sql, type Generated, type Kysely } from 'kysely'
import { createEngine } from '../../src/engine/index.js'
import type { Engine, EngineOptions } from '../../src/engine/types.js'
import { MYSQL_URL, PG_URL, runMysql, runPg } from '../support/servers.js'
import { slowStartOptions } from '../support/slow-setup.js'

export type TargetName = 'postgresql' | 'mysql' | 'sqlite' | 'pglite'

export interface Target {
  readonly name: TargetName
  readonly url: string
  readonly run: boolean
  /** DDL of an auto-increment integer primary key column named `id`. */
  readonly idColumn: string
  /** `INSERT ... RETURNING` works (MariaDB 10.5+ has it too; the suite only relies on it where Kysely users do). */
  readonly returning: boolean
  /** Server (or file) shared by several connections: temporary objects are per connection. */
  readonly server: boolean
}

export const TARGETS: readonly Target[] = [
  { name: 'postgresql', url: PG_URL, run: runPg, idColumn: 'id serial PRIMARY KEY', returning: true, server: true },
  { name: 'mysql', url: MYSQL_URL, run: runMysql, idColumn: 'id integer AUTO_INCREMENT PRIMARY KEY', returning: false, server: true },
  { name: 'sqlite', url: 'sqlite://', run: true, idColumn: 'id integer PRIMARY KEY AUTOINCREMENT', returning: true, server: false },
  { name: 'pglite', url: 'pglite://', run: true, idColumn: 'id serial PRIMARY KEY', returning: true, server: false },
]

/** The tables the suite uses; `prefix` keeps test files apart on a shared server. */
export interface CompatDB {
  [table: string]: { id: Generated<number>; name: string; owner_id: number | null; age: number }
}

/** An engine on `target` with start-up time enough for PGlite. */
export function compatEngine<DB = CompatDB>(target: Target, options: EngineOptions = {}): Engine<DB> {
  return createEngine<DB>(target.url, { poolSize: 3, ...slowStartOptions(target.url), ...options })
}

/** Drops and creates `table` (id, name, owner_id, age). */
export async function createTable(db: Kysely<CompatDB>, target: Target, table: string): Promise<void> {
  await sql.raw(`DROP TABLE IF EXISTS ${table}`).execute(db)
  await sql.raw(`CREATE TABLE ${table} (${target.idColumn}, name varchar(100) NOT NULL, owner_id integer, age integer NOT NULL DEFAULT 0)`).execute(db)
}

/** A query whose rows are `n` = 1..count, in order. */
export function seriesSql(target: Target, count: number): string {
  switch (target.name) {
    case 'postgresql':
    case 'pglite':
      return `SELECT n FROM generate_series(1, ${count}) AS s(n) ORDER BY n`
    case 'mysql':
      return `SELECT seq AS n FROM seq_1_to_${count} ORDER BY seq`
    case 'sqlite':
      return `WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ${count}) SELECT n FROM s`
  }
}

/** A query whose rows 1..failAt-1 come back before the server fails it at row `failAt` (of `count`). */
export function failingSeriesSql(target: Target, count: number, failAt: number): string {
  switch (target.name) {
    case 'postgresql':
    case 'pglite':
      return `SELECT n, 1 / (n - ${failAt}) AS q FROM generate_series(1, ${count}) AS s(n)`
    case 'mysql':
      // "Subquery returns more than 1 row" (1242), raised when row failAt is produced.
      return `SELECT seq AS n, (SELECT 1 UNION ALL SELECT 2 FROM DUAL WHERE seq = ${failAt}) AS q FROM seq_1_to_${count}`
    case 'sqlite':
      // abs() of the smallest integer overflows: "integer overflow", raised at row failAt.
      return `WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ${count}) SELECT n, abs(CASE WHEN n = ${failAt} THEN -9223372036854775807 - 1 ELSE n END) AS q FROM s`
  }
}
