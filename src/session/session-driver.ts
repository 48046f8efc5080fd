import type { CompiledQuery, DatabaseConnection, Driver, QueryResult } from 'kysely'
import { InvalidRequestError } from './errors.js'

/** What the session's Kysely driver needs: run one compiled statement in the session's transaction. */
export interface StatementRunner {
  _execute<R>(compiled: CompiledQuery, autoflush: boolean): Promise<QueryResult<R>>
}

class SessionDatabaseConnection implements DatabaseConnection {
  constructor(private readonly runner: StatementRunner) {}

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
 */
export class SessionDriver implements Driver {
  private readonly connection: SessionDatabaseConnection

  constructor(runner: StatementRunner) {
    this.connection = new SessionDatabaseConnection(runner)
  }

  async init(): Promise<void> {}

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
