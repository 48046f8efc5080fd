import type { CompiledQuery, DatabaseIntrospector, DialectAdapter, Kysely, QueryCompiler, QueryResult, TransactionSettings } from 'kysely'
import type { ResetMode } from '../../pool/types.js'
import { DbConnection } from '../dialect.js'
import type { DialectConfig, DialectDriver, DialectUrl, EngineContext, ErrorInfo } from '../dialect.js'
import { DatabaseError, DisconnectError, EngineOptionError, IntegrityError, StatementTimeoutError, StatementTooLargeError } from '../errors.js'
import type { IntegrityDetails } from '../errors.js'
import { statementBytes } from '../values.js'
import { PoolDisposedError } from '../../pool/errors.js'
import type { DialectCapabilities, DialectName, IsolationLevel } from '../types.js'
import { describeStatementLimit, sqlSyntax } from './syntax.js'

/** The longest SQL text an error message shows. */
const MAX_SQL_IN_MESSAGE = 2_000

/**
 * What the four dialect drivers share: error building, savepoint and
 * isolation SQL, reset without a round trip. Internal.
 *
 * ```ts
 * class PostgresDriver extends BaseDialectDriver { ... }
 * ```
 */
export abstract class BaseDialectDriver implements DialectDriver {
  abstract readonly name: DialectName
  abstract readonly isolationLevels: readonly IsolationLevel[]
  abstract readonly commitStatement: string
  abstract readonly rollbackStatement: string
  readonly context: EngineContext
  protected caps: DialectCapabilities

  constructor(
    protected readonly config: DialectConfig,
    capabilities: DialectCapabilities,
  ) {
    this.context = config.context
    this.caps = Object.freeze(capabilities)
  }

  get capabilities(): DialectCapabilities {
    return this.caps
  }

  abstract open(): Promise<DbConnection>
  abstract classify(error: unknown): ErrorInfo
  abstract beginStatements(settings?: TransactionSettings): readonly string[]
  abstract isolationStatement(level: Exclude<IsolationLevel, 'AUTOCOMMIT'>): string
  abstract revertIsolationStatement(): string
  abstract createAdapter(): DialectAdapter
  abstract createQueryCompiler(): QueryCompiler
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  abstract createIntrospector(db: Kysely<any>): DatabaseIntrospector

  close(connection: DbConnection): Promise<void> {
    // dispose() closing a connection a Connection or Session still holds: its later use says so.
    if (this.context.isDisposed?.() === true && connection.broken === undefined) {
      connection.broken = new PoolDisposedError('the engine has been disposed: dispose() closed the connection this handle held')
    }
    return connection.close()
  }

  async ping(connection: DbConnection): Promise<boolean> {
    if (connection.broken !== undefined) return false
    try {
      await connection.run('SELECT 1')
      return true
    } catch {
      return false
    }
  }

  /** An open the server refused for being at its connection limit: the pool waits and retries (dialects override). */
  isTemporaryOpenError(_error: unknown): boolean {
    return false
  }

  /**
   * Ends a returned connection's transaction: no round trip unless the server
   * says one is open. `'reset'` clears the session's state too ({@link resetSession}).
   */
  reset(connection: DbConnection, mode: ResetMode): Promise<void> | void {
    if (mode === 'reset') return this.resetSession(connection)
    if (!connection.inTransaction) return
    return connection.run(mode === 'commit' ? this.commitStatement : this.rollbackStatement).then(noop)
  }

  /** One identifier, quoted: the dialect's {@link sqlSyntax}, the same text the session and DDL write. */
  quoteIdentifier(name: string): string {
    return sqlSyntax(this.name).quoteIdentifier(name)
  }

  placeholder(index: number): string {
    return sqlSyntax(this.name).placeholder(index)
  }

  /**
   * `poolResetOnReturn: 'reset'`: the transaction rolled back and the
   * session's state (variables, temporary tables, prepared statements)
   * cleared, with the engine's own settings back. A database without a reset
   * command (SQLite) only rolls back.
   */
  protected resetSession(connection: DbConnection): Promise<void> | void {
    return this.reset(connection, 'rollback')
  }

