import type { CompiledQuery, DatabaseConnection, Dialect, Driver, Kysely, QueryResult, TransactionSettings } from 'kysely'
import { releaseDirect } from '../pool/direct.js'
import { PoolDisposedError } from '../pool/errors.js'
import type { Pool } from '../pool/types.js'
import type { DbConnection, DialectDriver } from './dialect.js'
import { ConnectionClosedError, DisconnectError, NotSupportedError, rolledBackError, TransactionError } from './errors.js'
import { messageOf } from './dialects/base.js'
import { BoundDialect, createDirectKysely, partsOf } from './direct-query-executor.js'
import type { StatementRunner } from './direct-query-executor.js'
import { StatementQueue } from './statement-queue.js'
import { STREAM_OPEN, streamOnQueue } from './stream.js'
import { withCallerStack } from './caller-stack.js'
import type { QueueHolder } from './statement-queue.js'
import { insertMany } from './insert-many.js'
import { kyselyWithOptions } from './kysely-options.js'
import type { EngineKyselyOptions } from './kysely-options.js'
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
  if (host.dialectDriver.isolationPerTransaction === true) {
    // Behind a transaction pooler: each BEGIN carries the level (see beginStatements).
    connection.isolationOverride = level
    return connection
  }
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
  readonly dialectDriver: DialectDriver
  runStatement<R>(query: CompiledQuery): Promise<QueryResult<R>>
  streamStatement<R>(query: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>>
  runSection(sql: string): Promise<void>
  beginWith(settings: TransactionSettings | undefined): Promise<unknown>
  commit(): Promise<void>
  rollback(): Promise<void>
}

/** Why a Connection refuses its callers' statements. */
const CLOSED = 'this Connection is closed: get a new one with engine.connect(); the statement was not sent'
const BLOCK_ENDED = "this Connection's engine.begin() block has ended: the statement was not sent"
const ENDING = 'this transaction is being committed or rolled back: the statement was not sent (statements after its end belong to the next one)'
const VIEW_ENDED = "this Kysely handle's block (db.connection() or db.transaction()) has ended: the statement was not sent"

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
 * - Statements issued at once run one after another, in the order issued.
 * - `commit()` rejects with `TransactionRolledBackError` when the database
 *   rolled the transaction back instead.
 * - `close()` refuses further statements at once, waits for those already
 *   issued, rolls back an open transaction, reverts a per-connection
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
export class EngineConnection<DB> implements Connection<DB>, QueueHolder, HeldConnectionOwner {
  #connection: DbConnection | undefined
  readonly #host: ConnectionHost<DB>
  readonly #level: IsolationLevel | undefined
  readonly #queue: StatementQueue
  /** Why callers are refused for good (closed, or the owning block ended). */
  #dead: string | undefined = undefined
  /** A root transaction is being committed or rolled back. */
  #ending = false
  /** The server has a transaction of ours open (between BEGIN and the end statement), in queue order. */
  #txOpen = false
  /** The check-in, once `close()` was called. */
  #closing: Promise<void> | undefined = undefined
  /** The connection went back to the pool (or was dropped): nothing may touch it any more. */
  #released = false
  #root: ConnectionTransaction | undefined
  readonly #savepoints: ConnectionTransaction[] = []
  #savepointCounter = 0
  #db: Kysely<DB> | undefined
  #reconnecting: Promise<DbConnection> | undefined
  /** A `.stream()` is being read: other statements are refused until it ends. */
  #streaming = false

  constructor(host: ConnectionHost<DB>, connection: DbConnection, level: IsolationLevel | undefined) {
    this.#host = host
    this.#connection = connection
    this.#level = level
    this.#queue = new StatementQueue(this)
  }

  get engine(): Engine<DB> {
    return this.#host.engine
  }

  get closed(): boolean {
    return this.#closing !== undefined
  }

  get dialectDriver(): DialectDriver {
    return this.#host.dialectDriver
  }

  /** Kysely bound to this connection; `db.transaction()` is this connection's transaction. */
  get db(): Kysely<DB> {
    if (this.#db === undefined) {
      const dialect = this.#host.kyselyDialect
      const driver = new HeldConnectionDriver(this)
      this.#db = createDirectKysely<DB>(new BoundDialect(dialect, driver), driver, partsOf(dialect))
    }
    return this.#db
  }

