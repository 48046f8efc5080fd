import pg from 'pg'
import type { CompiledQuery, QueryResult } from 'kysely'
import type { DbConnection, DialectConfig, DialectUrl, ServerConnectionLimits } from '../dialect.js'
import { CallbackConnection, closeWithin, dropUndefined, queryValue, serverConfigFromUrl } from './base.js'
import { messageOf, SOCKET_ERROR_CODES } from './base.js'
import { rolledBackError, TlsUnavailableError, TransactionPoolingError } from '../errors.js'
import type { TransactionSettings } from 'kysely'
import type { IsolationLevel } from '../types.js'
import { refusalUnderTransactionPooling } from './postgres/transaction-pooling.js'
import { PostgresFamilyDriver, postgresResult } from './postgres-family.js'
import { cursorStream } from './postgres-cursor.js'
import { POSTGRES_MAX_MESSAGE_BYTES } from './syntax.js'
import { observeCallbacks, observePromise } from '../statement-observer.js'

/**
 * One pg `Client`. Its transaction state comes from the server's last
 * ReadyForQuery status, so a reset costs nothing when no transaction is open.
 */
class PgConnection extends CallbackConnection {
  constructor(
    override readonly dialect: PostgresDriver,
    readonly client: pg.Client,
  ) {
    super(dialect, client, 'Connection terminated')
  }

  get inTransaction(): boolean {
    return this.#status() !== 'I'
  }

  /** 'I' idle, 'T' in a transaction, 'E' in a failed one (from the last ReadyForQuery). */
  #status(): string | null {
    return (this.client as unknown as { getTransactionStatus(): string | null }).getTransactionStatus()
  }

  get processId(): number {
    return (this.client as unknown as { processID: number }).processID
  }

  /**
   * pg's callback API settles the caller's promise directly: its promise API
   * would add two more (and a stack capture on every error, which the typed
   * error replaces anyway).
   */
  override submit<R>(
    compiledQuery: CompiledQuery,
    release: ((connection: DbConnection) => void) | undefined,
    resolve: (result: QueryResult<R>) => void,
    reject: (error: unknown) => void,
  ): void {
    const { sql, parameters } = compiledQuery
    if (this.dialect.transactionPooled) {
      const why = refusalUnderTransactionPooling(sql)
      if (why !== undefined) {
        if (release !== undefined) release(this)
        reject(new TransactionPoolingError(`not sent: this engine is behind a transaction pooler (?pgbouncer=transaction), and ${why}`, sql))
        return
      }
    }
    try {
      // A throwing logger (or driver) fails the statement, not the process.
      if (this.dialect.context.echo) this.echo(sql, parameters)
      const observer = this.dialect.context.observer
      if (observer !== undefined) [resolve, reject] = observeCallbacks(observer, sql, parameters, this, resolve, reject)
      // No values: pg then uses the simple protocol, one round trip with no parse step.
      // pg copies the values while preparing them, so Kysely's frozen array can go as is.
      const values = parameters.length === 0 ? undefined : (parameters as unknown[])
      this.client.query(sql, values as unknown[], (error: Error | null, result: pg.QueryResult) => {
        if (error) {
          const mapped = this.mapError(error, sql, parameters)
          // The status is still the one from before this statement: an error inside a transaction aborts it.
          if (this.#status() === 'T') this.failedBy = mapped
          if (release === undefined) {
            reject(mapped)
            return
          }
          this.releaseAfterError(error, release, () => reject(mapped))
          return
        }
        if (release !== undefined) release(this)
        resolve(postgresResult<R>(result))
      })
    } catch (error) {
      if (release !== undefined) release(this)
      reject(error)
    }
  }

  /** Kysely's `.stream()`: a server-side cursor, one batch in memory at a time. */
  override streamQuery<R>(compiledQuery: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
    return cursorStream<R>(this, compiledQuery, chunkSize)
  }

  /** COMMIT, reading the server's answer: the command tag `ROLLBACK` means the failed transaction was rolled back. */
  override commit(): Promise<void> {
    const observer = this.dialect.context.observer
    if (observer !== undefined) return observePromise(observer, this.dialect.commitStatement, [], this, () => this.#commit())
    return this.#commit()
  }

  #commit(): Promise<void> {
    const sql = this.dialect.commitStatement
    const cause = this.failedBy
    this.failedBy = undefined
    this.rolledBackBy = undefined
    return new Promise<void>((resolve, reject) => {
      try {
        if (this.dialect.context.echo) this.echo(sql, [])
        this.client.query(sql, (error: Error | null, result: pg.QueryResult) => {
          if (error) {
            const mapped = this.mapError(error, sql, [])
            this.releaseAfterError(error, noop, () => reject(mapped))
          } else if (result.command === 'ROLLBACK') reject(rolledBackError(sql, cause, true))
          else resolve()
        })
      } catch (error) {
        reject(error)
      }
    })
  }

  /**
   * pg calls back with a server error while it parses the ErrorResponse, before
   * the ReadyForQuery that carries the new transaction status (which may come in
   * a later TCP chunk). Releasing now would let the pool's reset read the stale
   * status and hand out a connection stuck in a failed transaction, so a server
   * error waits for that ReadyForQuery (or the connection's end).
   */
  private releaseAfterError(error: Error, release: (connection: DbConnection) => void, settle: () => void): void {
    const con = (this.client as unknown as { connection?: EventEmitterLike }).connection
    if (!(error instanceof pg.DatabaseError) || this.broken !== undefined || con === undefined) {
      release(this)
      settle()
      return
    }
    const done = (): void => {
      con.removeListener('readyForQuery', done)
      con.removeListener('end', done)
      release(this)
      settle()
    }
    // Registered after the Client's own listener, so the status is updated first.
    con.on('readyForQuery', done)
    con.on('end', done)
  }

  close(): Promise<void> {
    return closeWithin(this.client.end(), 2_000, () => {
      ;(this.client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy()
    })
  }
}

/** pg's words when the server answers the SSLRequest with "no". */
function noTlsOnServer(error: unknown): boolean {
  return /does not support SSL/i.test(messageOf(error))
}

/**
 * Whether libpq would try the other TLS mode after this failure: the server
 * refused TLS or refused the connection (pg_hba's hostssl / hostnossl, a TLS
 * handshake error). Not when the server could not be reached: the other mode
 * would only wait as long again.
 */
function worthAnotherTlsMode(error: unknown): boolean {
  if (noTlsOnServer(error) || error instanceof pg.DatabaseError) return true
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && (SOCKET_ERROR_CODES.has(code) || code === 'ENOTFOUND' || code === 'EAI_AGAIN')) return false
  return /SSL|TLS|certificate|self.signed/i.test(messageOf(error))
}

