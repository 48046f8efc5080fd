import mysql from 'mysql2'
import { MysqlAdapter, MysqlIntrospector, MysqlQueryCompiler } from 'kysely'
import type { CompiledQuery, DatabaseIntrospector, DialectAdapter, Kysely, QueryCompiler, QueryResult, TransactionSettings } from 'kysely'
import type { DbConnection, DialectConfig, DialectUrl, ErrorInfo, ServerConnectionLimits } from '../dialect.js'
import type { IntegrityDetails, IntegrityKind } from '../errors.js'
import type { ResetMode } from '../../pool/types.js'
import type { IsolationLevel } from '../types.js'
import { BaseDialectDriver, BEGIN, CallbackConnection, closeWithin, dropUndefined, messageOf, queryValue, serverConfigFromUrl, SOCKET_ERROR_CODES } from './base.js'
import { statementBytes } from '../values.js'
import { MYSQL_DEFAULT_MAX_PACKET } from './syntax.js'
import { observeCallbacks } from '../statement-observer.js'

/** The server's "a transaction is open" status flag (SERVER_STATUS_IN_TRANS). */
const SERVER_STATUS_IN_TRANS = 1
/** The session's autocommit is on (SERVER_STATUS_AUTOCOMMIT). */
const SERVER_STATUS_AUTOCOMMIT = 2

/** Errors after which InnoDB may have rolled back the whole transaction. */
const ER_LOCK_WAIT_TIMEOUT = 1205
const ER_LOCK_DEADLOCK = 1213

/** Error numbers that mean the connection is gone. */
const MYSQL_DISCONNECT_ERRNOS: ReadonlySet<number> = new Set([
  1053, // ER_SERVER_SHUTDOWN
  1077, // ER_NORMAL_SHUTDOWN
  1152, // ER_ABORTING_CONNECTION
  1927, // ER_CONNECTION_KILLED (MariaDB)
  2002, 2003, 2006, 2013, 2055, // client: can't connect, server gone, lost
  4031, // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8)
])
const MYSQL_DISCONNECT_CODES: ReadonlySet<string> = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_PACKETS_OUT_OF_ORDER',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_CLIENT_INTERACTION_TIMEOUT',
])
/** Constraint violations: duplicate key, foreign key, not null, check. */
const MYSQL_INTEGRITY_KINDS: ReadonlyMap<number, IntegrityKind> = new Map<number, IntegrityKind>([
  [1022, 'unique'], // ER_DUP_KEY
  [1048, 'notNull'], // ER_BAD_NULL_ERROR
  [1062, 'unique'], // ER_DUP_ENTRY
  [1169, 'unique'], // ER_DUP_UNIQUE
  [1216, 'foreignKey'], // ER_NO_REFERENCED_ROW
  [1217, 'foreignKey'], // ER_ROW_IS_REFERENCED
  [1364, 'notNull'], // ER_NO_DEFAULT_FOR_FIELD: a NOT NULL column left out (strict mode)
  [1451, 'foreignKey'], // ER_ROW_IS_REFERENCED_2
  [1452, 'foreignKey'], // ER_NO_REFERENCED_ROW_2
  [1557, 'unique'], // ER_FOREIGN_DUPLICATE_KEY
  [1586, 'unique'], // ER_DUP_ENTRY_WITH_KEY_NAME
  [3819, 'check'], // ER_CHECK_CONSTRAINT_VIOLATED (MySQL 8)
  [4025, 'check'], // ER_CONSTRAINT_FAILED (MariaDB)
])
/** The server closed the connection on a packet over max_allowed_packet. */
const MYSQL_PACKET_TOO_LARGE = 1153
/** MariaDB's max_statement_time and MySQL's max_execution_time. */
const MYSQL_TIMEOUT_ERRNOS: ReadonlySet<number> = new Set([1969, 3024])

/**
 * Sorts a mysql2 error: lost connections, statement timeouts, constraint
 * violations.
 *
 * ```ts
 * classifyMysql(err).kind // 'integrity' for ER_DUP_ENTRY
 * ```
 */
