/** Engines for the four dialects, with a statement recorder for counting round trips. */
import type { Kysely } from 'kysely'
import { createEngine } from '../../src/engine/index.js'
import type { Engine, EngineOptions, Logger } from '../../src/engine/types.js'
import { MYSQL_URL, PG_URL, runMysql, runPg } from '../support/servers.js'
import { PGLITE_START, SLOW_SETUP_MS, slowStartOptions } from '../support/slow-setup.js'

export interface Target {
  readonly name: string
  readonly url: string
  readonly run: boolean
}

/** Set by a file that runs these suites through one other target (test/scale/pgbouncer-sessions.test.ts). */
const targetsOverride = (globalThis as { athanorSessionTargets?: readonly Target[] }).athanorSessionTargets

export const TARGETS: readonly Target[] = targetsOverride ?? [
  { name: 'pglite', url: 'pglite://', run: true },
  { name: 'sqlite', url: 'sqlite://', run: true },
  { name: 'postgresql', url: PG_URL, run: runPg },
  { name: 'mysql', url: MYSQL_URL, run: runMysql },
]

/** Collects the SQL the engine echoes; `take()` returns and clears it. */
export class StatementLog implements Logger {
  statements: string[] = []
  enabled = true
  info(...args: unknown[]): void {
    if (!this.enabled) return
    const msg = args.find((a): a is string => typeof a === 'string') ?? ''
    const i = msg.indexOf(': ')
    const sql = i >= 0 ? msg.slice(i + 2) : msg
    if (/^(SELECT|INSERT|UPDATE|DELETE|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|START|select|insert|update|delete|with)/.test(sql)) {
      this.statements.push(sql)
    }
  }
  debug(): void {}
  warn(): void {}
  error(): void {}
  take(): string[] {
    const s = this.statements
    this.statements = []
    return s
  }
  /** Statements of a kind (`INSERT`, `UPDATE`, ...), case-insensitive. */
  count(kind: string, statements = this.statements): number {
    return statements.filter((s) => s.toUpperCase().startsWith(kind)).length
  }
}

export function engineFor<DB>(t: Target, log?: StatementLog, options: EngineOptions = {}): Engine<DB> {
  // PGlite's first checkout waits for it to start: far longer than 5 s on a busy machine.
  const base: EngineOptions = { poolSize: 3, poolTimeout: 5000, ...slowStartOptions(t.url) }
  return createEngine<DB>(t.url, log ? { echo: true, logger: log, ...base, ...options } : { ...base, ...options })
}

/** For suites that open PGlite (seconds of WASM start-up, more on a busy machine): time enough for the first checkout. */
export const SLOW_START: EngineOptions = PGLITE_START

/** The matching timeout for a `beforeAll` that opens such an engine and creates its tables. */
export const SLOW_HOOK = SLOW_SETUP_MS

/** `SELECT COUNT(*)` of a table, as a number on every dialect. */
export async function countRows(engine: Engine<unknown>, tableName: string): Promise<number> {
  const db = engine.db as unknown as Kysely<Record<string, Record<string, unknown>>>
  return Number((await db.selectFrom(tableName).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
}
