import type { LogFormat } from './echo.js'
import type { Dialect as KyselyDialect, Kysely } from 'kysely'
import type { EngineKyselyOptions } from './kysely-options.js'
import type { Pool, PoolClassName, PoolFactory, PoolOptions } from '../pool/types.js'
import type { ConnectionBudgetOptions } from './connection-budget.js'
import type { ReplicaRoutingOptions } from './replicas/types.js'
import type { EngineUrl } from './url.js'

/** The four dialects athanor speaks. */
export type DialectName = 'postgresql' | 'mysql' | 'sqlite' | 'pglite'

/** Transaction isolation; `AUTOCOMMIT` runs every statement in its own transaction. */
export type IsolationLevel =
  | 'READ UNCOMMITTED'
  | 'READ COMMITTED'
  | 'REPEATABLE READ'
  | 'SERIALIZABLE'
  | 'AUTOCOMMIT'

/**
 * Where `echo` and `echoPool` write. `console` works, and so does a pino
 * logger as is (`logger.info(obj, msg)` and `logger.info(msg)` both accepted).
 */
export interface Logger {
  /** Checkouts and checkins (`echoPool: 'debug'`); optional. */
  debug?(...args: unknown[]): void
  /** Statements (`echo`) and pool events (`echoPool`). */
  info(...args: unknown[]): void
  /** Invalidations, timeouts and leaks. */
  warn(...args: unknown[]): void
  /** Errors the pool met in the background (a failed close or reset). */
  error(...args: unknown[]): void
}

/** `createEngine`'s options: every pool option, plus the engine's own. */
export interface EngineOptions extends PoolOptions {
  /** `'queue'` (default; `'single'` for in-memory URLs), `'null'`, `'static'`, `'assertion'`, or a factory. */
  readonly poolClass?: PoolClassName | PoolFactory
  readonly isolationLevel?: IsolationLevel
  /** Log every statement (`'debug'`: with parameters, unless `hideParameters`). */
  readonly echo?: boolean | 'debug'
  /** Log pool events (`'debug'`: checkouts and checkins too). */
  readonly echoPool?: boolean | 'debug'
  /** Where echo goes. Default `console`. */
  readonly logger?: Logger
  /**
   * How echo reaches the logger: `'text'` (a string per line) or `'object'`
   * (pino's `logger.info({ event, sql, durationMs, pool, errorCode... }, line)`,
   * one record per statement once it has run). Default: `'object'` for a
   * logger with a `child()` method (pino, bunyan...), `'text'` for `console`
   * and any other.
   */
  readonly logFormat?: LogFormat
  /** Never show bound parameter values in logs or errors. */
  readonly hideParameters?: boolean
  /** Passed to the driver's connect call as is, over what the URL says. */
  readonly connectArgs?: Readonly<Record<string, unknown>>
  /** Server-enforced statement time limit in ms. */
  readonly statementTimeout?: number
  /**
   * The connection budget, checked at the first connection (PostgreSQL,
   * MySQL/MariaDB, queue pools): warn when `poolSize + maxOverflow` exceeds
   * `share` (default 0.5) of the server's free connections, or refuse to
   * start with `onExceed: 'error'`. `false`: no check.
   */
  readonly connectionBudget?: ConnectionBudgetOptions | false
  /**
   * Read replicas of this (PostgreSQL) primary: `createEngine` then returns a
   * routing engine (`RoutingEngine`): reads to a replica, writes to the
   * primary, reads ordered after the caller's own writes (docs/scale-out.md).
   */
  readonly replicas?: readonly (string | EngineUrl)[]
  /** How the routing engine keeps read-your-writes and handles lagging or failing replicas. */
  readonly replicaRouting?: ReplicaRoutingOptions
}

/** What a dialect can do, for the session's flush planning. */
export interface DialectCapabilities {
  /** `INSERT ... RETURNING` works (PostgreSQL, SQLite, PGlite, MariaDB 10.5+). */
  readonly insertReturning: boolean
  /** Most bound parameters one statement may carry. */
  readonly maxParameters: number
  /**
   * Most bytes one statement (text and values) may take: MySQL's
   * `max_allowed_packet` (read from the server once per engine), PostgreSQL's
   * 1 GB message limit, SQLite's SQLITE_MAX_LENGTH. insertMany and the flush split batches to fit.
   */
  readonly maxStatementBytes: number
  /** Savepoints work. */
  readonly savepoints: boolean
}

/** Options for {@link Connection.insertMany}. */
export interface InsertManyOptions<C extends string = string> {
  /** Columns to return per inserted row, in input order (generated keys included). */
  readonly returning?: readonly C[]
  /** Rows per statement at most (default 1 000); also bounded by the dialect's parameter limit and `maxStatementBytes`. */
  readonly pageSize?: number
}

