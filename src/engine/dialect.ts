import { CompiledQuery } from 'kysely'
import { PoolDisposedError } from '../pool/errors.js'
import { rolledBackError } from './errors.js'
import type { IntegrityDetails } from './errors.js'
import type {
  DatabaseConnection,
  DatabaseIntrospector,
  DialectAdapter,
  Kysely,
  QueryCompiler,
  QueryResult,
  TransactionSettings,
} from 'kysely'
import type { PoolDriver, ResetMode } from '../pool/types.js'
import type { DialectCapabilities, DialectName, IsolationLevel, Logger } from './types.js'
import type { EngineUrl } from './url.js'
import type { ObserverSlot } from './statement-observer.js'

/**
 * The parts of a parsed URL a dialect reads: a slice of `EngineUrl` (url.ts).
 *
 * ```ts
 * const target: DialectUrl = parseUrl('postgresql://app@db/app')
 * ```
 */
export type DialectUrl = Pick<
  EngineUrl,
  'dialect' | 'backend' | 'username' | 'password' | 'host' | 'port' | 'database' | 'query' | 'inMemory'
>

/**
 * What every connection of one engine shares: echo settings, and the hook that
 * tells the pool a connection is dead. Internal.
 *
 * ```ts
 * const ctx: EngineContext = { echo: false, logger: console, hideParameters: false, invalidate }
 * ```
 */
export interface EngineContext extends ObserverSlot {
  readonly echo: boolean | 'debug'
  readonly logger: Logger
  readonly hideParameters: boolean
  /** Tells the pool a checked-out connection is dead (hard invalidation). */
  invalidate(connection: DbConnection, error: unknown): void
  /** True once the engine's pool has been disposed (absent: never). */
  isDisposed?(): boolean
}

/**
 * What a server says about its connection slots: `max_connections`, the
 * slots reserved for superusers (and roles with `pg_use_reserved_connections`),
 * and the client connections open now (the asking one included).
 *
 * ```ts
 * const limits: ServerConnectionLimits = { maxConnections: 100, reserved: 3, inUse: 12 }
 * ```
 */
export interface ServerConnectionLimits {
  readonly maxConnections: number
  readonly reserved: number
  readonly inUse: number
}

/** Everything a dialect module needs to build its driver. */
export interface DialectConfig {
  readonly url: DialectUrl
  /** `EngineOptions.connectArgs`: merged over what the URL says, as is. */
  readonly connectArgs: Readonly<Record<string, unknown>>
  /** Engine-wide isolation level, applied when a connection opens. */
  readonly isolationLevel?: IsolationLevel
  /** Server-enforced statement limit in ms (0 or absent: none). */
  readonly statementTimeout?: number
  readonly context: EngineContext
}

/**
 * How a driver error is classified: the engine turns it into the matching
 * `DatabaseError` subclass.
 */
export interface ErrorInfo {
  readonly kind: 'disconnect' | 'timeout' | 'integrity' | 'other'
  readonly sqlState?: string
  readonly errno?: number
  readonly driverCode?: string
  readonly message: string
  /** The statement was over the server's size limit (MySQL 1153, or the reset that cuts an oversized packet). */
  readonly tooLarge?: boolean
  /** For `kind: 'integrity'`: which constraint, as far as the driver says. */
  readonly integrity?: IntegrityDetails
}

/**
 * One open driver connection, as the pool holds it and as Kysely uses it: the
 * pool's `C` and Kysely's `DatabaseConnection` at once, so a checkout costs no
 * allocation. Each dialect subclasses it. Internal.
 *
 * ```ts
 * const c = await pool.acquire()
 * const { rows } = await c.run('select 1 as one')
 * pool.release(c)
 * ```
 */
export abstract class DbConnection implements DatabaseConnection {
  /** An error the driver emitted while nobody was using it: the connection is dead. */
  broken: unknown = undefined
  /** The pool has been told this connection is dead; never release it again. */
  invalidated = false
  /** When a Connection applied its own isolation level; reverted at checkin. */
  isolationOverride: IsolationLevel | undefined = undefined
  /**
   * The error after which the server rolled the open transaction back on its
   * own (MySQL deadlock, SQLite `SQLITE_FULL`...): until the next BEGIN or
   * ROLLBACK, a statement would run outside any transaction, so the holder
   * refuses them.
   */
  rolledBackBy: unknown = undefined
  /** The statement error that aborted the transaction (PostgreSQL then rolls it back at COMMIT). */
  failedBy: unknown = undefined

