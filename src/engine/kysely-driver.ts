import { Kysely } from 'kysely'
import type { CompiledQuery, DatabaseConnection, Dialect, Driver, QueryResult, TransactionSettings } from 'kysely'
import { acquireDirect, acquireDirectInOperation, invalidateDirect, releaseDirect } from '../pool/direct.js'
import type { Pool } from '../pool/types.js'
import type { DbConnection, DialectDriver } from './dialect.js'
import { createDirectKysely } from './direct-query-executor.js'
import type { StatementRunner } from './direct-query-executor.js'
import { ConnectionClosedError, NotSupportedError, rolledBackError } from './errors.js'
import { STREAM_OPEN, streamOnQueue } from './stream.js'
import { StatementQueue } from './statement-queue.js'
import { withCallerStack } from './caller-stack.js'
import type { QueueHolder } from './statement-queue.js'

/**
 * Checks a live connection out of the pool. A connection whose driver
 * reported an error while it sat idle is invalidated and another taken, so
 * a dropped idle connection costs the caller nothing. `first` is a
 * connection already checked out (and found broken) by the caller.
 *
 * ```ts
 * const c = await acquireLive(pool)
 * ```
 */
export async function acquireLive(pool: Pool<DbConnection>, first?: DbConnection, inOperation = false): Promise<DbConnection> {
  let connection = first ?? (await (inOperation ? acquireDirectInOperation(pool) : acquireDirect(pool)))
  while (connection.broken !== undefined) {
    invalidateConnection(pool, connection, connection.broken)
    connection = await acquireDirect(pool)
  }
  return connection
}

/**
 * Tells the pool a checked-out connection is dead, once.
 *
 * ```ts
 * invalidateConnection(pool, c, error)
 * ```
 */
export function invalidateConnection(pool: Pool<DbConnection>, connection: DbConnection, error: unknown): void {
  if (connection.invalidated) return
  connection.invalidated = true
  invalidateDirect(pool, connection, error)
}

/**
 * Runs Kysely's transaction statements on a connection, for both drivers below.
 *
 * ```ts
 * await beginOn(dialect, c, { isolationLevel: 'serializable' })
 * ```
 */
export async function beginOn(dialect: DialectDriver, connection: DbConnection, settings?: TransactionSettings): Promise<void> {
  // A new transaction: what the server did to the last one no longer matters.
  connection.rolledBackBy = undefined
  connection.failedBy = undefined
  for (const statement of dialect.beginStatements(settings, connection)) await connection.run(statement)
}

/**
 * Kysely's driver for `engine.db`: every statement checks a connection out of
 * the pool and back in; `db.transaction()`, `db.startTransaction()` and
 * `db.connection()` hold one, through a {@link PoolLease} that dies when
 * Kysely releases it. As a {@link StatementRunner} it also runs one statement
 * from checkout to checkin with a single promise, for {@link DirectQueryExecutor}.
 *
 * ```ts
 * const db = new Kysely<DB>({ dialect: createPoolDialect(pool, dialect) })
 * ```
 */
export class EnginePoolDriver implements Driver, StatementRunner {
  readonly #release: (connection: DbConnection) => Promise<void>

  constructor(
    readonly pool: Pool<DbConnection>,
    readonly dialect: DialectDriver,
    /** The engine runs in AUTOCOMMIT: transactions send nothing, as on a Connection. */
    readonly autocommit: boolean,
  ) {
    // A connection a disconnect invalidated is already out of the pool's hands.
    // The promise settles once the connection is back in the pool (after its reset).
    this.#release = (c) => (c.invalidated ? RESOLVED : releaseDirect(pool, c))
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new PoolLease(this, await acquireLive(this.pool, undefined, true))
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return (connection as PoolLease).release()
  }

  async provideConnection<T>(consumer: (connection: DatabaseConnection) => Promise<T>): Promise<T> {
    const lease = new PoolLease(this, await acquireLive(this.pool, undefined, true))
    try {
      return await consumer(lease)
    } finally {
      await lease.release()
    }
  }

