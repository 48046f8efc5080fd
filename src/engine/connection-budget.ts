import type { ConnectionBudgetReport, Pool } from '../pool/types.js'
import type { DbConnection, DialectDriver } from './dialect.js'
import { ConnectionBudgetError } from './errors.js'
import type { Logger } from './types.js'

/**
 * `createEngine`'s `connectionBudget` option: how much of the server's free
 * connections one process's pool may plan to take, and what happens when it
 * could take more. `false` turns the check off.
 *
 * ```ts
 * createEngine(url, { poolSize: 20, maxOverflow: 10, connectionBudget: { share: 0.25, onExceed: 'error' } })
 * ```
 */
export interface ConnectionBudgetOptions {
  /** The share (0 < share <= 1) of the free connections one pool may take at its peak. Default 0.5. */
  readonly share?: number
  /** `'warn'` (default): logger and the pool's `budget` event, once. `'error'`: refuse to start ({@link ConnectionBudgetError}). */
  readonly onExceed?: 'warn' | 'error'
}

/** The default share of the free connections one pool may plan to take. */
export const DEFAULT_BUDGET_SHARE = 0.5

/**
 * The budget arithmetic: what is free, how many pools of `poolMax` fit, and
 * whether this one asks more than `share` of it.
 *
 * ```ts
 * budgetReport({ maxConnections: 100, reserved: 3, inUse: 41 }, 15, 0.5).processesThatFit // 3
 * ```
 */
export function budgetReport(
  limits: { readonly maxConnections: number; readonly reserved: number; readonly inUse: number },
  poolMax: number,
  share: number,
): ConnectionBudgetReport {
  // The connection that asked is this pool's own: not someone else's use.
  const inUse = Math.max(0, limits.inUse - 1)
  const free = Math.max(0, limits.maxConnections - limits.reserved - inUse)
  return {
    maxConnections: limits.maxConnections,
    reserved: limits.reserved,
    inUse,
    free,
    poolMax,
    share,
    processesThatFit: poolMax === Infinity || poolMax <= 0 ? 0 : Math.floor(free / poolMax),
    exceeded: poolMax > share * free,
  }
}

/** The warning (or error message) for an exceeded budget. */
export function describeBudget(r: ConnectionBudgetReport, label: string): string {
  const size = r.poolMax === Infinity ? 'no limit (maxOverflow -1)' : `${r.poolMax} connections at its peak (poolSize + maxOverflow)`
  return (
    `athanor.engine (${label}): connection budget: this pool may open ${size}, more than ${Math.round(r.share * 100)}% ` +
    `(connectionBudget.share) of the ${r.free} the server has free (max_connections ${r.maxConnections}, ${r.reserved} reserved, ` +
    `${r.inUse} in use); ${r.processesThatFit} process${r.processesThatFit === 1 ? '' : 'es'} with a pool of this size fit. ` +
    `Lower poolSize/maxOverflow, put PgBouncer in front, or raise max_connections.`
  )
}

/**
 * Checks the budget at the engine's first connection: wraps the driver's
 * `open` so the first connection reads the server's limits before anyone
 * gets it. Warns once (logger, pool event `budget`) or, with
 * `onExceed: 'error'`, fails that open and every later one with
 * {@link ConnectionBudgetError}. Returns a getter for the report.
 *
 * ```ts
 * const report = watchConnectionBudget(driver, pool, 15, {}, console, 'postgresql://db/app')
 * ```
 */
export function watchConnectionBudget(
  driver: DialectDriver,
  pool: Pool<DbConnection>,
  poolMax: number,
  options: ConnectionBudgetOptions,
  logger: Logger,
  label: string,
): () => ConnectionBudgetReport | undefined {
  const read = driver.serverConnectionLimits
  if (read === undefined) return () => undefined
  const share = options.share ?? DEFAULT_BUDGET_SHARE
  const open = driver.open.bind(driver)
  let report: ConnectionBudgetReport | undefined
  let refusal: ConnectionBudgetError | undefined
  let checking: Promise<void> | undefined
  const check = async (connection: DbConnection): Promise<void> => {
    let limits
    try {
      limits = await read.call(driver, connection)
    } catch (error) {
      // A server that will not say (permissions, a pooler in between) is not a reason to refuse to run.
      logger.warn(`athanor.engine (${label}): could not read the server's connection limit: ${error instanceof Error ? error.message : String(error)}`)
      return
    }
    report = budgetReport(limits, poolMax, share)
    if (!report.exceeded) return
    const message = describeBudget(report, label)
    if (options.onExceed === 'error') {
      refusal = new ConnectionBudgetError(message, report)
      return
    }
    logger.warn(message)
    emitBudget(pool, report)
  }
  driver.open = async (): Promise<DbConnection> => {
    if (refusal !== undefined) throw refusal
    const connection = await open()
    // Opens racing the first one wait for its verdict too.
    if (checking === undefined) checking = check(connection)
    await checking
    if (refusal !== undefined) {
      await driver.close(connection)
      throw refusal
    }
    return connection
  }
  return () => report
}

/** Raises the pool's `budget` event (pools built by athanor carry an emitter). */
function emitBudget(pool: Pool<DbConnection>, report: ConnectionBudgetReport): void {
  const events = (pool as { events?: { emit(event: 'budget', report: ConnectionBudgetReport): void } }).events
  events?.emit('budget', report)
}
