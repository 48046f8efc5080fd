import { Kysely } from 'kysely'
import type { CompiledQuery, DatabaseConnection, Dialect, Driver, QueryResult, TransactionSettings } from 'kysely'
import { acquireDirect, invalidateDirect, releaseDirect } from '../pool/direct.js'
import type { Pool } from '../pool/types.js'
import type { DbConnection, DialectDriver } from './dialect.js'
import { createDirectKysely } from './direct-query-executor.js'
import type { StatementRunner } from './direct-query-executor.js'

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
export async function acquireLive(pool: Pool<DbConnection>, first?: DbConnection): Promise<DbConnection> {
  let connection = first ?? (await acquireDirect(pool))
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
  for (const statement of dialect.beginStatements(settings)) await connection.run(statement)
}

/**
 * Kysely's driver for `engine.db`: every statement checks a connection out of
 * the pool and back in; `db.transaction()` holds one for its duration.
 * The connection Kysely sees is the pooled object itself, so a checkout
 * allocates nothing. As a {@link StatementRunner} it also runs one statement
 * from checkout to checkin with a single promise, for {@link DirectQueryExecutor}.
 *
 * ```ts
 * const db = new Kysely<DB>({ dialect: createPoolDialect(pool, dialect) })
 * ```
 */
export class EnginePoolDriver implements Driver, StatementRunner {
  readonly #release: (connection: DbConnection) => Promise<void>

  constructor(
    private readonly pool: Pool<DbConnection>,
    private readonly dialect: DialectDriver,
    /** The engine runs in AUTOCOMMIT: transactions send nothing, as on a Connection. */
    private readonly autocommit: boolean,
  ) {
    // A connection a disconnect invalidated is already out of the pool's hands.
    // The promise settles once the connection is back in the pool (after its reset).
    this.#release = (c) => (c.invalidated ? RESOLVED : releaseDirect(pool, c))
  }

  async init(): Promise<void> {}

  acquireConnection(): Promise<DatabaseConnection> {
    return acquireLive(this.pool)
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.#release(connection as DbConnection)
  }

  async provideConnection<T>(consumer: (connection: DatabaseConnection) => Promise<T>): Promise<T> {
    const connection = await acquireLive(this.pool)
    try {
      return await consumer(connection)
    } finally {
      await this.#release(connection)
    }
  }

  runStatement<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const pool = this.pool
    const release = this.#release
    // One promise from checkout to checkin: the driver's callback settles it.
    return new Promise<QueryResult<R>>((resolve, reject) => {
      acquireDirect(pool).then((connection) => {
        if (connection.broken === undefined) connection.submit<R>(query, release, resolve, reject)
        else acquireLive(pool, connection).then((live) => live.submit<R>(query, release, resolve, reject), reject)
      }, reject)
    })
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    if (this.autocommit) return RESOLVED
    return beginOn(this.dialect, connection as DbConnection, settings)
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    if (!this.autocommit) await (connection as DbConnection).run(this.dialect.commitStatement)
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const c = connection as DbConnection
    // A lost connection took its transaction with it; the caller's error is the one to see.
    if (!this.autocommit && !c.invalidated) await c.run(this.dialect.rollbackStatement)
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await (connection as DbConnection).run(this.dialect.savepointStatement(name))
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await (connection as DbConnection).run(this.dialect.rollbackToSavepointStatement(name))
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await (connection as DbConnection).run(this.dialect.releaseSavepointStatement(name))
  }

  /** The engine owns the pool: `engine.dispose()` closes it, not `db.destroy()`. */
  async destroy(): Promise<void> {}
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
