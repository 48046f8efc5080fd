import type { CompiledQuery, DatabaseConnection, Dialect, Driver, Kysely, QueryResult, TransactionSettings } from 'kysely'
import { releaseDirect } from '../pool/direct.js'
import { PoolDisposedError } from '../pool/errors.js'
import type { Pool } from '../pool/types.js'
import type { DbConnection, DialectDriver } from './dialect.js'
import { ConnectionClosedError, DisconnectError, TransactionError } from './errors.js'
import { messageOf } from './dialects/base.js'
import { createDirectKysely } from './direct-query-executor.js'
import type { StatementRunner } from './direct-query-executor.js'
import { insertMany } from './insert-many.js'
import { acquireLive, beginOn, invalidateConnection } from './kysely-driver.js'
import type { Connection, Engine, InsertManyOptions, IsolationLevel, Transaction } from './types.js'

/** What a Connection needs from its engine. Internal. */
export interface ConnectionHost<DB> {
  readonly engine: Engine<DB>
  readonly pool: Pool<DbConnection>
  readonly dialectDriver: DialectDriver
  readonly kyselyDialect: Dialect
  /** The engine's own isolation level. */
  readonly isolationLevel: IsolationLevel | undefined
}

/**
 * Checks a connection out and applies a per-connection isolation level
 * (reverted by {@link EngineConnection.close}). Internal.
 *
 * ```ts
 * const c = await checkoutWithLevel(host, 'SERIALIZABLE')
 * ```
 */
export async function checkoutWithLevel<DB>(host: ConnectionHost<DB>, level: IsolationLevel | undefined): Promise<DbConnection> {
  const connection = await acquireLive(host.pool)
  if (level === undefined || level === 'AUTOCOMMIT') return connection
  try {
    await connection.run(host.dialectDriver.isolationStatement(level))
    connection.isolationOverride = level
  } catch (error) {
    if (!connection.invalidated) invalidateConnection(host.pool, connection, error)
    throw error
  }
  return connection
}

type TransactionKind = 'root' | 'autocommit' | 'savepoint'

/** Who ends a transaction. */
interface TransactionOwner {
  endTransaction(tx: ConnectionTransaction, how: 'commit' | 'rollback'): Promise<void>
}

/** What `conn.db`'s driver needs from its Connection. */
interface HeldConnectionOwner {
  live(): Promise<DbConnection>
  runStatement<R>(query: CompiledQuery): Promise<QueryResult<R>>
  beginWith(settings: TransactionSettings | undefined): Promise<unknown>
  commit(): Promise<void>
  rollback(): Promise<void>
}

/** A transaction or savepoint of one Connection. */
class ConnectionTransaction implements Transaction {
  active = true

  constructor(
    readonly owner: TransactionOwner,
    readonly kind: TransactionKind,
    readonly savepoint?: string,
  ) {}

  get isActive(): boolean {
    return this.active
  }

  commit(): Promise<void> {
    return this.owner.endTransaction(this, 'commit')
  }

  rollback(): Promise<void> {
    return this.owner.endTransaction(this, 'rollback')
  }
}

/**
 * One pooled connection held until `close()`: SQLAlchemy's `Connection`.
 * Obtained with `engine.connect()`.
 *
 * - `begin()` opens a transaction, `beginNested()` a SAVEPOINT (savepoints stack).
 * - With isolation level `'AUTOCOMMIT'` no BEGIN is sent: `begin()`/`commit()` are markers.
 * - `close()` rolls back an open transaction, reverts a per-connection
 *   isolation level and returns the connection; it never throws.
 * - After a disconnect (or `invalidate()`) the connection is gone; inside a
 *   transaction call `rollback()` first, then the next statement checks out a
 *   fresh one.
 *
 * ```ts
 * await using conn = await engine.connect({ isolationLevel: 'SERIALIZABLE' })
 * const tx = await conn.begin()
 * await conn.db.updateTable('account').set({ balance: 0 }).execute()
 * await tx.commit()
 * ```
 */
export class EngineConnection<DB> implements Connection<DB> {
  #connection: DbConnection | undefined
  #closed = false
  readonly #host: ConnectionHost<DB>
  readonly #level: IsolationLevel | undefined
  #root: ConnectionTransaction | undefined
  readonly #savepoints: ConnectionTransaction[] = []
  #savepointCounter = 0
  #db: Kysely<DB> | undefined
  #reconnecting: Promise<DbConnection> | undefined

  constructor(host: ConnectionHost<DB>, connection: DbConnection, level: IsolationLevel | undefined) {
    this.#host = host
    this.#connection = connection
    this.#level = level
  }