export function classifyMysql(error: unknown): ErrorInfo {
  const e = (error ?? {}) as { errno?: unknown; code?: unknown; sqlState?: unknown; fatal?: unknown }
  const message = messageOf(error)
  const errno = typeof e.errno === 'number' ? e.errno : undefined
  const driverCode = typeof e.code === 'string' ? e.code : undefined
  const sqlState = typeof e.sqlState === 'string' && e.sqlState !== '' ? e.sqlState : undefined
  const base = { errno, driverCode, sqlState, message }
  // The server closes the connection after it: a disconnect for the pool, but no retry would succeed.
  if (errno === MYSQL_PACKET_TOO_LARGE || driverCode === 'ER_NET_PACKET_TOO_LARGE') return { kind: 'disconnect', tooLarge: true, ...base }
  if (
    (errno !== undefined && MYSQL_DISCONNECT_ERRNOS.has(errno)) ||
    (driverCode !== undefined && (MYSQL_DISCONNECT_CODES.has(driverCode) || SOCKET_ERROR_CODES.has(driverCode))) ||
    e.fatal === true ||
    /closed state|connection is closed|Connection lost/i.test(message)
  ) {
    return { kind: 'disconnect', ...base }
  }
  if (errno !== undefined && MYSQL_TIMEOUT_ERRNOS.has(errno)) return { kind: 'timeout', ...base }
  const integrity = errno === undefined ? undefined : MYSQL_INTEGRITY_KINDS.get(errno)
  if (integrity !== undefined) return { kind: 'integrity', ...base, integrity: mysqlIntegrity(integrity, message) }
  return { kind: 'other', ...base }
}

/**
 * What a MySQL / MariaDB constraint message names: `... for key 'x'`
 * (MySQL 8: `'table.x'`), `(`db`.`t`, CONSTRAINT `fk` FOREIGN KEY (`c`) ...`,
 * `Column 'c' cannot be null`, `CONSTRAINT `x` failed for `db`.`t``.
 *
 * ```ts
 * mysqlIntegrity('unique', "Duplicate entry 'a' for key 'person_email_key'") // { kind: 'unique', constraint: 'person_email_key' }
 * ```
 */
export function mysqlIntegrity(kind: IntegrityKind, message: string): IntegrityDetails {
  const key = message.lastIndexOf(" for key '")
  if (key >= 0 && message.endsWith("'")) {
    const name = message.slice(key + " for key '".length, -1)
    const dot = name.lastIndexOf('.')
    return dot < 0 ? { kind, constraint: name } : { kind, table: name.slice(0, dot), constraint: name.slice(dot + 1) }
  }
  const fk = /\(`(?:[^`]|``)*`\.`((?:[^`]|``)*)`, CONSTRAINT `((?:[^`]|``)*)` FOREIGN KEY \(`((?:[^`]|``)*)`\)/.exec(message)
  if (fk !== null) return { kind, table: unquote(fk[1]), constraint: unquote(fk[2]), column: unquote(fk[3]), columns: [unquote(fk[3])] }
  const column = /^(?:Column|Field) '(.+)' (?:cannot be null|doesn't have a default value)/.exec(message)
  if (column !== null) return { kind, column: column[1], columns: [column[1]] }
  const check = /CONSTRAINT `((?:[^`]|``)*)` failed for `(?:[^`]|``)*`\.`((?:[^`]|``)*)`/.exec(message) ?? /^Check constraint '(.+)' is violated/.exec(message)
  if (check !== null) return { kind, constraint: unquote(check[1]), table: check[2] === undefined ? undefined : unquote(check[2]) }
  return { kind }
}

function unquote(name: string): string {
  return name.replace(/``/g, '`')
}

/**
 * Whether a failed open means "the server is full, try again": 1040
 * ER_CON_COUNT_ERROR (max_connections), 1203 ER_TOO_MANY_USER_CONNECTIONS
 * (max_user_connections), and 1226 ER_USER_LIMIT_REACHED when the limit is an
 * account's MAX_USER_CONNECTIONS (its hourly limits are not temporary).
 *
 * ```ts
 * isMysqlTooManyConnections({ errno: 1040, message: 'Too many connections' }) // true
 * ```
 */
export function isMysqlTooManyConnections(error: unknown): boolean {
  const errno = (error as { errno?: unknown } | null)?.errno
  if (errno === 1040 || errno === 1203) return true
  return errno === 1226 && /max_user_connections/i.test(messageOf(error))
}

