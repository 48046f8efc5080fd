import { AthanorError } from '../pool/errors.js'
import type { ConnectionBudgetReport } from '../pool/types.js'

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

/** Which kind of constraint an {@link IntegrityError} broke. */
export type IntegrityKind = 'unique' | 'foreignKey' | 'notNull' | 'check'

/**
 * What the driver said about a broken constraint, as far as it said it:
 * PostgreSQL and PGlite send the constraint, table and column as fields;
 * MySQL and SQLite name them in the message, which athanor reads.
 */
export interface IntegrityDetails {
  readonly kind?: IntegrityKind
  /** The constraint's name (`'person_email_key'`, MySQL's `'PRIMARY'`); SQLite names only CHECK constraints. */
  readonly constraint?: string
  readonly table?: string
  /** The column, when one column is at fault (NOT NULL; a single-column unique or foreign key). */
  readonly column?: string
  /** Every column the server named (a multi-column unique key on SQLite or PostgreSQL). */
  readonly columns?: readonly string[]
  /** PostgreSQL's DETAIL line (it quotes the values: absent when `hideParameters` is on). */
  readonly detail?: string
}

/**
 * A constraint was violated: unique, foreign key, not null, check. `kind`,
 * `constraint`, `table` and `column` say which, where the database tells
 * (see {@link IntegrityDetails}), on every dialect alike.
 *
 * ```ts
 * try { await conn.db.insertInto('person').values({ id: 1, email }).execute() } catch (e) {
 *   if (e instanceof IntegrityError && e.kind === 'unique' && e.column === 'email') return 'email already taken'
 * }
 * ```
 */
export class IntegrityError extends DatabaseError implements IntegrityDetails {
  readonly kind?: IntegrityKind
  readonly constraint?: string
  readonly table?: string
  readonly column?: string
  readonly columns?: readonly string[]
  readonly detail?: string

  constructor(message: string, details: DatabaseErrorDetails = {}, integrity: IntegrityDetails = {}) {
    super(message, details, 'DB_INTEGRITY')
    if (integrity.kind !== undefined) this.kind = integrity.kind
    if (integrity.constraint !== undefined) this.constraint = integrity.constraint
    if (integrity.table !== undefined) this.table = integrity.table
    if (integrity.column !== undefined) this.column = integrity.column
    if (integrity.columns !== undefined) this.columns = Object.freeze([...integrity.columns])
    if (integrity.detail !== undefined) this.detail = integrity.detail
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
 * The dialect or driver cannot do what was asked (e.g. a statement on a
 * connection whose `.stream()` is still being read).
 *
 * ```ts
 * for await (const row of conn.db.selectFrom('person').selectAll().stream()) {
 *   await conn.db.selectFrom('pet').selectAll().execute() // throws NotSupportedError: use engine.db inside the loop
 * }
 * ```
 */
export class NotSupportedError extends AthanorError {
  constructor(message: string) {
    super('NOT_SUPPORTED', message)
  }
}

/**
 * A value does not fit its column and would be stored as something else (an
 * invalid `Date` as NULL, an object as `"[object Object]"`, 1.5 in an integer
 * column rounded...) or refused by one database and not another. Raised
 * before anything of the batch is sent. The message names the table, column,
 * row (0-based, in the rows given) and the value's kind, never the value.
 *
 * ```ts
 * try { await engine.insertMany('person', [{ name: 'Ada', born: new Date('x') }]) } catch (e) {
 *   if (e instanceof InvalidValueError) console.error(e.table, e.column, e.row, e.valueKind) // person born 0 an Invalid Date
 * }
 * ```
 */
export class InvalidValueError extends AthanorError {
  constructor(
    message: string,
    readonly table: string,
    readonly column: string,
    /** The row's position (0-based) among the rows given to insertMany, or among the objects of this table in a flush. */
    readonly row: number,
    /** What was wrong, by kind: `'NaN'`, `'an Invalid Date'`, `'a number with a fraction'`, ... */
    readonly valueKind: string,
  ) {
    super('INVALID_VALUE', message)
  }
}

/**
 * A statement would exceed (or exceeded) what the server accepts in one
 * message: MySQL's `max_allowed_packet`, PostgreSQL's 1 GB, SQLite's
 * SQLITE_MAX_LENGTH. insertMany and the flush split their batches to fit, so
 * this comes from a single row over the limit (raised before anything is
 * sent, with `table` and `row`) or a raw statement the server refused
 * (MySQL error 1153, after which the server closes the connection). Retrying
 * the same statement fails the same way: this is not a {@link DisconnectError}.
 *
 * ```ts
 * try { await engine.insertMany('file', [{ body: hugeText }]) } catch (e) {
 *   if (e instanceof StatementTooLargeError) console.error(e.limit) // 16777216
 * }
 * ```
 */
export class StatementTooLargeError extends DatabaseError {
  /** The server's limit in bytes, when known. */
  readonly limit?: number
  /** The estimated size in bytes of what was (to be) sent, when known. */
  readonly size?: number
  /** The table and row at fault, when insertMany or a flush refused a row. */
  readonly table?: string
  readonly row?: number

  constructor(
    message: string,
    details: DatabaseErrorDetails = {},
    where: { readonly limit?: number; readonly size?: number; readonly table?: string; readonly row?: number } = {},
  ) {
    super(message, details, 'DB_STATEMENT_TOO_LARGE')
    if (where.limit !== undefined) this.limit = where.limit
    if (where.size !== undefined) this.size = where.size
    if (where.table !== undefined) this.table = where.table
    if (where.row !== undefined) this.row = where.row
  }
}

/**
 * The URL asks for TLS (`sslmode=require`, `verify-ca`, `verify-full`) and the
 * server does not offer it. Found as the `cause` of the pool's
 * `PoolConnectError`. `sslmode=prefer` falls back to a plain connection instead.
 *
 * ```ts
 * catch (e) { if (e instanceof PoolConnectError && e.cause instanceof TlsUnavailableError) enableTlsOnServer() }
 * ```
 */
export class TlsUnavailableError extends AthanorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TLS_UNAVAILABLE', message, options)
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

/**
 * The engine's pool could take more of the server's free connections than
 * `connectionBudget.share` allows, and `connectionBudget.onExceed` is
 * `'error'`. Found as the `cause` of the pool's `PoolConnectError` at the
 * first connection, and of every one after it: the engine refuses to start.
 * `report` has the figures, including how many processes of this size fit.
 *
 * ```ts
 * catch (e) {
 *   if (e instanceof PoolConnectError && e.cause instanceof ConnectionBudgetError) {
 *     console.error(`only ${e.cause.report.processesThatFit} processes fit`)
 *   }
 * }
 * ```
 */
export class ConnectionBudgetError extends AthanorError {
  constructor(
    message: string,
    readonly report: ConnectionBudgetReport,
  ) {
    super('CONNECTION_BUDGET_EXCEEDED', message)
  }
}

/**
 * A statement that cannot work behind a transaction pooler (the URL says
 * `?pgbouncer=transaction`): between transactions the server connection
 * goes to other clients, so session state (a session-level `SET`, a
 * session advisory lock, `LISTEN`, a SQL `PREPARE`) would leak to them or
 * be lost. Nothing was sent. The message says what to use instead.
 *
 * ```ts
 * catch (e) { if (e instanceof TransactionPoolingError) useDirectEngineFor(e.statement) }
 * ```
 */
export class TransactionPoolingError extends AthanorError {
  constructor(
    message: string,
    /** The statement refused (as sent, parameters apart). */
    readonly statement: string,
  ) {
    super('TRANSACTION_POOLING', message)
  }
}