  get engine(): Engine<DB> {
    return this.#host.engine
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Kysely bound to this connection; `db.transaction()` is this connection's transaction. */
  get db(): Kysely<DB> {
    if (this.#db === undefined) {
      const dialect = this.#host.kyselyDialect
      const driver = new HeldConnectionDriver(this)
      this.#db = createDirectKysely<DB>(
        {
          createAdapter: () => dialect.createAdapter(),
          createDriver: () => driver,
          createQueryCompiler: () => dialect.createQueryCompiler(),
          createIntrospector: (db) => dialect.createIntrospector(db),
        },
        driver,
      )
    }
    return this.#db
  }

  /**
   * The underlying driver connection, checked out again after an invalidation.
   * `opening` is the transaction whose BEGIN asks: it has nothing to lose yet. Internal.
   */
  async live(opening?: ConnectionTransaction): Promise<DbConnection> {
    if (this.#closed) throw new ConnectionClosedError()
    const lost = this.#root?.active === true && this.#root !== opening
    const connection = this.#connection
    if (connection?.broken instanceof PoolDisposedError) {
      // Closed by the engine's dispose(): every later use says so, and a rollback has nothing to send.
      invalidateConnection(this.#host.pool, connection, connection.broken)
      throw connection.broken
    }
    if (connection !== undefined && !connection.invalidated) {
      const broken = connection.broken
      if (broken === undefined) return connection
      invalidateConnection(this.#host.pool, connection, broken)
      // Died while held: the first statement to notice reports the disconnect itself.
      if (lost) {
        throw new DisconnectError(
          `the connection to the database was lost inside a transaction (call rollback() before using it again): ${messageOf(broken)}`,
          { cause: broken },
        )
      }
    }
    if (lost) {
      throw new TransactionError('the connection was lost inside a transaction: call rollback() before using it again')
    }
    this.#connection = undefined
    // Concurrent statements share one reconnection, so none checks out a second connection.
    if (this.#reconnecting === undefined) {
      this.#reconnecting = checkoutWithLevel(this.#host, this.#level).then(
        (fresh) => {
          this.#reconnecting = undefined
          this.#connection = fresh
          return fresh
        },
        (error: unknown) => {
          this.#reconnecting = undefined
          throw error
        },
      )
    }
    return this.#reconnecting
  }

  /** One statement on the held connection; `live()` only when it needs replacing. Internal. */
  runStatement<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const connection = this.#connection
    if (!this.#closed && connection !== undefined && !connection.invalidated && connection.broken === undefined) {
      return connection.executeQuery<R>(query)
    }
    return this.live().then((live) => live.executeQuery<R>(query))
  }

  inTransaction(): boolean {
    if (this.#root?.active) return true
    const connection = this.#connection
    return connection !== undefined && !connection.invalidated && connection.inTransaction
  }

  get #autocommit(): boolean {
    return (this.#level ?? this.#host.isolationLevel) === 'AUTOCOMMIT'
  }

  begin(): Promise<Transaction> {
    return this.beginWith(undefined)
  }

  /** `begin()` with Kysely's transaction settings. Internal. */
  async beginWith(settings: TransactionSettings | undefined): Promise<ConnectionTransaction> {
    if (this.#root?.active) throw new TransactionError('a transaction is already open on this connection: use beginNested() for a savepoint')
    // Claimed before the first await, so a concurrent begin() sees it.
    const tx = new ConnectionTransaction(this, this.#autocommit ? 'autocommit' : 'root')
    this.#root = tx
    if (tx.kind === 'autocommit') return tx
    try {
      await beginOn(this.#host.dialectDriver, await this.live(tx), settings)
    } catch (error) {
      tx.active = false
      throw error
    }
    return tx
  }

  async beginNested(): Promise<Transaction> {
    if (this.#autocommit) throw new TransactionError('savepoints need a transaction, and this connection is in AUTOCOMMIT mode')
    if (!this.#root?.active) await this.begin()
    const name = `athanor_sp_${++this.#savepointCounter}`
    const connection = await this.live()
    await connection.run(this.#host.dialectDriver.savepointStatement(name))
    const savepoint = new ConnectionTransaction(this, 'savepoint', name)
    this.#savepoints.push(savepoint)
    return savepoint
  }

  /** Commits the open transaction (all savepoints included); a no-op when none is open. */
  async commit(): Promise<void> {
    if (this.#root?.active) await this.endTransaction(this.#root, 'commit')
  }

  /** Rolls back the open transaction; a no-op when none is open. */
  async rollback(): Promise<void> {
    if (this.#root?.active) await this.endTransaction(this.#root, 'rollback')
  }

  /** Ends a transaction or savepoint. Internal: called by the Transaction objects. */
  async endTransaction(tx: ConnectionTransaction, how: 'commit' | 'rollback'): Promise<void> {
    if (this.#closed) throw new ConnectionClosedError()
    if (!tx.active) throw new TransactionError(`cannot ${how}: the transaction is no longer active`)
    const dialect = this.#host.dialectDriver
    if (tx.kind === 'savepoint') {
      const at = this.#savepoints.indexOf(tx)
      // Ending a savepoint ends every savepoint opened after it.
      for (const inner of this.#savepoints.splice(at)) inner.active = false
      const connection = await this.live()
      const name = tx.savepoint as string
      await connection.run(how === 'commit' ? dialect.releaseSavepointStatement(name) : dialect.rollbackToSavepointStatement(name))
      return
    }
    this.#endAll()
    if (tx.kind === 'autocommit') return
    const connection = this.#connection
    // A lost connection took its transaction with it: nothing to send.
    if (connection === undefined || connection.invalidated) {
      if (how === 'rollback') return
      if (connection?.broken instanceof PoolDisposedError) throw connection.broken
      throw new TransactionError('cannot commit: the connection was lost and the transaction with it')
    }
    await connection.run(how === 'commit' ? dialect.commitStatement : dialect.rollbackStatement)
  }

  #endAll(): void {
    if (this.#root !== undefined) this.#root.active = false
    for (const savepoint of this.#savepoints) savepoint.active = false
    this.#savepoints.length = 0
  }

  async insertMany<R extends Record<string, unknown>>(
    table: string,
    rows: readonly Record<string, unknown>[],
    options?: InsertManyOptions,
  ): Promise<R[]> {
    const connection = await this.live()
    const dialect = this.#host.dialectDriver
    // Several pages are one unit: wrap them in a transaction unless the caller has one.
    if (this.inTransaction() || this.#autocommit) return insertMany<R>(connection, dialect, table, rows, options)
    const tx = await this.begin()
    try {
      const result = await insertMany<R>(connection, dialect, table, rows, options)
      await tx.commit()
      return result
    } catch (error) {
      if (tx.isActive) await tx.rollback().catch(() => undefined)
      throw error
    }
  }

  invalidate(error?: unknown): void {
    const connection = this.#connection
    if (this.#closed || connection === undefined || connection.invalidated) return
    invalidateConnection(this.#host.pool, connection, error ?? new Error('invalidated by the application'))
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#reconnecting !== undefined) await this.#reconnecting.catch(() => undefined)
    const connection = this.#connection
    this.#connection = undefined
    const wasOpen = this.#root?.active === true && this.#root.kind === 'root'
    this.#endAll()
    if (connection === undefined || connection.invalidated) return
    const dialect = this.#host.dialectDriver
    try {
      if (wasOpen || connection.inTransaction) await connection.run(dialect.rollbackStatement)
      if (connection.isolationOverride !== undefined) {
        await connection.run(dialect.revertIsolationStatement())
        connection.isolationOverride = undefined
      }
    } catch (error) {
      // A connection we could not put back in order is not returned to the pool.
      invalidateConnection(this.#host.pool, connection, error)
      return
    }
    // Awaited: once close() resolves, the connection is back in the pool (its reset done).
    if (!connection.invalidated) await releaseDirect(this.#host.pool, connection)
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }
}

/** Kysely's driver for `conn.db`: always the held connection; transactions are the Connection's. */
class HeldConnectionDriver implements Driver, StatementRunner {
  constructor(private readonly owner: HeldConnectionOwner) {}

  async init(): Promise<void> {}

  async provideConnection<T>(consumer: (connection: DatabaseConnection) => Promise<T>): Promise<T> {
    return consumer(await this.owner.live())
  }

  runStatement<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.owner.runStatement<R>(query)
  }

  acquireConnection(): Promise<DatabaseConnection> {
    return this.owner.live()
  }

  async releaseConnection(): Promise<void> {}

  async beginTransaction(_connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await this.owner.beginWith(settings)
  }

  commitTransaction(): Promise<void> {
    return this.owner.commit()
  }

  rollbackTransaction(): Promise<void> {
    return this.owner.rollback()
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    const c = connection as DbConnection
    await c.run(c.dialect.savepointStatement(name))
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    const c = connection as DbConnection
    await c.run(c.dialect.rollbackToSavepointStatement(name))
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    const c = connection as DbConnection
    await c.run(c.dialect.releaseSavepointStatement(name))
  }

  async destroy(): Promise<void> {}
}
