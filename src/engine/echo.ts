import type { QueryResult } from 'kysely'
import type { Pool } from '../pool/types.js'
import { formatParameters } from './dialect.js'
import type { DbConnection } from './dialect.js'
import type { StatementObserver } from './statement-observer.js'
import type { Logger } from './types.js'

/**
 * How `echo` and `echoPool` write to the logger. `'text'`: one human-readable
 * string per call, `logger.info('athanor.engine: SELECT 1')`. `'object'`: a
 * {@link LogRecord} then the same line as the message,
 * `logger.info({ event: 'statement', sql, durationMs, ... }, 'athanor.engine: SELECT 1')`,
 * the shape pino and bunyan take.
 *
 * ```ts
 * const format: LogFormat = 'object'
 * ```
 */
export type LogFormat = 'text' | 'object'

/** What a {@link LogRecord} reports. */
export type LogEvent =
  | 'statement'
  | 'connect'
  | 'checkout'
  | 'checkin'
  | 'reset'
  | 'invalidate'
  | 'close'
  | 'timeout'
  | 'leak'
  | 'error'

/**
 * The object an `'object'`-format logger receives first. Parameters appear
 * only with `echo: 'debug'` and never with `hideParameters`; the URL's
 * password never appears.
 *
 * ```ts
 * const record: LogRecord = { event: 'statement', pool: 'db:5432/app', sql: 'select 1', durationMs: 0.4, rows: 1 }
 * ```
 */
export interface LogRecord {
  readonly event: LogEvent
  /** The pool's `name` option, or `host:port/database` (see `poolNameOf`). */
  readonly pool: string
  /** The statement (event `statement`). */
  readonly sql?: string
  /** Its bound values, rendered (`echo: 'debug'` without `hideParameters` only). */
  readonly parameters?: string
  /** How long the statement took, in ms, from sending it to its answer. */
  readonly durationMs?: number
  /** Rows the statement returned. */
  readonly rows?: number
  /** Rows it changed, when the driver says. */
  readonly affectedRows?: number
  /** A failure's stable athanor code (`INTEGRITY_ERROR`, `POOL_TIMEOUT`...) or the driver's. */
  readonly errorCode?: string
  /** The database's SQLSTATE, when it sent one. */
  readonly sqlState?: string
  /** The failure's message (scrubbed of values under `hideParameters`). */
  readonly error?: string
  /** How long opening a connection took (event `connect`). */
  readonly openMs?: number
  /** How long a caller waited (events `checkout`, `timeout`). */
  readonly waitedMs?: number
  /** How long a connection has been held (event `leak`). */
  readonly heldMs?: number
  /** The pool's status line when the event happened. */
  readonly status?: string
  /** `invalidate`: closed on return rather than now. `reset`: the reset mode. */
  readonly soft?: boolean
  readonly mode?: string
  /** `leak`: where the connection was checked out. */
  readonly stack?: string
}

/**
 * The log format an engine uses when `logFormat` is not given: `'object'`
 * for a structured logger, recognised by its `child()` method (pino, bunyan,
 * winston, Fastify's and NestJS-pino's loggers all have one), whose fields
 * it indexes; `'text'` for the console and any other logger, which get the
 * strings they always got.
 *
 * ```ts
 * defaultLogFormat(console) // 'text'
 * defaultLogFormat(pino()) // 'object'
 * ```
 */
export function defaultLogFormat(logger: Logger | undefined): LogFormat {
  return typeof (logger as { child?: unknown } | undefined)?.child === 'function' ? 'object' : 'text'
}

/**
 * Logs a pool's events through `logger`: connects, invalidations, closes,
 * timeouts and background errors; with `debug`, every checkout, checkin and
 * reset too. As plain strings in `'text'` format (so `console` reads well), as
 * a {@link LogRecord} and that string in `'object'` format.
 *
 * ```ts
 * echoPoolEvents(engine.pool, console, false, 'postgresql://app:***@db/app', 'text', 'db:5432/app')
 * ```
 */