/** `10.11.6-MariaDB...` or `5.5.5-10.11.6-MariaDB` => MariaDB 10.11. */
export function parseServerVersion(version: string): { mariadb: boolean; major: number; minor: number } {
  const mariadb = /mariadb/i.test(version)
  const match = /(\d+)\.(\d+)/.exec(version.replace(/^5\.5\.5-/, ''))
  return { mariadb, major: match ? Number(match[1]) : 0, minor: match ? Number(match[2]) : 0 }
}

interface OkPacket {
  affectedRows?: number
  changedRows?: number
  insertId?: number | bigint
  serverStatus?: number
}

/** One mysql2 connection; its transaction state comes from the server's status flags. */
class MysqlConnection extends CallbackConnection {
  #inTransaction = false
  #autocommit = true

  constructor(
    override readonly dialect: MysqlDriver,
    readonly raw: mysql.Connection,
  ) {
    super(dialect, raw, 'Connection lost: the server closed the connection')
  }

  get inTransaction(): boolean {
    return this.#inTransaction
  }

  /** The session's autocommit, as the server's last status flags said (raw SQL can turn it off). */
  get autocommit(): boolean {
    return this.#autocommit
  }

  /**
   * COM_RESET_CONNECTION (mysql2's `reset()`): rolls back, and resets session
   * variables, user variables, temporary tables, prepared statements and
   * autocommit; keeps the login, database and character set. One round trip.
   */
  resetSession(): Promise<void> {
    return new Promise<void>((resolve, reject) =>
      this.raw.reset((error: unknown) => {
        if (error) {
          reject(error)
          return
        }
        this.#inTransaction = false
        this.#autocommit = true
        resolve()
      }),
    )
  }

  /** The server's id for this session (for `KILL`). */
  get threadId(): number {
    return this.raw.threadId
  }