  runStatement<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const pool = this.pool
    const release = this.#release
    // One promise from checkout to checkin: the driver's callback settles it.
    return new Promise<QueryResult<R>>((resolve, reject) => {
      acquireDirectInOperation(pool).then((connection) => {
        if (connection.broken === undefined) connection.submit<R>(query, release, resolve, reject)
        else acquireLive(pool, connection).then((live) => live.submit<R>(query, release, resolve, reject), reject)
      }, reject)
    })
  }

  /** `engine.db`'s `.stream()`: a connection of its own, back in the pool once the iterator ends. */
  async *streamStatement<R>(query: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
    const lease = new PoolLease(this, await acquireLive(this.pool))
    try {
      yield* lease.streamQuery<R>(query, chunkSize)
    } finally {
      await lease.release()
    }
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return (connection as PoolLease).begin(settings)
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return (connection as PoolLease).end('commit')
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return (connection as PoolLease).end('rollback')
  }

  savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    return (connection as PoolLease).section(this.dialect.savepointStatement(name))
  }

  rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    return (connection as PoolLease).section(this.dialect.rollbackToSavepointStatement(name))
  }

  releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    return (connection as PoolLease).section(this.dialect.releaseSavepointStatement(name))
  }

  /** The engine owns the pool: `engine.dispose()` closes it, not `db.destroy()`. */
  async destroy(): Promise<void> {}
}

/** Where a {@link PoolLease} stands. */
const enum LeaseState {
  /** Statements run (in a transaction or not). */
  Open,
  /** Its transaction's block ended: statements are refused until the end (or, after a failed commit, the rollback) is done. */
  Ending,
  /** Back in the pool: nothing runs. */
  Released,
}

const LEASE_ENDING =
  "this Kysely transaction's block has ended (commit or rollback in progress, or a failed commit not yet rolled back): the statement was not sent"
const LEASE_RELEASED = "this Kysely connection's block has ended and its connection is back in the pool: the statement was not sent"

/**
 * What Kysely holds for one checkout of `engine.db` (`db.connection()`,
 * `db.transaction()`, `db.startTransaction()`): the pooled connection's
 * statements run through it one at a time, a transaction's statements are
 * refused from the moment its block ends, and after release it never touches
 * the connection again (another caller may hold it by then). Internal.
 *
 * ```ts
 * const lease = new PoolLease(driver, await pool.acquire())
 * await lease.executeQuery(CompiledQuery.raw('select 1'))
 * await lease.release()
 * ```
 */
export class PoolLease implements DatabaseConnection, QueueHolder {
  #connection: DbConnection | undefined
  #state = LeaseState.Open
  /** The server has a transaction of ours open, in queue order. */
  #txOpen = false
  #releasing: Promise<void> | undefined = undefined
  /** A `.stream()` is being read: other statements are refused until it ends. */
  #streaming = false
  readonly #queue: StatementQueue