function noop(): void {}

interface EventEmitterLike {
  on(event: string, listener: () => void): unknown
  removeListener(event: string, listener: () => void): unknown
}

/** TLS without checking the certificate (libpq's require, and prefer's and allow's TLS attempt). */
const TLS_UNVERIFIED = Object.freeze({ rejectUnauthorized: false })
/** TLS with a verified chain, whatever the host name (libpq's verify-ca). */
const TLS_VERIFY_CA = Object.freeze({ rejectUnauthorized: true, checkServerIdentity: () => undefined })

/**
 * What pg is told about TLS on each connection attempt, in order, for an
 * `sslmode` with libpq's meaning: `disable` plain; `allow` plain, then TLS if
 * the server refused plain; `prefer` TLS, then plain if the server has no TLS
 * (or refused the TLS attempt); `require` (and pg's `no-verify`) TLS without
 * verifying the certificate; `verify-ca` TLS with a verified chain;
 * `verify-full` verified chain and host name. No `sslmode`: pg's default.
 *
 * ```ts
 * sslAttempts(parseUrl('postgresql://db/app?sslmode=prefer')) // [{ rejectUnauthorized: false }, false]
 * ```
 */
export function sslAttempts(url: DialectUrl): readonly (pg.ClientConfig['ssl'] | undefined)[] {
  switch (queryValue(url, 'sslmode')) {
    case undefined:
      return [undefined]
    case 'disable':
      return [false]
    case 'allow':
      return [false, TLS_UNVERIFIED]
    case 'prefer':
      return [TLS_UNVERIFIED, false]
    case 'verify-ca':
      return [TLS_VERIFY_CA]
    case 'verify-full':
      return [true]
    default:
      // require, and no-verify (pg's own name for it).
      return [TLS_UNVERIFIED]
  }
}

/**
 * Maps the URL's query parameters onto pg's client config: `sslmode` (the
 * first attempt of {@link sslAttempts}), `application_name`,
 * `connect_timeout` (seconds), `options`, `client_encoding`.
 *
 * ```ts
 * pgConfigFromUrl(parseUrl('postgresql://u:p@h/db?sslmode=require')).ssl // { rejectUnauthorized: false }
 * ```
 */