  /** mysql2's callback API settles the caller's promise directly (its promise API costs more). */
  override submit<R>(
    compiledQuery: CompiledQuery,
    release: ((connection: DbConnection) => void) | undefined,
    resolve: (result: QueryResult<R>) => void,
    reject: (error: unknown) => void,
  ): void {
    const { sql, parameters } = compiledQuery
    try {
      // A throwing logger (or driver) fails the statement, not the process.
      if (this.dialect.context.echo) this.echo(sql, parameters)
      const observer = this.dialect.context.observer
      if (observer !== undefined) [resolve, reject] = observeCallbacks(observer, sql, parameters, this, resolve, reject)
      // No values: mysql2 then skips scanning the text for placeholders.
      const values = parameters.length === 0 ? undefined : (parameters as unknown[])
      this.raw.query(sql, values, (error: unknown, result: unknown) => {
        if (error) {
          const mapped = this.mapError(error, sql, parameters)
          const errno = (error as { errno?: unknown }).errno
          if (this.#inTransaction && (errno === ER_LOCK_DEADLOCK || errno === ER_LOCK_WAIT_TIMEOUT)) {
            this.#learnRollback(mapped, () => {
              if (release !== undefined) release(this)
              reject(mapped)
            })
            return
          }
          if (release !== undefined) release(this)
          reject(mapped)
          return
        }
        const shaped = this.#toResult<R>(result)
        if (release !== undefined) release(this)
        resolve(shaped)
      })
    } catch (error) {
      if (release !== undefined) release(this)
      reject(error)
    }
  }

  /**
   * Kysely's `.stream()`: mysql2's streamed result, its rows read off the
   * socket as the caller takes them (the socket is paused while a full batch
   * waits). Broken out of early, the rest of the result is read and dropped,
   * so the connection is ready for its next statement.
   */
  override async *streamQuery<R>(compiledQuery: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
    const { sql, parameters } = compiledQuery
    if (this.dialect.context.echo) this.echo(sql, parameters)
    const raw = this.raw
    let rows: R[] = []
    let ended = false
    let failure: unknown = undefined
    let paused = false
    let dropping = false
    let wake: (() => void) | undefined
    const notify = () => {
      const w = wake
      wake = undefined
      w?.()
    }
    const query = raw.query(sql, parameters.length === 0 ? undefined : (parameters as unknown[]))
    query.on('result', (row: unknown) => {
      if (dropping) return
      rows.push(row as R)
      if (rows.length >= chunkSize && !paused) {
        paused = true
        raw.pause()
      }
      notify()
    })
    query.on('error', (error: unknown) => {
      failure = error
      notify()
    })
    query.on('end', () => {
      ended = true
      notify()
    })
    try {
      for (;;) {
        if (rows.length >= chunkSize || ((ended || failure !== undefined) && rows.length > 0)) {
          const batch = rows.length > chunkSize ? rows.splice(0, chunkSize) : rows
          if (batch === rows) rows = []
          if (paused && rows.length < chunkSize) {
            paused = false
            raw.resume()
          }
          yield { rows: batch }
          continue
        }
        if (failure !== undefined) throw this.mapError(failure, sql, parameters)
        if (ended) return
        await new Promise<void>((resolve) => (wake = resolve))
      }
    } finally {
      if (!ended && failure === undefined) {
        // Broken out of early: read the rest off the socket so the connection can run its next statement.
        dropping = true
        rows = []
        if (paused) raw.resume()
        while (!ended && failure === undefined) await new Promise<void>((resolve) => (wake = resolve))
      }
    }
  }

  /**
   * A deadlock rolls the whole transaction back, and so does a lock wait
   * timeout with `innodb_rollback_on_timeout`: a no-op statement's status
   * flags tell, before anything else is sent, whether a transaction is still
   * open. If not, `rolledBackBy` makes the holder refuse the statements that
   * would otherwise run in autocommit.
   */
  #learnRollback(cause: unknown, then: () => void): void {
    try {
      this.raw.query('DO 0', (error: unknown, result: unknown) => {
        const status = (result as OkPacket | undefined)?.serverStatus
        if (!error && typeof status === 'number') {
          this.#toResult(result)
          if ((status & SERVER_STATUS_IN_TRANS) === 0) this.rolledBackBy = cause
        }
        then()
      })
    } catch {
      then()
    }
  }

  #toResult<R>(result: unknown): QueryResult<R> {
    if (Array.isArray(result)) return { rows: result as R[] }
    const ok = result as OkPacket
    if (typeof ok.serverStatus === 'number') {
      // With autocommit off, the next statement opens a transaction the flags cannot show yet.
      this.#autocommit = (ok.serverStatus & SERVER_STATUS_AUTOCOMMIT) !== 0
      this.#inTransaction = (ok.serverStatus & SERVER_STATUS_IN_TRANS) !== 0 || !this.#autocommit
    }
    const insertId = ok.insertId
    return {
      insertId: insertId !== undefined && insertId !== null && insertId.toString() !== '0' ? BigInt(insertId) : undefined,
      numAffectedRows: ok.affectedRows !== undefined ? BigInt(ok.affectedRows) : undefined,
      numChangedRows: ok.changedRows !== undefined ? BigInt(ok.changedRows) : undefined,
      rows: [],
    }
  }

  close(): Promise<void> {
    const raw = this.raw as unknown as { _command?: unknown; stream?: { destroy(): void } }
    // mysql2's end() and destroy() both wait for a running statement; cutting the socket does not.
    const cut = () => raw.stream?.destroy()
    if (this.broken !== undefined || raw._command) {
      cut()
      return Promise.resolve()
    }
    const closing = new Promise<void>((resolve) => this.raw.end(() => resolve()))
    return closeWithin(closing, 2_000, cut)
  }
}

/**
 * Maps the URL's query parameters onto mysql2's config: `charset`,
 * `connect_timeout` (seconds), `timezone`, `ssl` (`true`/`1`: TLS verified;
 * `false`/`0`: off; anything else: a mysql2 SSL profile name).
 *
 * ```ts
 * mysqlConfigFromUrl(parseUrl('mysql://root@h/db?charset=utf8mb4')).charset // 'utf8mb4'
 * ```
 */
export function mysqlConfigFromUrl(url: DialectUrl): mysql.ConnectionOptions {
  const config = serverConfigFromUrl(url)
  const charset = queryValue(url, 'charset')
  if (charset !== undefined) config.charset = charset
  const connectTimeout = queryValue(url, 'connect_timeout')
  if (connectTimeout !== undefined && Number(connectTimeout) > 0) config.connectTimeout = Number(connectTimeout) * 1000
  const timezone = queryValue(url, 'timezone')
  if (timezone !== undefined) config.timezone = timezone
  // BIGINT values over 2^53 arrive as exact strings, not rounded numbers (smaller ones stay numbers).
  config.supportBigNumbers = true
  const ssl = queryValue(url, 'ssl')
  if (ssl !== undefined) {
    if (ssl === 'true' || ssl === '1') config.ssl = { rejectUnauthorized: true }
    else if (ssl !== 'false' && ssl !== '0') config.ssl = ssl
  }
  return dropUndefined(config) as mysql.ConnectionOptions
}

