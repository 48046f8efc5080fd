import { AthanorError } from '../pool/errors.js'

/**
 * A database URL could not be parsed, or names something athanor does not
 * know (dialect, driver, query parameter). The message names the problem and
 * shows the URL with its password masked; the password itself never appears.
 *
 * ```ts
 * try { parseUrl('postgresql://app@db:54x2/app') } catch (e) {
 *   if (e instanceof UrlError) console.error(e.message) // port "54x2" is not a number ...
 * }
 * ```
 */
export class UrlError extends AthanorError {
  constructor(
    message: string,
    /** The URL as given, password masked (`''` when the input was not a string). */
    readonly url: string = '',
  ) {
    super('URL_INVALID', message)
  }
}

/**
 * An option given to `createEngine` has an unknown name or a bad value.
 * For an unknown name the message lists the known ones.
 *
 * ```ts
 * try { createEngine('sqlite://', { pool_size: 5 } as never) } catch (e) {
 *   if (e instanceof EngineOptionError) e.option // 'pool_size'
 * }
 * ```
 */
export class EngineOptionError extends AthanorError {
  constructor(
    message: string,
    /** The offending option's name, when one option is at fault. */
    readonly option?: string,
  ) {
    super('ENGINE_OPTION', message)
  }
}

/**
 * The driver a URL asks for is an optional peer dependency that is not
 * installed. The message names the npm package to install.
 *
 * ```ts
 * try { createEngine('pglite://') } catch (e) {
 *   if (e instanceof DriverNotInstalledError) e.packageName // '@electric-sql/pglite'
 * }
 * ```
 */
export class DriverNotInstalledError extends AthanorError {
  constructor(
    /** The npm package to install, e.g. `'better-sqlite3'`. */
    readonly packageName: string,
    /** The dialect that needs it, e.g. `'sqlite'`. */
    readonly dialect: string,
    options?: { cause?: unknown },
  ) {
    super(
      'DRIVER_NOT_INSTALLED',
      `the ${dialect} dialect needs the npm package "${packageName}", which is not installed: run \`npm install ${packageName}\``,
      options,
    )
  }
}

/**
 * A statement failed in the database or its driver. `cause` is the driver's
 * error; `sqlState` (PostgreSQL, PGlite), `errno` (MySQL) and `driverCode`
 * (e.g. `'SQLITE_BUSY'`, `'ER_DUP_ENTRY'`) say what happened. The message may
 * show the SQL, never the parameter values (they are on `parameters` unless
 * `hideParameters` is on).
 *
 * ```ts
 * try { await engine.db.insertInto('person').values(p).execute() } catch (e) {
 *   if (e instanceof DatabaseError) console.error(e.sqlState, e.sql)
 * }
 * ```
 */
export class DatabaseError extends AthanorError {
  /** The five-character SQLSTATE, when the database sent one. */
  readonly sqlState?: string
  /** MySQL / MariaDB error number. */
  readonly errno?: number
  /** The driver's own code, e.g. `'ER_DUP_ENTRY'`, `'SQLITE_CONSTRAINT_UNIQUE'`, `'ECONNRESET'`. */
  readonly driverCode?: string
  /** The statement that failed. */
  readonly sql?: string
  /** Its bound values; absent when `hideParameters` is on. */
  readonly parameters?: readonly unknown[]

  constructor(message: string, details: DatabaseErrorDetails = {}, code = 'DATABASE_ERROR') {
    super(code, message, { cause: details.cause })
    if (details.sqlState !== undefined) this.sqlState = details.sqlState
    if (details.errno !== undefined) this.errno = details.errno
    if (details.driverCode !== undefined) this.driverCode = details.driverCode
    if (details.sql !== undefined) this.sql = details.sql
    if (details.parameters !== undefined) this.parameters = details.parameters
  }
}

/** What a {@link DatabaseError} carries besides its message. */
export interface DatabaseErrorDetails {
  readonly cause?: unknown
  readonly sqlState?: string
  readonly errno?: number
  readonly driverCode?: string
  readonly sql?: string
  readonly parameters?: readonly unknown[]
}

/**
 * A constraint was violated: unique, foreign key, not null, check.
 *
 * ```ts
 * try { await conn.db.insertInto('person').values({ id: 1 }).execute() } catch (e) {
 *   if (e instanceof IntegrityError) return 'already exists'
 * }
 * ```
 */
export class IntegrityError extends DatabaseError {
  constructor(message: string, details: DatabaseErrorDetails = {}) {
    super(message, details, 'DB_INTEGRITY')
  }
}

