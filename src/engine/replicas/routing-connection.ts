import type { CompiledQuery, Kysely, QueryResult } from 'kysely'
import { kyselyOnDialect, type EngineKyselyOptions } from '../kysely-options.js'
import { ConnectionClosedError, TransactionError } from '../errors.js'
import type { Connection, ConnectOptions, Engine, InsertManyOptions, Transaction } from '../types.js'
import { isReadOnly } from './classify.js'
import type { Router, WriteScope } from './router.js'
import { routedDialect } from './routing-driver.js'

/**
 * A connection of a routing engine: it reads through the router (a
 * replica, when one has the scope's writes) until its first write, then
 * takes a primary connection (opening the transaction there if one was
 * begun) and keeps it: everything after a write goes to the primary.
 *
 * ```ts
 * const conn = await routingEngine.connect()
 * await conn.begin()
 * await conn.db.selectFrom('t').selectAll().execute() // replica
 * await conn.db.insertInto('t').values(row).execute()   // primary, from here on
 * await conn.commit()
 * ```
 */
export class RoutingConnection<DB> implements Connection<DB> {
  closed = false
  #primary: Connection<DB> | undefined = undefined
  #opening: Promise<Connection<DB>> | undefined = undefined
  /** `begin()` was called and no transaction end since: the primary's BEGIN waits for the first write. */
  #txWanted = false
  #db: Kysely<DB> | undefined = undefined
  readonly #tx: Transaction

  constructor(
    readonly engine: Engine<DB>,
    private readonly router: Router<DB>,
    private readonly scope: WriteScope,
    /** Set: straight to the primary with this level (isolation is the primary's business). */
    private readonly pinned: ConnectOptions | undefined,
  ) {
    const self = this
    this.#tx = {
      get isActive() {
        return self.inTransaction()
      },
      commit: () => self.commit(),
      rollback: () => self.rollback(),
    }
  }

  get db(): Kysely<DB> {
    return (this.#db ??= this.kysely<DB>())
  }

  /** {@inheritDoc Connection.kysely} */
  kysely<T = DB>(options?: EngineKyselyOptions): Kysely<T> {
    return kyselyOnDialect<T>(routedDialect(this.engine.kyselyDialect, { run: (q) => this.#run(q) }), options)
  }

  async #run<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (this.closed) throw new ConnectionClosedError('this Connection is closed: get a new one with engine.connect(); the statement was not sent')
    if (this.#primary === undefined && this.pinned === undefined && isReadOnly(query)) return this.router.read<R>(query, this.scope)
    const primary = await this.#toPrimary()
    const inTx = primary.inTransaction()
    try {
      return await primary.db.executeQuery<R>(query)
    } finally {
      if (!inTx) this.router.wrote(this.scope)
    }
  }

  #toPrimary(): Promise<Connection<DB>> {
    if (this.#primary !== undefined) return Promise.resolve(this.#primary)
    return (this.#opening ??= (async () => {
      const conn = await this.router.primary.connect(this.pinned)
      try {
        if (this.#txWanted) await conn.begin()
      } catch (error) {
        await conn.close()
        this.#opening = undefined
        throw error
      }
      this.#primary = conn
      return conn
    })())
  }

  async begin(): Promise<Transaction> {
    if (this.#primary !== undefined) {
      await this.#primary.begin()
      return this.#tx
    }
    if (this.#txWanted) throw new TransactionError('a transaction is already open on this connection: use beginNested() for a savepoint')
    this.#txWanted = true
    if (this.pinned !== undefined) await this.#toPrimary()
    return this.#tx
  }

  async beginNested(): Promise<Transaction> {
    if (!this.inTransaction()) await this.begin()
    // A savepoint is for writes: the primary's.
    return (await this.#toPrimary()).beginNested()
  }

  async commit(): Promise<void> {
    const primary = this.#primary
    this.#txWanted = false
    if (primary !== undefined && primary.inTransaction()) {
      await primary.commit()
      this.router.wrote(this.scope)
    }
  }

  async rollback(): Promise<void> {
    const primary = this.#primary
    this.#txWanted = false
    if (primary !== undefined && primary.inTransaction()) await primary.rollback()
  }

  inTransaction(): boolean {
    return this.#primary !== undefined ? this.#primary.inTransaction() : this.#txWanted
  }

  async insertMany<R extends Record<string, unknown>>(
    table: string,
    rows: readonly Record<string, unknown>[],
    options?: InsertManyOptions,
  ): Promise<R[]> {
    const primary = await this.#toPrimary()
    const inTx = primary.inTransaction()
    try {
      return await primary.insertMany<R>(table, rows, options)
    } finally {
      if (!inTx) this.router.wrote(this.scope)
    }
  }

  invalidate(error?: unknown): void {
    this.#primary?.invalidate(error)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.#txWanted = false
    const opening = this.#opening
    if (opening !== undefined) await (await opening.catch(() => undefined))?.close()
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }
}