  constructor(readonly dialect: DialectDriver) {}

  /** Whether the server says a transaction is open (no round trip). */
  abstract get inTransaction(): boolean

  abstract executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>>

  /** Closes the driver connection; never throws. */
  abstract close(): Promise<void>

  /**
   * Kysely's `.stream()`: the rows in batches of at most `chunkSize`. Called
   * by a holder that has the connection to itself until the iterator ends.
   * This fallback runs the statement whole and hands its rows out in
   * batches; dialects override it to fetch batch by batch (a server-side
   * cursor, a streamed result, a statement iterator).
   */
  streamQuery<R>(compiledQuery: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
    return wholeInBatches<R>(this, compiledQuery, chunkSize)
  }

  /**
   * Runs one statement and settles the caller's promise through `resolve` /
   * `reject`, after handing this connection to `release`: `engine.db`'s hot
   * path, where one promise spans checkout to checkin. Dialects with a
   * callback API override it to answer straight from the driver's callback.
   * Never throws.
   */
  submit<R>(
    compiledQuery: CompiledQuery,
    release: (connection: DbConnection) => void,
    resolve: (result: QueryResult<R>) => void,
    reject: (error: unknown) => void,
  ): void {
    let pending: Promise<QueryResult<R>>
    try {
      pending = this.executeQuery<R>(compiledQuery)
    } catch (error) {
      release(this)
      reject(error)
      return
    }
    pending.then(
      (result) => {
        release(this)
        resolve(result)
      },
      (error: unknown) => {
        release(this)
        reject(error)
      },
    )
  }

  /**
   * Commits the open transaction. Rejects with `TransactionRolledBackError`
   * when the database rolled it back instead, sending nothing when it already
   * had. Dialects whose server says so in its reply override it.
   */
  commit(): Promise<void> {
    const cause = this.rolledBackBy
    this.rolledBackBy = undefined
    this.failedBy = undefined
    if (cause !== undefined) return Promise.reject(rolledBackError(this.dialect.commitStatement, cause, true))
    return this.run(this.dialect.commitStatement).then(noop)
  }

  /** Rolls back the open transaction. */
  rollback(): Promise<void> {
    this.rolledBackBy = undefined
    this.failedBy = undefined
    return this.run(this.dialect.rollbackStatement).then(noop)
  }

  /**
   * Runs one statement of a holder's queue and calls `done` once the
   * connection is free again, before the caller sees the result. Callback
   * drivers override it to answer straight from the driver's callback.
   */
  runQueued<R>(compiledQuery: CompiledQuery, done: () => void): Promise<QueryResult<R>> {
    let pending: Promise<QueryResult<R>>
    try {
      pending = this.executeQuery<R>(compiledQuery)
    } catch (error) {
      done()
      return Promise.reject(error)
    }
    pending.then(done, done)
    return pending
  }

  /** Runs raw SQL (internal statements: BEGIN, SET, SAVEPOINT...). */
  run<R = Record<string, unknown>>(sql: string, parameters: readonly unknown[] = []): Promise<QueryResult<R>> {
    return this.executeQuery<R>(CompiledQuery.raw(sql, parameters as unknown[]))
  }

  /** Logs a statement when `echo` is on; called only then. */
  protected echo(sql: string, parameters: readonly unknown[]): void {
    const ctx = this.dialect.context
    if (ctx.echo === 'debug' && !ctx.hideParameters && parameters.length > 0) {
      ctx.logger.info(`athanor.engine: ${sql} [parameters: ${formatParameters(parameters)}]`)
    } else {
      ctx.logger.info(`athanor.engine: ${sql}`)
    }
  }

  /** Turns a driver error into a typed one and throws it; a disconnect invalidates this connection first. */
  protected fail(error: unknown, sql: string, parameters: readonly unknown[]): never {
    throw this.mapError(error, sql, parameters)
  }

  /** Turns a driver error into a typed one; a disconnect invalidates this connection first. */
  protected mapError(error: unknown, sql: string, parameters: readonly unknown[]): Error {
    const dialect = this.dialect
    const info = dialect.classify(error)
    // Closed by the engine's dispose() while held: say that, not "the connection was lost".
    const mapped = this.broken instanceof PoolDisposedError ? this.broken : dialect.toError(info, error, sql, parameters)
    if (info.kind === 'disconnect' && !this.invalidated) {
      try {
        dialect.context.invalidate(this, error)
      } catch {
        // Not checked out (e.g. failing in the pool's own reset): the pool closes it itself.
      }
    }
    return mapped
  }
}

