import pg from 'pg'
import type { CompiledQuery, QueryResult } from 'kysely'
import type { DbConnection, DialectConfig, DialectUrl } from '../dialect.js'
import { rolledBackError } from '../errors.js'
import { CallbackConnection, closeWithin, dropUndefined, queryValue, serverConfigFromUrl } from './base.js'
import { PostgresFamilyDriver, postgresResult } from './postgres-family.js'

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
    try {
      // A throwing logger (or driver) fails the statement, not the process.
      if (this.dialect.context.echo) this.echo(sql, parameters)
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

  /** COMMIT, reading the server's answer: the command tag `ROLLBACK` means the failed transaction was rolled back. */
  override commit(): Promise<void> {
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

function noop(): void {}

interface EventEmitterLike {
  on(event: string, listener: () => void): unknown
  removeListener(event: string, listener: () => void): unknown
}

/**
 * Maps the URL's query parameters onto pg's client config:
 * `sslmode` (disable/allow: off; prefer/require/no-verify: TLS without verification;
 * verify-ca/verify-full: TLS verified), `application_name`,
 * `connect_timeout` (seconds), `options`, `client_encoding`.
 *
 * ```ts
 * pgConfigFromUrl(parseUrl('postgresql://u:p@h/db?sslmode=require')).ssl // { rejectUnauthorized: false }
 * ```
 */
export function pgConfigFromUrl(url: DialectUrl): pg.ClientConfig {
  const config = serverConfigFromUrl(url)
  const sslmode = queryValue(url, 'sslmode')
  if (sslmode !== undefined) {
    if (sslmode === 'disable' || sslmode === 'allow') config.ssl = false
    // no-verify is pg's own mode: TLS without checking the certificate.
    else if (sslmode === 'prefer' || sslmode === 'require' || sslmode === 'no-verify') config.ssl = { rejectUnauthorized: false }
    else config.ssl = true
  }
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
  readonly #clientConfig: pg.ClientConfig

  constructor(config: DialectConfig) {
    super(config, { insertReturning: true, maxParameters: 65_535, savepoints: true })
    const clientConfig: Record<string, unknown> = { ...pgConfigFromUrl(config.url) }
    if (config.statementTimeout !== undefined && config.statementTimeout > 0) {
      clientConfig.statement_timeout = Math.ceil(config.statementTimeout)
    }
    const level = this.engineLevel
    if (level !== undefined) {
      // Backslash-escape the space: libpq splits `options` on unescaped spaces.
      const setting = `-c default_transaction_isolation=${level.toLowerCase().replace(/ /g, '\\ ')}`
      clientConfig.options = typeof clientConfig.options === 'string' ? `${clientConfig.options} ${setting}` : setting
    }
    this.#clientConfig = { ...clientConfig, ...config.connectArgs } as pg.ClientConfig
  }

  /** RESET returns to the startup packet's level, which is the engine's. */
  override revertIsolationStatement(): string {
    return 'RESET default_transaction_isolation'
  }

  async open(): Promise<PgConnection> {
    const client = new pg.Client(this.#clientConfig)
    const connection = new PgConnection(this, client)
    try {
      await client.connect()
    } catch (error) {
      void closeWithin(client.end(), 500, () => undefined)
      throw error
    }
    return connection
  }
}

export type { PgConnection }