/**
 * MySQL and MariaDB through mysql2. RETURNING is detected from the server
 * version at the first connection (MariaDB 10.5+).
 *
 * ```ts
 * const driver = new MysqlDriver(config)
 * const c = await driver.open()
 * ```
 */
export class MysqlDriver extends BaseDialectDriver {
  readonly name = 'mysql' as const
  readonly isolationLevels: readonly IsolationLevel[] = ['READ UNCOMMITTED', 'READ COMMITTED', 'REPEATABLE READ', 'SERIALIZABLE']
  readonly commitStatement = 'COMMIT'
  readonly rollbackStatement = 'ROLLBACK'
  readonly #connectionConfig: mysql.ConnectionOptions
  /** MariaDB, as far as we know (the URL says so, or a server did). */
  #mariadb: boolean
  /** `max_allowed_packet` has been read from a server into `maxStatementBytes`. */
  #packetLimitKnown = false

  constructor(config: DialectConfig) {
    super(config, { insertReturning: false, maxParameters: 65_535, maxStatementBytes: MYSQL_DEFAULT_MAX_PACKET, savepoints: true })
    this.#mariadb = config.url.backend === 'mariadb'
    this.#connectionConfig = { ...mysqlConfigFromUrl(config.url), ...config.connectArgs } as mysql.ConnectionOptions
  }

  get isMariaDB(): boolean {
    return this.#mariadb
  }

  override isTemporaryOpenError(error: unknown): boolean {
    return isMysqlTooManyConnections(error)
  }

  /**
   * Ends the transaction and, when raw SQL turned autocommit off, turns it
   * back on: otherwise the next holder's writes would wait, uncommitted, for
   * a COMMIT that never comes.
   */
  override reset(connection: DbConnection, mode: ResetMode): Promise<void> | void {
    if (mode === 'reset') return this.resetSession(connection)
    const c = connection as MysqlConnection
    if (!c.inTransaction) return
    const end = c.run(mode === 'commit' ? this.commitStatement : this.rollbackStatement)
    return c.autocommit ? end.then(noop) : end.then(() => c.run('SET autocommit = 1')).then(noop)
  }