export function pgConfigFromUrl(url: DialectUrl): pg.ClientConfig {
  const config = serverConfigFromUrl(url)
  const ssl = sslAttempts(url)[0]
  if (ssl !== undefined) config.ssl = ssl
  const applicationName = queryValue(url, 'application_name')
  if (applicationName !== undefined) config.application_name = applicationName
  const connectTimeout = queryValue(url, 'connect_timeout')
  if (connectTimeout !== undefined && Number(connectTimeout) > 0) config.connectionTimeoutMillis = Number(connectTimeout) * 1000
  const options = queryValue(url, 'options')
  if (options !== undefined) config.options = options
  const clientEncoding = queryValue(url, 'client_encoding')
  if (clientEncoding !== undefined) config.client_encoding = clientEncoding
  return dropUndefined(config) as pg.ClientConfig
}

/**
 * PostgreSQL through pg. The engine's isolation level and statement timeout
 * travel in the startup packet, so opening a connection costs no extra round trip.
 *
 * ```ts
 * const driver = new PostgresDriver(config)
 * const c = await driver.open()
 * ```
 */
export class PostgresDriver extends PostgresFamilyDriver {
  readonly name = 'postgresql' as const
  #clientConfig: pg.ClientConfig
  /** The same, without the engine's settings: for a pooler that refuses them in the start-up packet. */
  readonly #bareConfig: pg.ClientConfig
  /** The engine's settings go as SETs after connecting (a session pooler: said so, or found out). */
  #settingsBySet: boolean
  /** TLS settings to try in turn; `connectArgs.ssl` replaces them all. */
  readonly #sslAttempts: readonly (pg.ClientConfig['ssl'] | undefined)[]
  /**
   * The pooler the URL says is in front (`?pgbouncer=`): its start-up packet
   * takes no settings, so the engine's go elsewhere (docs/scale-out.md).
   */
  readonly pooler: 'transaction' | 'session' | undefined
  /** Behind a transaction pooler: session state is refused, settings go per transaction. */
  readonly transactionPooled: boolean
  readonly isolationPerTransaction: boolean

  constructor(config: DialectConfig) {
    super(config, { insertReturning: true, maxParameters: 65_535, maxStatementBytes: POSTGRES_MAX_MESSAGE_BYTES, savepoints: true })
    const pooler = queryValue(config.url, 'pgbouncer')
    this.pooler = pooler === 'transaction' || pooler === 'session' ? pooler : undefined
    this.transactionPooled = this.isolationPerTransaction = this.pooler === 'transaction'
    this.#settingsBySet = this.pooler === 'session'
    const clientConfig: Record<string, unknown> = { ...pgConfigFromUrl(config.url) }
    this.#bareConfig = { ...clientConfig, ...config.connectArgs } as pg.ClientConfig
    if (config.statementTimeout !== undefined && config.statementTimeout > 0 && this.pooler === undefined) {
      clientConfig.statement_timeout = Math.ceil(config.statementTimeout)
    }
    const level = this.engineLevel
    // PgBouncer refuses start-up parameters it does not know (statement_timeout, options).
    if (level !== undefined && this.pooler === undefined) {
      // Backslash-escape the space: libpq splits `options` on unescaped spaces.
      const setting = `-c default_transaction_isolation=${level.toLowerCase().replace(/ /g, '\\ ')}`
      clientConfig.options = typeof clientConfig.options === 'string' ? `${clientConfig.options} ${setting}` : setting
    }
    const full = { ...clientConfig, ...config.connectArgs } as pg.ClientConfig
    // Nothing of the engine's in the start-up packet: one config serves both.
    this.#clientConfig = full.statement_timeout === this.#bareConfig.statement_timeout && full.options === this.#bareConfig.options ? this.#bareConfig : full
    this.#sslAttempts = 'ssl' in config.connectArgs ? [undefined] : sslAttempts(config.url)
  }

  /** RESET returns to the startup packet's level, which is the engine's (behind a pooler: SET it again). */
  override revertIsolationStatement(): string {
    return this.pooler === undefined && !this.#settingsBySet ? 'RESET default_transaction_isolation' : super.revertIsolationStatement()
  }

