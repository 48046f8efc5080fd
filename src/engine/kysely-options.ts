import { Kysely } from 'kysely'
import type { Dialect, Driver, KyselyPlugin, LogConfig } from 'kysely'
import { createDirectKysely, partsOf } from './direct-query-executor.js'
import type { StatementRunner } from './direct-query-executor.js'
import { EngineOptionError } from './errors.js'

/**
 * Kysely's own options for a Kysely built on an engine's pool (or on one
 * Connection): what `new Kysely({ dialect, log, plugins })` takes besides
 * the dialect, which the engine supplies.
 *
 * ```ts
 * const db = engine.kysely<DB>({ log: ['query', 'error'], plugins: [new CamelCasePlugin()] })
 * ```
 */
export interface EngineKyselyOptions {
  /**
   * Kysely's `log`: `['query', 'error']`, or a function that receives each
   * `LogEvent` (its SQL, parameters and `queryDurationMillis`).
   */
  readonly log?: LogConfig
  /** Kysely plugins, applied to every query of this instance (`CamelCasePlugin`, ...). */
  readonly plugins?: readonly KyselyPlugin[]
}

/**
 * A Kysely on `dialect` (whose driver is `driver`) with the user's options.
 * Without `log`, statements take athanor's direct executor, as `engine.db`
 * does; with it, Kysely's own executor and runtime driver, which time and
 * log every query.
 *
 * ```ts
 * const db = kyselyWithOptions<DB>(engine.kyselyDialect, driver, { log: ['query'] })
 * ```
 */
export function kyselyWithOptions<DB>(dialect: Dialect, driver: Driver & StatementRunner, options: EngineKyselyOptions = {}): Kysely<DB> {
  checkKyselyOptions(options)
  const plugins = options.plugins === undefined ? [] : [...options.plugins]
  if (options.log !== undefined) return new Kysely<DB>({ dialect, log: options.log, plugins })
  return createDirectKysely<DB>(dialect, driver, partsOf(dialect), plugins)
}

/**
 * A Kysely on `dialect` with the user's options, always through Kysely's own
 * executor: for dialects that route each statement themselves (a routing
 * engine's replicas and primary).
 *
 * ```ts
 * const db = kyselyOnDialect<DB>(routedDialect(primary.kyselyDialect, route), { log: ['query'] })
 * ```
 */
export function kyselyOnDialect<DB>(dialect: Dialect, options: EngineKyselyOptions = {}): Kysely<DB> {
  checkKyselyOptions(options)
  return new Kysely<DB>({ dialect, log: options.log, plugins: options.plugins === undefined ? [] : [...options.plugins] })
}

const KYSELY_OPTION_NAMES: readonly string[] = ['log', 'plugins']

/** `log` and `plugins` only: the dialect (driver, pool) is the engine's. */
function checkKyselyOptions(options: unknown): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new EngineOptionError('kysely(options): options must be an object with log and/or plugins')
  }
  for (const name of Object.keys(options)) {
    if (!KYSELY_OPTION_NAMES.includes(name)) {
      throw new EngineOptionError(
        `kysely(options): unknown option ${JSON.stringify(name)}; accepted: log, plugins (the dialect, driver and pool are the engine's)`,
        name,
      )
    }
  }
  const { log, plugins } = options as Record<string, unknown>
  if (log !== undefined && typeof log !== 'function' && !Array.isArray(log)) {
    throw new EngineOptionError("kysely(options): log must be an array of levels (['query', 'error']) or a function", 'log')
  }
  if (plugins !== undefined && !Array.isArray(plugins)) throw new EngineOptionError('kysely(options): plugins must be an array of Kysely plugins', 'plugins')
}