  /** COM_RESET_CONNECTION, then the engine's own session settings again. */
  protected override async resetSession(connection: DbConnection): Promise<void> {
    const c = connection as MysqlConnection
    await c.resetSession()
    for (const sql of this.#setupStatements()) await c.run(sql)
  }

  async open(): Promise<MysqlConnection> {
    const raw = mysql.createConnection(this.#connectionConfig)
    const connection = new MysqlConnection(this, raw)
    try {
      await new Promise<void>((resolve, reject) => raw.connect((error) => (error ? reject(error) : resolve())))
      this.#learnServer(raw)
      if (!this.#packetLimitKnown) await this.#learnPacketLimit(raw)
      for (const sql of this.#setupStatements()) await connection.run(sql)
    } catch (error) {
      raw.destroy()
      throw error
    }
    return connection
  }

  #learnServer(raw: mysql.Connection): void {
    const version = (raw as unknown as { _handshakePacket?: { serverVersion?: string } })._handshakePacket?.serverVersion
    if (version === undefined) return
    const server = parseServerVersion(version)
    this.#mariadb = server.mariadb
    const returning = server.mariadb && (server.major > 10 || (server.major === 10 && server.minor >= 5))
    if (returning !== this.caps.insertReturning) this.caps = Object.freeze({ ...this.caps, insertReturning: returning })
  }

  /**
   * Reads `max_allowed_packet` once per engine (it is a global setting: every
   * session gets the server's value), straight on the driver so echo and
   * statement counts do not see it. insertMany and the flush size batches by it.
   */
  async #learnPacketLimit(raw: mysql.Connection): Promise<void> {
    const rows = await new Promise<unknown>((resolve, reject) =>
      raw.query('SELECT @@max_allowed_packet AS max_allowed_packet', (error: unknown, result: unknown) => (error ? reject(error) : resolve(result))),
    )
    const value = Number((rows as { max_allowed_packet?: unknown }[] | undefined)?.[0]?.max_allowed_packet)
    if (Number.isSafeInteger(value) && value > 0) {
      this.#packetLimitKnown = true
      if (value !== this.caps.maxStatementBytes) this.caps = Object.freeze({ ...this.caps, maxStatementBytes: value })
    }
  }

  /**
   * max_connections and Threads_connected. MariaDB and MySQL keep their one
   * extra SUPER slot beyond max_connections, so nothing is reserved inside it.
   */
  async serverConnectionLimits(connection: DbConnection): Promise<ServerConnectionLimits> {
    const raw = (connection as MysqlConnection).raw
    const query = (sql: string): Promise<Record<string, unknown>[]> =>
      new Promise((resolve, reject) =>
        raw.query(sql, (error: unknown, rows: unknown) => (error ? reject(error) : resolve(rows as Record<string, unknown>[]))),
      )
    const [limit] = await query('SELECT @@max_connections AS max_connections')
    const [status] = await query("SHOW GLOBAL STATUS LIKE 'Threads_connected'")
    return { maxConnections: Number(limit.max_connections), reserved: 0, inUse: Number(status.Value ?? status.VALUE) }
  }

  /** After the server refused a packet as too large: read the limit again at the next connection. */
  forgetPacketLimit(): void {
    this.#packetLimitKnown = false
  }

  #setupStatements(): string[] {
    const statements: string[] = []
    const level = this.engineLevel
    if (level !== undefined) statements.push(this.isolationStatement(level))
    const timeout = this.config.statementTimeout
    if (timeout !== undefined && timeout > 0) {
      statements.push(
        this.#mariadb
          ? `SET SESSION max_statement_time = ${(timeout / 1000).toFixed(3)}`
          : `SET SESSION max_execution_time = ${Math.ceil(timeout)}`,
      )
    }
    return statements
  }

  classify(error: unknown): ErrorInfo {
    return classifyMysql(error)
  }

  /**
   * A statement over max_allowed_packet may end in 1153, or in the server
   * cutting the connection while mysql2 still writes (ECONNRESET, EPIPE):
   * either way it is "too large", not a disconnect worth retrying.
   */
  override toError(info: ErrorInfo, cause: unknown, sql: string, parameters: readonly unknown[]): Error {
    let shown = info
    if (info.kind === 'disconnect' && info.tooLarge !== true && statementBytes(sql, parameters) > this.caps.maxStatementBytes) {
      shown = { ...info, tooLarge: true }
    }
    if (shown.tooLarge === true) this.forgetPacketLimit()
    return super.toError(shown, cause, sql, parameters)
  }

  beginStatements(settings?: TransactionSettings): readonly string[] {
    if (settings === undefined || (settings.isolationLevel === undefined && settings.accessMode === undefined)) return BEGIN
    const parts: string[] = []
    if (settings.isolationLevel !== undefined) parts.push(`ISOLATION LEVEL ${settings.isolationLevel.toUpperCase()}`)
    if (settings.accessMode !== undefined) parts.push(settings.accessMode.toUpperCase())
    // SET TRANSACTION applies to the next transaction only.
    return [`SET TRANSACTION ${parts.join(', ')}`, 'BEGIN']
  }

  isolationStatement(level: Exclude<IsolationLevel, 'AUTOCOMMIT'>): string {
    return `SET SESSION TRANSACTION ISOLATION LEVEL ${level}`
  }

  revertIsolationStatement(): string {
    const level = this.engineLevel
    if (level !== undefined) return this.isolationStatement(level)
    // MariaDB names it tx_isolation; MySQL 8 only knows transaction_isolation.
    const variable = this.#mariadb ? 'tx_isolation' : 'transaction_isolation'
    return `SET SESSION ${variable} = @@GLOBAL.${variable}`
  }

  createAdapter(): DialectAdapter {
    return new MysqlAdapter()
  }

  createQueryCompiler(): QueryCompiler {
    return new MysqlQueryCompiler()
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new MysqlIntrospector(db)
  }
}

export type { MysqlConnection }

function noop(): void {}