function noop(): void {}

/**
 * Runs `compiledQuery` whole on `connection` and hands its rows out in
 * batches of `chunkSize`: `.stream()` for a statement the driver cannot
 * fetch piece by piece.
 *
 * ```ts
 * for await (const { rows } of wholeInBatches(connection, insertReturning, 100)) handle(rows)
 * ```
 */
export async function* wholeInBatches<R>(connection: DbConnection, compiledQuery: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
  const { rows } = await connection.executeQuery<R>(compiledQuery)
  for (let at = 0; at < rows.length; at += chunkSize) yield { rows: rows.slice(at, at + chunkSize) }
}

/** Short, single-line rendering of bound values for echo. */
export function formatParameters(parameters: readonly unknown[]): string {
  const shown = parameters.slice(0, 10).map((p) => {
    if (typeof p === 'string') return JSON.stringify(p.length > 100 ? `${p.slice(0, 100)}...` : p)
    if (typeof p === 'bigint') return `${p}n`
    if (p instanceof Date) return p.toISOString()
    if (p instanceof Uint8Array) return `<${p.byteLength} bytes>`
    try {
      return JSON.stringify(p) ?? String(p)
    } catch {
      return String(p)
    }
  })
  return `[${shown.join(', ')}${parameters.length > 10 ? `, ... ${parameters.length - 10} more` : ''}]`
}

/**
 * What each dialect module supplies: the pool driver (open, close, ping,
 * reset), error classification, transaction and isolation SQL, the Kysely
 * parts and the capabilities. Internal: the engine is its only user.
 *
 * ```ts
 * const dialect = await createDialectDriver(config) // one per engine
 * const pool = createPool('queue', dialect, options)
 * ```
 */
export interface DialectDriver extends PoolDriver<DbConnection> {
  readonly name: DialectName
  readonly context: EngineContext
  /** May change after the first connection (MariaDB's RETURNING is detected from the server version). */
  readonly capabilities: DialectCapabilities
  /** Isolation levels this dialect accepts (besides 'AUTOCOMMIT', which all accept). */
  readonly isolationLevels: readonly IsolationLevel[]
  /**
   * A connection's own isolation level goes into each BEGIN instead of a
   * session-level SET (behind a transaction pooler, where session state leaks).
   */
  readonly isolationPerTransaction?: boolean

  open(): Promise<DbConnection>
  close(connection: DbConnection): Promise<void>
  ping(connection: DbConnection): Promise<boolean>
  reset(connection: DbConnection, mode: ResetMode): Promise<void> | void
  isTemporaryOpenError(error: unknown): boolean
  /**
   * Reads the server's connection limit and use on `connection`, bypassing
   * echo (PostgreSQL, MySQL/MariaDB; absent for in-process databases).
   */
  serverConnectionLimits?(connection: DbConnection): Promise<ServerConnectionLimits>

  /** Sorts a driver error: disconnect, statement timeout, constraint violation, other. */
  classify(error: unknown): ErrorInfo
  /** Builds the typed error for a failed statement. */
  toError(info: ErrorInfo, cause: unknown, sql: string, parameters: readonly unknown[]): Error
  isDisconnect(error: unknown): boolean

  /** Statements that open a transaction (Kysely's settings, or none) on `connection`. */
  beginStatements(settings?: TransactionSettings, connection?: DbConnection): readonly string[]
  readonly commitStatement: string
  readonly rollbackStatement: string
  savepointStatement(name: string): string
  releaseSavepointStatement(name: string): string
  rollbackToSavepointStatement(name: string): string
  /** Sets the session's isolation level for the following transactions. */
  isolationStatement(level: Exclude<IsolationLevel, 'AUTOCOMMIT'>): string
  /** Puts the session's isolation level back to the engine's (or the server's default). */
  revertIsolationStatement(): string

  /** Quotes one identifier (a table or column name). */
  quoteIdentifier(name: string): string
  /** The placeholder for the `index`-th (0-based) bound parameter. */
  placeholder(index: number): string

  createAdapter(): DialectAdapter
  createQueryCompiler(): QueryCompiler
  // Kysely's own signature takes an untyped Kysely.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  createIntrospector(db: Kysely<any>): DatabaseIntrospector
}