  isDisconnect(error: unknown): boolean {
    return this.classify(error).kind === 'disconnect'
  }

  toError(info: ErrorInfo, cause: unknown, sql: string, parameters: readonly unknown[]): Error {
    const shownSql = sql.length > MAX_SQL_IN_MESSAGE ? `${sql.slice(0, MAX_SQL_IN_MESSAGE)}...` : sql
    const code = info.sqlState ?? info.driverCode ?? (info.errno === undefined ? undefined : String(info.errno))
    const hide = this.context.hideParameters
    const text = hide ? scrubValues(info.message, parameters) : info.message
    const message = `${text}${code === undefined ? '' : ` (${code})`} [SQL: ${shownSql}]`
    const details = {
      cause,
      sqlState: info.sqlState,
      errno: info.errno,
      driverCode: info.driverCode,
      sql,
      parameters: hide ? undefined : parameters,
    }
    if (info.tooLarge === true) {
      const limit = this.capabilities.maxStatementBytes
      return new StatementTooLargeError(
        `the statement is larger than the server accepts, ${describeStatementLimit(this.name, limit)}; ` +
          `retrying it would fail the same way: ${message}`,
        details,
        { limit, size: statementBytes(sql, parameters) },
      )
    }
    switch (info.kind) {
      case 'disconnect':
        return new DisconnectError(`the connection to the database was lost: ${message}`, details)
      case 'timeout':
        return new StatementTimeoutError(message, details)
      case 'integrity':
        return new IntegrityError(message, details, integrityFields(info.integrity, hide))
      default:
        return new DatabaseError(message, details)
    }
  }

  savepointStatement(name: string): string {
    return `SAVEPOINT ${this.quoteIdentifier(name)}`
  }

  releaseSavepointStatement(name: string): string {
    return `RELEASE SAVEPOINT ${this.quoteIdentifier(name)}`
  }

  rollbackToSavepointStatement(name: string): string {
    return `ROLLBACK TO SAVEPOINT ${this.quoteIdentifier(name)}`
  }

  /** Sets the engine's isolation level on a new connection (drivers with no startup setting for it). */
  protected async applyEngineLevel(connection: DbConnection): Promise<void> {
    const level = this.engineLevel
    if (level !== undefined) await connection.run(this.isolationStatement(level))
  }

  /** The engine's level, when it sets one the server understands. */
  protected get engineLevel(): Exclude<IsolationLevel, 'AUTOCOMMIT'> | undefined {
    const level = this.config.isolationLevel
    return level === undefined || level === 'AUTOCOMMIT' ? undefined : level
  }
}

function noop(): void {}

/** The driver's integrity details, without PostgreSQL's DETAIL line (it quotes values) when parameters are hidden. */
function integrityFields(details: IntegrityDetails | undefined, hideParameters: boolean): IntegrityDetails {
  if (details === undefined) return {}
  if (!hideParameters || details.detail === undefined) return details
  const { detail: _hidden, ...rest } = details
  return rest
}

/**
 * The part of a driver client's event emitter a connection listens on
 * (pg's `Client`, mysql2's `Connection`).
 *
 * ```ts
 * const events: ClientEvents = new pg.Client()
 * ```
 */
export interface ClientEvents {
  on(event: 'error', listener: (error: unknown) => void): unknown
  on(event: 'end', listener: () => void): unknown
}

/**
 * A connection over a network driver with a callback API (pg, mysql2): the
 * client's `error` and `end` events mark it broken, and `executeQuery` goes
 * through the dialect's own `submit`. Internal.
 *
 * ```ts
 * class PgConnection extends CallbackConnection { ... }
 * ```
 */