  constructor(
    private readonly driver: EnginePoolDriver,
    connection: DbConnection,
  ) {
    this.#connection = connection
    this.#queue = new StatementQueue(this)
  }

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (this.#state !== LeaseState.Open) return Promise.reject(this.#refusal())
    if (this.#streaming) return Promise.reject(new NotSupportedError(STREAM_OPEN))
    // Kysely's transactions and db.connection() come here, through Kysely's executor.
    return withCallerStack(this.#queue.statement<R>(query))
  }

  /** Kysely's `.stream()`: the connection stays with the stream until its iterator ends. */
  async *streamQuery<R>(query: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
    if (this.#state !== LeaseState.Open) throw this.#refusal()
    if (this.#streaming) throw new NotSupportedError(STREAM_OPEN)
    yield* streamOnQueue<R>(this.#queue, () => this.#live(), query, chunkSize, (on) => (this.#streaming = on))
  }

  connectionForJob(): DbConnection {
    return this.#live()
  }

  refuseAtStart(sql: string): Error | undefined {
    if (!this.#txOpen) return undefined
    const cause = this.#connection?.rolledBackBy
    return cause === undefined ? undefined : rolledBackError(sql, cause, false)
  }

  #live(): DbConnection {
    const connection = this.#connection
    if (connection === undefined) throw new ConnectionClosedError(LEASE_RELEASED)
    return connection
  }

  #refusal(): ConnectionClosedError {
    return new ConnectionClosedError(this.#state === LeaseState.Released ? LEASE_RELEASED : LEASE_ENDING)
  }

  begin(settings: TransactionSettings): Promise<void> {
    if (this.#state !== LeaseState.Open) return Promise.reject(this.#refusal())
    if (this.driver.autocommit) return RESOLVED
    return this.#queue.exclusive(async () => {
      await beginOn(this.driver.dialect, this.#live(), settings)
      this.#txOpen = true
    }, false)
  }

  /**
   * Ends the transaction: statements are refused at once, the end statement
   * runs after those already issued. After a failed commit the lease stays
   * refusing until Kysely (or the caller) rolls back.
   */
  async end(how: 'commit' | 'rollback'): Promise<void> {
    if (this.#state === LeaseState.Released) {
      if (how === 'rollback') return
      throw this.#refusal()
    }
    this.#state = LeaseState.Ending
    const driver = this.driver
    let ended = false
    try {
      await this.#queue.exclusive(async () => {
        this.#txOpen = false
        const c = this.#live()
        if (driver.autocommit) return
        if (how === 'commit') await c.commit()
        // A lost connection took its transaction with it; the caller's error is the one to see.
        else if (!c.invalidated) await c.rollback()
      }, false)
      ended = true
    } finally {
      if (this.#state === LeaseState.Ending && (ended || how === 'rollback')) this.#state = LeaseState.Open
    }
  }

  /** An internal statement (a savepoint), in the queue, refused like a statement. */
  section(sql: string): Promise<void> {
    if (this.#state !== LeaseState.Open) return Promise.reject(this.#refusal())
    return this.#queue.exclusive(async () => void (await this.#live().run(sql)), true, sql)
  }

  /** Refuses everything from now on; gives the connection back once what was issued is done. */
  release(): Promise<void> {
    if (this.#releasing !== undefined) return this.#releasing
    this.#state = LeaseState.Released
    this.#releasing = this.#queue.exclusive(async () => {
      const connection = this.#connection
      this.#connection = undefined
      this.#txOpen = false
      // Settles once the connection is back in the pool, after its reset.
      if (connection !== undefined && !connection.invalidated) await releaseDirect(this.driver.pool, connection)
    }, false)
    return this.#releasing
  }
}

const RESOLVED: Promise<void> = Promise.resolve()

/**
 * The Kysely dialect of an engine: its adapter, compiler and introspector,
 * with a driver on the engine's pool.
 *
 * ```ts
 * const db = new Kysely<DB>({ dialect: engine.kyselyDialect })
 * ```
 */
export function createPoolDialect(pool: Pool<DbConnection>, dialect: DialectDriver, autocommit = false): Dialect {
  return Object.freeze({
    createAdapter: () => dialect.createAdapter(),
    createDriver: () => new EnginePoolDriver(pool, dialect, autocommit),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
  } satisfies Dialect)
}

/**
 * `engine.db`: a Kysely whose plain statements go from the pool to the driver
 * and back with no layer between (see {@link DirectQueryExecutor}). A dialect
 * whose driver is not an {@link EnginePoolDriver} gets Kysely's own executor.
 *
 * ```ts
 * const db = createPoolKysely<DB>(createPoolDialect(pool, dialect))
 * ```
 */
export function createPoolKysely<DB>(dialect: Dialect): Kysely<DB> {
  const driver = dialect.createDriver()
  if (!(driver instanceof EnginePoolDriver)) return new Kysely<DB>({ dialect })
  return createDirectKysely<DB>(dialect, driver)
}
