import type { CompiledQuery, QueryResult } from 'kysely'
import type { PGlite, Results } from '@electric-sql/pglite'
import { DbConnection } from '../dialect.js'
import type { DialectConfig } from '../dialect.js'
import { rolledBackError } from '../errors.js'
import { refuseStatementTimeout } from './base.js'
import { assertInstalled, importOptional } from './optional-driver.js'
import { PostgresFamilyDriver } from './postgres-family.js'
import { cursorStream } from './postgres-cursor.js'
import { POSTGRES_MAX_MESSAGE_BYTES } from './syntax.js'
import { observePromise } from '../statement-observer.js'

/** One PGlite instance: PostgreSQL compiled to WASM, in this process. */
class PgliteConnection extends DbConnection {
  constructor(
    override readonly dialect: PgliteDriver,
    readonly raw: PGlite,
  ) {
    super(dialect)
  }

  get inTransaction(): boolean {
    return this.raw.isInTransaction()
  }

  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const observer = this.dialect.context.observer
    if (observer !== undefined) return observePromise(observer, compiledQuery.sql, compiledQuery.parameters, this, () => this.#execute<R>(compiledQuery))
    return this.#execute<R>(compiledQuery)
  }

  #execute<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const { sql, parameters } = compiledQuery
    if (this.dialect.context.echo) this.echo(sql, parameters)
    return this.raw.query<R>(sql, parameters as unknown[]).then(pgliteResult<R>, (error: unknown) => {
      const mapped = this.mapError(error, sql, parameters)
      // The first error aborts the transaction; 25P02 ("current transaction is aborted") only repeats it.
      if (this.raw.isInTransaction() && (mapped as { sqlState?: string }).sqlState !== '25P02') this.failedBy = mapped
      throw mapped
    })
  }

  /** Kysely's `.stream()`: a cursor, one batch in memory at a time. */
  override streamQuery<R>(compiledQuery: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
    return cursorStream<R>(this, compiledQuery, chunkSize)
  }

  /** COMMIT, reading the server's answer: the command tag `ROLLBACK` means the failed transaction was rolled back. */
  override commit(): Promise<void> {
    const observer = this.dialect.context.observer
    if (observer !== undefined) return observePromise(observer, this.dialect.commitStatement, [], this, () => this.#commit())
    return this.#commit()
  }

  async #commit(): Promise<void> {
    const sql = this.dialect.commitStatement
    const cause = this.failedBy
    this.failedBy = undefined
    this.rolledBackBy = undefined
    if (this.dialect.context.echo) this.echo(sql, [])
    let result: Results
    try {
      result = await this.raw.query(sql)
    } catch (error) {
      this.fail(error, sql, [])
    }
    if ((result as { command?: string }).command === 'ROLLBACK') throw rolledBackError(sql, cause, true)
  }

  async close(): Promise<void> {
    try {
      if (!this.raw.closed) await this.raw.close()
    } catch {
      // Best effort: the instance is dropped either way.
    }
  }
}

function pgliteResult<R>(result: Results<R>): QueryResult<R> {
  return {
    numAffectedRows: result.affectedRows === undefined ? undefined : BigInt(result.affectedRows),
    rows: result.rows,
  }
}

/**
 * PostgreSQL in WASM through @electric-sql/pglite (an optional peer, loaded at
 * the first connection): in memory (`pglite://`) or in a directory
 * (`pglite:///path/to/dir`). One instance is one connection; the engine uses
 * the single-connection pool.
 *
 * ```ts
 * const engine = createEngine('pglite://')
 * ```
 */
export class PgliteDriver extends PostgresFamilyDriver {
  readonly name = 'pglite' as const

  constructor(config: DialectConfig) {
    super(config, { insertReturning: true, maxParameters: 65_535, maxStatementBytes: POSTGRES_MAX_MESSAGE_BYTES, savepoints: true })
    assertInstalled('@electric-sql/pglite', 'pglite')
    refuseStatementTimeout(config, 'pglite', 'PGlite runs statements on the main thread, so none can be interrupted')
  }

  async open(): Promise<PgliteConnection> {
    const module = await importOptional<typeof import('@electric-sql/pglite')>('@electric-sql/pglite', 'pglite')
    const url = this.config.url
    const dataDir = url.inMemory || url.database === undefined || url.database === '' ? undefined : url.database
    const raw = new module.PGlite(dataDir, { ...this.config.connectArgs })
    await raw.waitReady
    const connection = new PgliteConnection(this, raw)
    await this.applyEngineLevel(connection)
    return connection
  }
}

export type { PgliteConnection }
