import type { CompiledQuery, QueryResult } from 'kysely'
import type { PGlite, Results } from '@electric-sql/pglite'
import { DbConnection } from '../dialect.js'
import type { DialectConfig } from '../dialect.js'
import { refuseStatementTimeout } from './base.js'
import { assertInstalled, importOptional } from './optional-driver.js'
import { PostgresFamilyDriver } from './postgres-family.js'
import { POSTGRES_MAX_MESSAGE_BYTES } from './syntax.js'

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
    const { sql, parameters } = compiledQuery
    if (this.dialect.context.echo) this.echo(sql, parameters)
    return this.raw.query<R>(sql, parameters as unknown[]).then(pgliteResult<R>, (error: unknown) => this.fail(error, sql, parameters))
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