/** A transaction (or a savepoint) opened by `begin()` / `beginNested()`. */
export interface Transaction {
  readonly isActive: boolean
  /** Commits the transaction (releases the savepoint); a rolled-back commit rejects. */
  commit(): Promise<void>
  /** Rolls the transaction (or back to the savepoint) back. */
  rollback(): Promise<void>
}

/**
 * One pooled connection, held until `close()`. `AsyncDisposable`:
 *
 * ```ts
 * await using conn = await engine.connect()
 * await conn.begin()
 * await conn.db.insertInto('person').values({ name: 'Ada' }).execute()
 * await conn.commit()
 * ```
 */
export interface Connection<DB> extends AsyncDisposable {
  readonly engine: Engine<DB>
  /** Kysely bound to this connection and its transaction. */
  readonly db: Kysely<DB>
  /**
   * A Kysely on this connection with Kysely's own `log` and `plugins`
   * (`conn.db` with options). See {@link Engine.kysely}.
   *
   * ```ts
   * const db = conn.kysely<DB>({ log: ['query'] })
   * ```
   */
  kysely<T = DB>(options?: EngineKyselyOptions): Kysely<T>
  readonly closed: boolean
  /** BEGIN on this connection; a second `begin()` is a `TransactionError`. */
  begin(): Promise<Transaction>
  /** A SAVEPOINT inside the current transaction (begins one if none). */
  beginNested(): Promise<Transaction>
  /** Commits the open transaction (and any savepoints in it). */
  commit(): Promise<void>
  /** Rolls the open transaction back. */
  rollback(): Promise<void>
  /** Whether a transaction is open on this connection. */
  inTransaction(): boolean
  /** Multi-row INSERTs in pages; returns the `returning` columns per input row, in order. */
  insertMany<R extends Record<string, unknown>>(
    table: string,
    rows: readonly Record<string, unknown>[],
    options?: InsertManyOptions,
  ): Promise<R[]>
  /** Marks the underlying connection dead: it is closed, not returned to the pool. */
  invalidate(error?: unknown): void
  /** Rolls back an open transaction and returns the connection to the pool. */
  close(): Promise<void>
}

/** Options for one {@link Engine.connect} call. */
export interface ConnectOptions {
  /** Applied at checkout, reverted at checkin. */
  readonly isolationLevel?: IsolationLevel
}

/**
 * A database: a pool of connections and a typed Kysely on it. Make one at
 * start-up with `createEngine`, dispose of it at shutdown.
 *
 * ```ts
 * const engine = createEngine<DB>('postgresql://app@localhost/app', { poolSize: 10 })
 * const rows = await engine.db.selectFrom('person').selectAll().execute()
 * await engine.dispose()
 * ```
 */
export interface Engine<DB> {
  /** The URL, password masked when printed. */
  readonly url: {
    readonly dialect: string
    /** The URL with its password as `***`. */
    toString(): string
  }
  readonly dialect: DialectName
  readonly capabilities: DialectCapabilities
  readonly pool: Pool<unknown>
  /** Each statement checks a connection out and back; `db.transaction()` holds one. */
  readonly db: Kysely<DB>
  /**
   * A Kysely on this engine's pool with Kysely's own options: `log` (levels,
   * or a function that sees each query with its duration) and `plugins`.
   * Statements check connections out of the pool like `engine.db`'s;
   * `destroy()` on it closes nothing (the engine owns the pool). Build it
   * once at start-up and keep it.
   *
   * ```ts
   * const db = engine.kysely<DB>({ log: (event) => console.log(event.query.sql, event.queryDurationMillis), plugins: [new CamelCasePlugin()] })
   * ```
   */
  kysely<T = DB>(options?: EngineKyselyOptions): Kysely<T>
  /**
   * The Kysely dialect behind `db` (adapter, compiler, introspector). A layer
   * above (the Session) builds its own Kysely with these and its own driver.
   * Internal to athanor's layers: applications use {@link Engine.kysely}.
   */
  readonly kyselyDialect: KyselyDialect
  /** Checks a connection out and holds it until `close()` (or `await using`). */
  connect(options?: ConnectOptions): Promise<Connection<DB>>
  /** Connect, begin, run `fn`, commit (or roll back on throw), and always check in. */
  begin<T>(fn: (conn: Connection<DB>) => Promise<T>, options?: ConnectOptions): Promise<T>
  /** Same as {@link Connection.insertMany}, on a connection of its own. */
  insertMany<R extends Record<string, unknown>>(
    table: string,
    rows: readonly Record<string, unknown>[],
    options?: InsertManyOptions,
  ): Promise<R[]>
  /** Closes the pool. `{ close: false }` forgets connections without closing them (forked child). */
  dispose(options?: { close?: boolean; timeout?: number }): Promise<void>
}
