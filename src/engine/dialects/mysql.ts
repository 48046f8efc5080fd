import mysql from 'mysql2'
import { MysqlAdapter, MysqlIntrospector, MysqlQueryCompiler } from 'kysely'
import type { CompiledQuery, DatabaseIntrospector, DialectAdapter, Kysely, QueryCompiler, QueryResult, TransactionSettings } from 'kysely'
import type { DbConnection, DialectConfig, DialectUrl, ErrorInfo } from '../dialect.js'
import type { IsolationLevel } from '../types.js'
import { BaseDialectDriver, BEGIN, CallbackConnection, closeWithin, dropUndefined, messageOf, queryValue, serverConfigFromUrl, SOCKET_ERROR_CODES } from './base.js'

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
const MYSQL_INTEGRITY_ERRNOS: ReadonlySet<number> = new Set([1022, 1048, 1062, 1169, 1216, 1217, 1451, 1452, 1557, 1586, 3819, 4025])
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
  if (
    (errno !== undefined && MYSQL_DISCONNECT_ERRNOS.has(errno)) ||
    (driverCode !== undefined && (MYSQL_DISCONNECT_CODES.has(driverCode) || SOCKET_ERROR_CODES.has(driverCode))) ||
    e.fatal === true ||
    /closed state|connection is closed|Connection lost/i.test(message)
  ) {
    return { kind: 'disconnect', ...base }
  }
  if (errno !== undefined && MYSQL_TIMEOUT_ERRNOS.has(errno)) return { kind: 'timeout', ...base }
  if (errno !== undefined && MYSQL_INTEGRITY_ERRNOS.has(errno)) return { kind: 'integrity', ...base }
  return { kind: 'other', ...base }
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

  constructor(
    override readonly dialect: MysqlDriver,
    readonly raw: mysql.Connection,
  ) {
    super(dialect, raw, 'Connection lost: the server closed the connection')
  }

  get inTransaction(): boolean {
    return this.#inTransaction
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
      this.#inTransaction = (ok.serverStatus & SERVER_STATUS_IN_TRANS) !== 0 || (ok.serverStatus & SERVER_STATUS_AUTOCOMMIT) === 0
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

  constructor(config: DialectConfig) {
    super(config, { insertReturning: false, maxParameters: 65_535, savepoints: true })
    this.#mariadb = config.url.backend === 'mariadb'
    this.#connectionConfig = { ...mysqlConfigFromUrl(config.url), ...config.connectArgs } as mysql.ConnectionOptions
  }

  get isMariaDB(): boolean {
    return this.#mariadb
  }

  async open(): Promise<MysqlConnection> {
    const raw = mysql.createConnection(this.#connectionConfig)
    const connection = new MysqlConnection(this, raw)
    try {
      await new Promise<void>((resolve, reject) => raw.connect((error) => (error ? reject(error) : resolve())))
      this.#learnServer(raw)
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

  quoteIdentifier(name: string): string {
    return name
      .split('.')
      .map((part) => `\`${part.replace(/`/g, '``')}\``)
      .join('.')
  }

  placeholder(): string {
    return '?'
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