  kysely<T = DB>(options?: EngineKyselyOptions): Kysely<T> {
    const driver = new HeldConnectionDriver(this)
    return kyselyWithOptions<T>(new BoundDialect(this.#host.kyselyDialect, driver), driver, options)
  }

  /**
   * The underlying driver connection, checked out again after an invalidation.
   * `opening` is the transaction whose BEGIN asks: it has nothing to lose yet. Internal.
   */
  async live(opening?: ConnectionTransaction): Promise<DbConnection> {
    if (this.#released) throw new ConnectionClosedError(CLOSED)
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

  /** The connection for the next statement in the queue. Internal. */
  connectionForJob(): DbConnection | Promise<DbConnection> {
    const connection = this.#connection
    if (connection !== undefined && !connection.invalidated && connection.broken === undefined) return connection
    return this.live()
  }

  /** A statement of a transaction the server rolled back would run in autocommit: refuse it. Internal. */
  refuseAtStart(sql: string): Error | undefined {
    if (!this.#txOpen) return undefined
    const cause = this.#connection?.rolledBackBy
    return cause === undefined ? undefined : rolledBackError(sql, cause, false)
  }

  /** Why a caller's statement is refused now, if it is. */
  #refusal(): ConnectionClosedError | undefined {
    if (this.#dead !== undefined) return new ConnectionClosedError(this.#dead)
    if (this.#ending) return new ConnectionClosedError(ENDING)
    return undefined
  }

  /** One statement on the held connection, after those issued before it. Internal. */
  runStatement<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (this.#dead !== undefined || this.#ending) return Promise.reject(this.#refusal())
    if (this.#streaming) return Promise.reject(new NotSupportedError(STREAM_OPEN))
    return this.#queue.statement<R>(query)
  }

  /** Kysely's `.stream()` on the held connection, after the statements issued before it. Internal. */
  async *streamStatement<R>(query: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
    const refused = this.#refusal()
    if (refused !== undefined) throw refused
    if (this.#streaming) throw new NotSupportedError(STREAM_OPEN)
    yield* streamOnQueue<R>(this.#queue, () => this.connectionForJob(), query, chunkSize, (on) => (this.#streaming = on))
  }

  /** One internal statement (a Kysely savepoint) in the queue, refused like a caller's. Internal. */
  runSection(sql: string): Promise<void> {
    const refused = this.#refusal()
    if (refused !== undefined) return Promise.reject(refused)
    return this.#queue.exclusive(async () => void (await (await this.live()).run(sql)), true, sql)
  }

  /** {@inheritDoc Connection.inTransaction} */
  inTransaction(): boolean {
    if (this.#root?.active) return true
    const connection = this.#connection
    return connection !== undefined && !connection.invalidated && connection.inTransaction
  }

  get #autocommit(): boolean {
    return (this.#level ?? this.#host.isolationLevel) === 'AUTOCOMMIT'
  }

  /** {@inheritDoc Connection.begin} */
  begin(): Promise<Transaction> {
    return this.beginWith(undefined)
  }

  /** `begin()` with Kysely's transaction settings. Internal. */
  async beginWith(settings: TransactionSettings | undefined): Promise<ConnectionTransaction> {
    // A transaction still ending is not in the way: this BEGIN queues after its end.
    if (this.#dead !== undefined) throw new ConnectionClosedError(this.#dead)
    if (this.#root?.active) throw new TransactionError('a transaction is already open on this connection: use beginNested() for a savepoint')
    // Claimed before the first await, so a concurrent begin() sees it.
    const tx = new ConnectionTransaction(this, this.#autocommit ? 'autocommit' : 'root')
    this.#root = tx
    if (tx.kind === 'autocommit') return tx
    try {
      await this.#queue.exclusive(async () => {
        await beginOn(this.#host.dialectDriver, await this.live(tx), settings)
        this.#txOpen = true
      }, false)
    } catch (error) {
      tx.active = false
      throw error
    }
    return tx
  }

  async beginNested(): Promise<Transaction> {
    if (this.#dead !== undefined) throw new ConnectionClosedError(this.#dead)
    if (this.#autocommit) throw new TransactionError('savepoints need a transaction, and this connection is in AUTOCOMMIT mode')
    if (!this.#root?.active) await this.begin()
    const name = `athanor_sp_${++this.#savepointCounter}`
    const sql = this.#host.dialectDriver.savepointStatement(name)
    await this.#queue.exclusive(async () => void (await (await this.live()).run(sql)), true, sql)
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
  endTransaction(tx: ConnectionTransaction, how: 'commit' | 'rollback'): Promise<void> {
    if (this.#dead !== undefined) return Promise.reject(new ConnectionClosedError(this.#dead))
    return this.#end(tx, how)
  }

  /**
   * Ends the block that owns this connection (`engine.begin`): from now on its
   * callers are refused, then the open transaction is committed or rolled
   * back after the statements already issued. Internal.
   */
  async endBlock(how: 'commit' | 'rollback'): Promise<void> {
    this.#dead ??= BLOCK_ENDED
    const root = this.#root
    if (root?.active) await this.#end(root, how)
  }

  async #end(tx: ConnectionTransaction, how: 'commit' | 'rollback'): Promise<void> {
    if (!tx.active) throw new TransactionError(`cannot ${how}: the transaction is no longer active`)
    const dialect = this.#host.dialectDriver
    if (tx.kind === 'savepoint') {
      const at = this.#savepoints.indexOf(tx)
      // Ending a savepoint ends every savepoint opened after it.
      for (const inner of this.#savepoints.splice(at)) inner.active = false
      const name = tx.savepoint as string
      const sql = how === 'commit' ? dialect.releaseSavepointStatement(name) : dialect.rollbackToSavepointStatement(name)
      await this.#queue.exclusive(async () => void (await (await this.live()).run(sql)), true, sql)
      return
    }
    this.#endAll()
    if (tx.kind === 'autocommit') return
    // Refused from now until the end statement is done: they would run after it, outside the transaction.
    this.#ending = true
    try {
      await this.#queue.exclusive(() => this.#endRoot(how), false)
    } finally {
      this.#ending = false
    }
  }

  async #endRoot(how: 'commit' | 'rollback'): Promise<void> {
    this.#txOpen = false
    const connection = this.#connection
    // A lost connection took its transaction with it: nothing to send.
    if (connection === undefined || connection.invalidated) {
      if (how === 'rollback') return
      if (connection?.broken instanceof PoolDisposedError) throw connection.broken
      throw new TransactionError('cannot commit: the connection was lost and the transaction with it')
    }
    await (how === 'commit' ? connection.commit() : connection.rollback())
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
    const refused = this.#refusal()
    if (refused !== undefined) throw refused
    const dialect = this.#host.dialectDriver
    const run = () => this.#queue.exclusive(async () => insertMany<R>(await this.live(), dialect, table, rows, options), true, 'INSERT')
    // Several pages are one unit: wrap them in a transaction unless the caller has one.
    if (this.inTransaction() || this.#autocommit) return run()
    const tx = await this.begin()
    try {
      const result = await run()
      await tx.commit()
      return result
    } catch (error) {
      if (tx.isActive) await tx.rollback().catch(() => undefined)
      throw error
    }
  }

  invalidate(error?: unknown): void {
    const connection = this.#connection
    if (this.#released || connection === undefined || connection.invalidated) return
    invalidateConnection(this.#host.pool, connection, error ?? new Error('invalidated by the application'))
  }

  /** Refuses statements from now on; checks the connection in once those already issued are done. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing
    this.#dead = CLOSED
    const wasOpen = this.#root?.active === true && this.#root.kind === 'root'
    this.#endAll()
    this.#closing = this.#queue.exclusive(() => this.#checkIn(wasOpen), false)
    return this.#closing
  }

  async #checkIn(wasOpen: boolean): Promise<void> {
    if (this.#reconnecting !== undefined) await this.#reconnecting.catch(() => undefined)
    const connection = this.#connection
    this.#connection = undefined
    this.#released = true
    this.#txOpen = false
    if (connection === undefined || connection.invalidated) return
    const dialect = this.#host.dialectDriver
    try {
      if (wasOpen || connection.inTransaction) await connection.rollback()
      if (connection.isolationOverride !== undefined) {
        if (dialect.isolationPerTransaction !== true) await connection.run(dialect.revertIsolationStatement())
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

  /** The same as {@link EngineConnection.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }
}

/**
 * What Kysely holds for a `conn.db.connection()` or `conn.db.transaction()`
 * block: the Connection's queue, until the block ends.
 */
class HeldView implements DatabaseConnection {
  #ended = false

  constructor(private readonly owner: HeldConnectionOwner) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (this.#ended) return Promise.reject(new ConnectionClosedError(VIEW_ENDED))
    // conn.db.transaction() and conn.db.connection() come here, through Kysely's executor.
    return withCallerStack(this.owner.runStatement<R>(query))
  }

  streamQuery<R>(query: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
    if (this.#ended) throw new ConnectionClosedError(VIEW_ENDED)
    return this.owner.streamStatement<R>(query, chunkSize)
  }

  end(): void {
    this.#ended = true
  }
}

/** Kysely's driver for `conn.db`: always the held connection; transactions are the Connection's. */
class HeldConnectionDriver implements Driver, StatementRunner {
  constructor(private readonly owner: HeldConnectionOwner) {}

  async init(): Promise<void> {}

  async provideConnection<T>(consumer: (connection: DatabaseConnection) => Promise<T>): Promise<T> {
    const view = new HeldView(this.owner)
    try {
      return await consumer(view)
    } finally {
      view.end()
    }
  }

  runStatement<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.owner.runStatement<R>(query)
  }

  streamStatement<R>(query: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
    return this.owner.streamStatement<R>(query, chunkSize)
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new HeldView(this.owner)
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    ;(connection as HeldView).end()
  }

  async beginTransaction(_connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await this.owner.beginWith(settings)
  }

  commitTransaction(): Promise<void> {
    return this.owner.commit()
  }

  rollbackTransaction(): Promise<void> {
    return this.owner.rollback()
  }

  savepoint(_connection: DatabaseConnection, name: string): Promise<void> {
    return this.owner.runSection(this.owner.dialectDriver.savepointStatement(name))
  }

  rollbackToSavepoint(_connection: DatabaseConnection, name: string): Promise<void> {
    return this.owner.runSection(this.owner.dialectDriver.rollbackToSavepointStatement(name))
  }

  releaseSavepoint(_connection: DatabaseConnection, name: string): Promise<void> {
    return this.owner.runSection(this.owner.dialectDriver.releaseSavepointStatement(name))
  }

  async destroy(): Promise<void> {}
}
