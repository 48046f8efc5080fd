import type { CompiledQuery, DatabaseConnection, Dialect, Driver, QueryCompiler, QueryResult, TransactionSettings } from 'kysely'
import { NotSupportedError } from '../errors.js'

/** What a routed Kysely needs from whoever owns its statements. */
export interface StatementRoute {
  /** Runs a statement outside any transaction of this Kysely's. */
  run<R>(query: CompiledQuery): Promise<QueryResult<R>>
  /** A transaction of this Kysely's: it is the primary's (the owner marks the write on commit). */
  beginTransaction?(settings: TransactionSettings): Promise<PinnedTransaction>
}

/** A transaction a routed Kysely holds on the primary. */
export interface PinnedTransaction {
  run<R>(query: CompiledQuery): Promise<QueryResult<R>>
  commit(): Promise<void>
  rollback(): Promise<void>
  /** Savepoints, as the primary's Kysely driver does them. */
  section(kind: 'savepoint' | 'rollbackToSavepoint' | 'releaseSavepoint', name: string, compile: QueryCompiler['compileQuery']): Promise<void>
  release(): Promise<void>
}

/** Kysely's connection object for a routed Kysely: per statement, or pinned in a transaction. */
class RoutedConnection implements DatabaseConnection {
  pinned: PinnedTransaction | undefined = undefined
  constructor(private readonly route: StatementRoute) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.pinned === undefined ? this.route.run<R>(query) : this.pinned.run<R>(query)
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new NotSupportedError('streaming queries (.stream()) are not supported by a routing engine')
  }
}

/**
 * A Kysely driver whose statements go where `route` says, and whose
 * transactions (`db.transaction()`) are pinned to the primary.
 *
 * ```ts
 * const db = new Kysely<DB>({ dialect: routedDialect(primary.kyselyDialect, route) })
 * ```
 */
class RoutedDriver implements Driver {
  constructor(private readonly route: StatementRoute) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new RoutedConnection(this.route)
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    if (this.route.beginTransaction === undefined) {
      throw new NotSupportedError("this Kysely is bound to a connection: use the connection's begin(), not db.transaction()")
    }
    ;(connection as RoutedConnection).pinned = await this.route.beginTransaction(settings)
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as RoutedConnection).pinned?.commit()
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as RoutedConnection).pinned?.rollback()
  }

  async savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await pinnedOf(connection).section('savepoint', name, compile)
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await pinnedOf(connection).section('rollbackToSavepoint', name, compile)
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await pinnedOf(connection).section('releaseSavepoint', name, compile)
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const c = connection as RoutedConnection
    const pinned = c.pinned
    c.pinned = undefined
    await pinned?.release()
  }

  async destroy(): Promise<void> {}
}

function pinnedOf(connection: DatabaseConnection): PinnedTransaction {
  const pinned = (connection as RoutedConnection).pinned
  if (pinned === undefined) throw new NotSupportedError('savepoints need a transaction (db.transaction())')
  return pinned
}

/**
 * The primary's dialect parts (adapter, compiler, introspector) with a
 * routed driver.
 *
 * ```ts
 * const db = new Kysely<DB>({ dialect: routedDialect(primary.kyselyDialect, route) })
 * ```
 */
export function routedDialect(base: Dialect, route: StatementRoute): Dialect {
  return {
    createAdapter: () => base.createAdapter(),
    createDriver: () => new RoutedDriver(route),
    createQueryCompiler: () => base.createQueryCompiler(),
    createIntrospector: (db) => base.createIntrospector(db),
  }
}
