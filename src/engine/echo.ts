import type { Pool } from '../pool/types.js'
import type { DbConnection } from './dialect.js'
import type { Logger } from './types.js'

/**
 * Logs a pool's events through `logger` as plain strings (so `console` and
 * pino both work): connects, invalidations, closes, timeouts and background
 * errors; with `debug`, every checkout, checkin and reset too.
 *
 * ```ts
 * echoPoolEvents(engine.pool, console, false, 'postgresql://app:***@db/app')
 * ```
 */
export function echoPoolEvents(pool: Pool<DbConnection>, logger: Logger, debug: boolean, label: string): void {
  const prefix = `athanor.pool (${label}):`
  pool.on('connect', () => logger.info(`${prefix} connection opened; ${pool.status()}`))
  pool.on('close', () => logger.info(`${prefix} connection closed; ${pool.status()}`))
  pool.on('invalidate', (_c, error, soft) =>
    logger.warn(`${prefix} connection invalidated${soft ? ' (soft)' : ''}: ${error instanceof Error ? error.message : String(error)}`),
  )
  pool.on('timeout', (waited, status) => logger.warn(`${prefix} checkout timed out after ${waited} ms; ${status}`))
  pool.on('leak', (_c, heldMs, stack) => logger.warn(`${prefix} connection held for ${heldMs} ms, checked out at:\n${stack}`))
  pool.on('error', (error) => logger.error(`${prefix} ${error instanceof Error ? error.message : String(error)}`))
  if (!debug) return
  pool.on('checkout', () => logger.info(`${prefix} checkout; ${pool.status()}`))
  pool.on('checkin', () => logger.info(`${prefix} checkin; ${pool.status()}`))
  pool.on('reset', (_c, mode) => logger.info(`${prefix} reset (${mode}) on return`))
}