export abstract class CallbackConnection extends DbConnection {
  constructor(dialect: DialectDriver, client: ClientEvents, endMessage: string) {
    super(dialect)
    // An idle client whose server connection dies emits 'error': never let it crash the process.
    client.on('error', (error: unknown) => {
      if (this.broken === undefined) this.broken = error
    })
    client.on('end', () => {
      if (this.broken === undefined) this.broken = new Error(endMessage)
    })
  }

  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    return new Promise<QueryResult<R>>((resolve, reject) => this.submit<R>(compiledQuery, undefined, resolve, reject))
  }

  /** The driver's callback frees the queue (after pg's ReadyForQuery on an error), then settles the caller's promise. */
  override runQueued<R>(compiledQuery: CompiledQuery, done: () => void): Promise<QueryResult<R>> {
    return new Promise<QueryResult<R>>((resolve, reject) => this.submit<R>(compiledQuery, done, resolve, reject))
  }

  /** As {@link DbConnection.submit}; without `release`, only settles the promise. */
  abstract override submit<R>(
    compiledQuery: CompiledQuery,
    release: ((connection: DbConnection) => void) | undefined,
    resolve: (result: QueryResult<R>) => void,
    reject: (error: unknown) => void,
  ): void
}

/** The statements that open a transaction with the server's defaults. */
export const BEGIN: readonly string[] = Object.freeze(['BEGIN'])

/**
 * Refuses `statementTimeout` for an in-process driver, which cannot interrupt
 * a running statement; `why` says so for that driver.
 *
 * ```ts
 * refuseStatementTimeout(config, 'sqlite', 'better-sqlite3 runs statements synchronously, so none can be interrupted')
 * ```
 */
export function refuseStatementTimeout(config: DialectConfig, dialect: string, why: string): void {
  if (config.statementTimeout !== undefined && config.statementTimeout > 0) {
    throw new EngineOptionError(`statementTimeout is not supported on ${dialect}: ${why}`, 'statementTimeout')
  }
}

/** Resolves when `closing` settles or after `ms` (then calls `giveUp`); never rejects. */
export function closeWithin(closing: Promise<unknown>, ms: number, giveUp: () => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      try {
        giveUp()
      } finally {
        resolve()
      }
    }, ms)
    timer.unref?.()
    closing.then(
      () => {
        clearTimeout(timer)
        resolve()
      },
      () => {
        clearTimeout(timer)
        resolve()
      },
    )
  })
}

/**
 * Masks bound values a server quoted back in its message (MySQL's
 * "Duplicate entry 'x' for key ..."), for `hideParameters`.
 */
function scrubValues(message: string, parameters: readonly unknown[]): string {
  let out = message
  for (const p of parameters) {
    if (typeof p !== 'string' && typeof p !== 'number' && typeof p !== 'bigint') continue
    const value = String(p)
    if (value === '') continue
    for (const [open, close] of QUOTES) out = out.split(`${open}${value}${close}`).join(`${open}***${close}`)
  }
  return out
}

const QUOTES: readonly (readonly [string, string])[] = [
  ["'", "'"],
  ['"', '"'],
  ['(', ')'],
  ['`', '`'],
]

/** The first value of a query parameter (repeated keys give an array). */
export function queryValue(url: { readonly query: Readonly<Record<string, string | readonly string[]>> }, key: string): string | undefined {
  const value = url.query[key]
  if (value === undefined) return undefined
  return typeof value === 'string' ? value : value[value.length - 1]
}

/**
 * What a network driver's config takes from the URL's authority and path;
 * pg and mysql2 name these keys alike. Absent parts stay `undefined` here.
 *
 * ```ts
 * serverConfigFromUrl(parseUrl('mysql://root@db/app')) // { host: 'db', port: undefined, user: 'root', ... }
 * ```
 */
export function serverConfigFromUrl(url: DialectUrl): Record<string, unknown> {
  return {
    host: url.host,
    port: url.port,
    user: url.username,
    password: url.password,
    database: url.database,
  }
}

/** Drops the keys whose value is `undefined` (in place), so the driver's own defaults apply. */
export function dropUndefined<T extends Record<string, unknown>>(config: T): T {
  for (const key of Object.keys(config)) if (config[key] === undefined) delete config[key]
  return config
}

/** The `message` of anything thrown. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}

/** Socket-level failures every network driver reports the same way. */
export const SOCKET_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTCONN',
  'ESHUTDOWN',
])