/**
 * The connection to the database was lost (server restart, failover, idle
 * cut, killed backend). The connection has been invalidated: closed, and every
 * connection opened before it replaced at its next checkout. Retrying the work
 * on a fresh connection is usually safe for reads.
 *
 * ```ts
 * try { await engine.db.selectFrom('person').selectAll().execute() } catch (e) {
 *   if (e instanceof DisconnectError) retryOnce()
 * }
 * ```
 */
export class DisconnectError extends DatabaseError {
  constructor(message: string, details: DatabaseErrorDetails = {}) {
    super(message, details, 'DB_DISCONNECT')
  }
}

/**
 * The server cancelled a statement that ran longer than `statementTimeout`.
 * The connection stays usable (outside a transaction; inside one, roll back).
 *
 * ```ts
 * const engine = createEngine(url, { statementTimeout: 2_000 })
 * try { await slowReport() } catch (e) { if (e instanceof StatementTimeoutError) ... }
 * ```
 */
export class StatementTimeoutError extends DatabaseError {
  constructor(message: string, details: DatabaseErrorDetails = {}) {
    super(message, details, 'DB_STATEMENT_TIMEOUT')
  }
}

/**
 * A `Connection` was used after `close()` (or after it was invalidated).
 *
 * ```ts
 * await conn.close()
 * await conn.db.selectFrom('person').selectAll().execute() // throws ConnectionClosedError
 * ```
 */
export class ConnectionClosedError extends AthanorError {
  constructor(message = 'this Connection is closed: get a new one with engine.connect()') {
    super('CONNECTION_CLOSED', message)
  }
}

/**
 * A transaction was misused: committing one that is no longer active, a
 * savepoint in AUTOCOMMIT mode, beginning twice.
 *
 * ```ts
 * const tx = await conn.begin(); await tx.commit()
 * await tx.commit() // throws TransactionError: the transaction is no longer active
 * ```
 */
export class TransactionError extends AthanorError {
  constructor(message: string) {
    super('TRANSACTION', message)
  }
}

/**
 * `insertMany` was given something it cannot insert: no table, a row that is
 * not an object, a bad `pageSize`, or (MySQL without RETURNING) more than one
 * `returning` column the server would have to generate.
 *
 * ```ts
 * await engine.insertMany('person', rows, { pageSize: 0 }) // throws InsertManyError
 * ```
 */
export class InsertManyError extends AthanorError {
  constructor(message: string) {
    super('INSERT_MANY', message)
  }
}

/**
 * The dialect or driver cannot do what was asked (e.g. Kysely's `.stream()`).
 *
 * ```ts
 * for await (const row of engine.db.selectFrom('person').selectAll().stream()) {} // throws NotSupportedError
 * ```
 */
export class NotSupportedError extends AthanorError {
  constructor(message: string) {
    super('NOT_SUPPORTED', message)
  }
}

/**
 * A transaction its caller meant to commit was rolled back by the database:
 * nothing of it was written. PostgreSQL and PGlite answer `COMMIT` of a
 * transaction in which a statement failed with `ROLLBACK`; MySQL and MariaDB
 * roll the whole transaction back on a deadlock (and on a lock wait timeout
 * with `innodb_rollback_on_timeout`), after which a statement would run in
 * autocommit. `commit()` rejects with this error, and so does every further
 * statement of that transaction until the caller rolls back. `cause` is the
 * statement error that doomed the transaction, when known; `sqlState` and
 * `errno` are copied from it (e.g. `errno: 1213` for a deadlock: retry the
 * whole transaction).
 *
 * ```ts
 * try {
 *   await engine.begin(async (conn) => { ... })
 * } catch (e) {
 *   if (e instanceof TransactionRolledBackError) await retry()
 * }
 * ```
 */
export class TransactionRolledBackError extends DatabaseError {
  constructor(message: string, details: DatabaseErrorDetails = {}) {
    super(message, details, 'DB_TRANSACTION_ROLLED_BACK')
  }
}

/**
 * Builds the {@link TransactionRolledBackError} for a statement (or `COMMIT`)
 * of a transaction the server rolled back after `cause`. Internal.
 *
 * ```ts
 * throw rolledBackError('COMMIT', deadlock)
 * ```
 */
export function rolledBackError(sql: string, cause: unknown, committing: boolean): TransactionRolledBackError {
  const why = cause instanceof Error ? `, after: ${cause.message}` : ' (a statement in it had failed)'
  const what = committing
    ? `the database rolled the transaction back instead of committing it${why}; nothing of it was written`
    : `the database rolled the transaction back${why}; this statement was not sent, as it would have run outside any transaction: roll back, then retry the whole transaction`
  const from = cause instanceof DatabaseError ? cause : undefined
  return new TransactionRolledBackError(what, {
    cause,
    sqlState: from?.sqlState,
    errno: from?.errno,
    driverCode: from?.driverCode,
    sql,
  })
}