export function echoPoolEvents(
  pool: Pool<DbConnection>,
  logger: Logger,
  debug: boolean,
  label: string,
  format: LogFormat = 'text',
  poolName: string = label,
): void {
  const prefix = `athanor.pool (${label}):`
  const objects = format === 'object'
  const log = (level: 'info' | 'warn' | 'error', record: LogRecord, text: string): void => {
    if (objects) logger[level](record, text)
    else logger[level](text)
  }
  pool.on('connect', (_c, openMs) => {
    const status = pool.status()
    log('info', { event: 'connect', pool: poolName, openMs, status }, `${prefix} connection opened; ${status}`)
  })
  pool.on('close', () => {
    const status = pool.status()
    log('info', { event: 'close', pool: poolName, status }, `${prefix} connection closed; ${status}`)
  })
  pool.on('invalidate', (_c, error, soft) =>
    log(
      'warn',
      { event: 'invalidate', pool: poolName, soft, ...errorFields(error) },
      `${prefix} connection invalidated${soft ? ' (soft)' : ''}: ${messageOf(error)}`,
    ),
  )
  pool.on('timeout', (waitedMs, status) =>
    log(
      'warn',
      { event: 'timeout', pool: poolName, waitedMs, status, errorCode: 'POOL_TIMEOUT' },
      `${prefix} checkout timed out after ${waitedMs} ms; ${status}`,
    ),
  )
  pool.on('leak', (_c, heldMs, stack) =>
    log('warn', { event: 'leak', pool: poolName, heldMs, stack }, `${prefix} connection held for ${heldMs} ms, checked out at:\n${stack}`),
  )
  pool.on('error', (error) => log('error', { event: 'error', pool: poolName, ...errorFields(error) }, `${prefix} ${messageOf(error)}`))
  if (!debug) return
  pool.on('checkout', (_c, waitedMs) => {
    const status = pool.status()
    log('info', { event: 'checkout', pool: poolName, waitedMs, status }, `${prefix} checkout; ${status}`)
  })
  pool.on('checkin', () => {
    const status = pool.status()
    log('info', { event: 'checkin', pool: poolName, status }, `${prefix} checkin; ${status}`)
  })
  pool.on('reset', (_c, mode) => log('info', { event: 'reset', pool: poolName, mode }, `${prefix} reset (${mode}) on return`))
}

/**
 * `echo` in `'object'` format: one {@link LogRecord} per statement once it
 * has settled, with its duration and, on failure, its error code (at level
 * `warn`). The message is the line `'text'` format would print.
 *
 * ```ts
 * observeStatements(engine, statementLogger(pino(), { debug: false, hideParameters: false, pool: 'db:5432/app' }))
 * ```
 */
export function statementLogger(
  logger: Logger,
  options: { readonly debug: boolean; readonly hideParameters: boolean; readonly pool: string },
): StatementObserver {
  const withValues = options.debug && !options.hideParameters
  const pool = options.pool
  return {
    statement(sql, parameters) {
      const start = performance.now()
      return (error: unknown, result: QueryResult<unknown> | undefined) => {
        const durationMs = performance.now() - start
        const shown = withValues && parameters.length > 0 ? formatParameters(parameters) : undefined
        const text = `athanor.engine: ${sql}${shown === undefined ? '' : ` [parameters: ${shown}]`}`
        const record: LogRecord = {
          event: 'statement',
          pool,
          sql,
          ...(shown === undefined ? {} : { parameters: shown }),
          durationMs,
          ...(result === undefined ? errorFields(error) : resultFields(result)),
        }
        if (error === undefined) logger.info(record, text)
        else logger.warn(record, `${text} failed: ${messageOf(error)}`)
      }
    },
  }
}

function resultFields(result: QueryResult<unknown>): Pick<LogRecord, 'rows' | 'affectedRows'> {
  const affected = result.numAffectedRows
  return affected === undefined ? { rows: result.rows.length } : { rows: result.rows.length, affectedRows: Number(affected) }
}

function errorFields(error: unknown): Pick<LogRecord, 'errorCode' | 'sqlState' | 'error'> {
  if (error === undefined) return {}
  const e = error as { code?: unknown; sqlState?: unknown }
  return {
    ...(typeof e.code === 'string' || typeof e.code === 'number' ? { errorCode: String(e.code) } : {}),
    ...(typeof e.sqlState === 'string' ? { sqlState: e.sqlState } : {}),
    error: messageOf(error),
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
