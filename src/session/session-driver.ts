import type { CompiledQuery, DatabaseConnection, Dialect, Driver, Kysely, QueryResult } from 'kysely'
import { BoundDialect, createDirectKysely, partsOf } from '../engine/direct-query-executor.js'
import type { StatementRunner } from '../engine/direct-query-executor.js'
import { InvalidRequestError } from './errors.js'

/** What the session's Kysely driver needs: run one compiled statement in the session's transaction. */
export interface SessionRunner {
  _execute<R>(compiled: CompiledQuery, autoflush: boolean): Promise<QueryResult<R>>
}

class SessionDatabaseConnection implements DatabaseConnection {
  constructor(private readonly runner: SessionRunner) {}

  executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    return this.runner._execute<R>(compiled, true)
  }

  async *streamQuery<R>(compiled: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    // The session's connection is shared by every statement: read the whole result, then yield it.
    yield await this.runner._execute<R>(compiled, true)
  }
}

/**
 * The Kysely driver behind `session.db`: each statement autoflushes, then
 * runs on the session's connection (checked out and begun on first use).
 * As a {@link StatementRunner} a plain statement reaches the session as soon
 * as `execute()` is called, so one issued inside a `Session.begin(fn)` block
 * is the block's, even when `fn` returns without awaiting it.
 */
export class SessionDriver implements Driver, StatementRunner {
  private readonly connection: SessionDatabaseConnection

  constructor(private readonly runner: SessionRunner) {
    this.connection = new SessionDatabaseConnection(runner)
  }

  async init(): Promise<void> {}

  runStatement<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.runner._execute<R>(query, true)
  }

  provideConnection<T>(consumer: (connection: DatabaseConnection) => Promise<T>): Promise<T> {
    return consumer(this.connection)
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return this.connection
  }

  async beginTransaction(): Promise<void> {
    throw new InvalidRequestError(
      'session.db runs in the session\'s own transaction; use session.beginNested() for a savepoint, not db.transaction()',
    )
  }

  async commitTransaction(): Promise<void> {}

  async rollbackTransaction(): Promise<void> {}

  async releaseConnection(): Promise<void> {}

  async destroy(): Promise<void> {}
}

/**
 * `session.db`: a Kysely with the engine's dialect parts on a {@link SessionDriver}.
 *
 * ```ts
 * const db = createSessionKysely<DB>(engine.kyselyDialect, session)
 * ```
 */
export function createSessionKysely<DB>(dialect: Dialect, runner: SessionRunner): Kysely<DB> {
  const driver = new SessionDriver(runner)
  return createDirectKysely<DB>(new BoundDialect(dialect, driver), driver, partsOf(dialect))
}