  /**
   * Behind a transaction pooler the engine's settings ride on each BEGIN:
   * the isolation level (Kysely's, else the connection's own, else the
   * engine's) in `START TRANSACTION`, the statement timeout as `SET LOCAL`
   * in the same round trip (no parameters: one simple-protocol message).
   */
  override beginStatements(settings?: TransactionSettings, connection?: DbConnection): readonly string[] {
    if (!this.transactionPooled) return super.beginStatements(settings)
    const level: string | undefined = settings?.isolationLevel?.toUpperCase() ?? connection?.isolationOverride ?? this.engineLevel
    const modes: string[] = []
    if (level !== undefined && level !== 'AUTOCOMMIT') modes.push(`ISOLATION LEVEL ${level}`)
    if (settings?.accessMode !== undefined) modes.push(settings.accessMode.toUpperCase())
    let begin = modes.length === 0 ? 'BEGIN' : `START TRANSACTION ${modes.join(', ')}`
    const timeout = this.config.statementTimeout
    if (timeout !== undefined && timeout > 0) begin += `; SET LOCAL statement_timeout = ${Math.ceil(timeout)}`
    return [begin]
  }

  /** Behind a session pooler: the settings the start-up packet could not carry, as session SETs. */
  #sessionSettings(): string[] {
    if (!this.#settingsBySet) return []
    const out: string[] = []
    const timeout = this.config.statementTimeout
    if (timeout !== undefined && timeout > 0) out.push(`SET statement_timeout = ${Math.ceil(timeout)}`)
    const level: Exclude<IsolationLevel, 'AUTOCOMMIT'> | undefined = this.engineLevel
    if (level !== undefined) out.push(this.isolationStatement(level))
    return out
  }

  /**
   * The engine's settings travel in the start-up packet, which `DISCARD ALL`
   * returns to; pg's own record of the prepared statements it made must go.
   */
  protected override async afterDiscard(connection: DbConnection): Promise<void> {
    const wire = ((connection as PgConnection).client as unknown as { connection?: Record<string, unknown> }).connection
    if (wire !== undefined) {
      wire.parsedStatements = {}
      wire.submittedNamedStatements = {}
    }
    for (const sql of this.#sessionSettings()) await connection.run(sql)
  }

  /** 53300 too_many_connections: max_connections, or a role's or database's CONNECTION LIMIT. */
  override isTemporaryOpenError(error: unknown): boolean {
    return (error as { code?: unknown } | null)?.code === '53300'
  }

  /** max_connections, the reserved slots (reserved_connections is PostgreSQL 16+) and the client backends. */
  async serverConnectionLimits(connection: DbConnection): Promise<ServerConnectionLimits> {
    const result = await (connection as PgConnection).client.query<{ max: number; reserved: number; in_use: number }>(
      `SELECT current_setting('max_connections')::int AS max,
              current_setting('superuser_reserved_connections')::int
                + coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0) AS reserved,
              (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend') AS in_use`,
    )
    const row = result.rows[0]
    return { maxConnections: Number(row.max), reserved: Number(row.reserved), inUse: Number(row.in_use) }
  }

  /**
   * Opens a connection, trying the `sslmode`'s attempts in turn (prefer: TLS,
   * then plain; allow: plain, then TLS). A TLS-only mode against a server
   * without TLS is a {@link TlsUnavailableError}.
   */
  async open(): Promise<PgConnection> {
    const attempts = this.#sslAttempts
    for (let i = 0; ; i++) {
      try {
        return await this.#openWith(attempts[i])
      } catch (error) {
        if (this.#clientConfig !== this.#bareConfig && /unsupported startup parameter/i.test(messageOf(error))) {
          // PgBouncer (session pooling, no ?pgbouncer=) refuses settings in the start-up packet:
          // from now on they are sent as SETs once connected, which a session keeps.
          this.#clientConfig = this.#bareConfig
          this.#settingsBySet = true
          i--
          continue
        }
        if (i + 1 < attempts.length && worthAnotherTlsMode(error)) continue
        if (attempts[i] !== false && attempts[i] !== undefined && noTlsOnServer(error)) {
          const where = `${this.#clientConfig.host ?? 'localhost'}:${this.#clientConfig.port ?? 5432}`
          throw new TlsUnavailableError(
            `sslmode=${queryValue(this.config.url, 'sslmode')} needs TLS, but the PostgreSQL server at ${where} does not offer it: ` +
              'turn ssl on in postgresql.conf, or use sslmode=prefer to fall back to an unencrypted connection',
            { cause: error },
          )
        }
        throw error
      }
    }
  }

  async #openWith(ssl: pg.ClientConfig['ssl'] | undefined): Promise<PgConnection> {
    const config = ssl === undefined ? this.#clientConfig : { ...this.#clientConfig, ssl }
    const client = new pg.Client(config)
    const connection = new PgConnection(this, client)
    try {
      await client.connect()
      for (const sql of this.#sessionSettings()) await client.query(sql)
    } catch (error) {
      void closeWithin(client.end(), 500, () => undefined)
      throw error
    }
    return connection
  }
}

export type { PgConnection }
