import type { Dialect, Kysely } from 'kysely'
import type { ConnectionBudgetReport, Pool } from '../pool/types.js'
import { checkoutWithLevel, EngineConnection } from './connection.js'
import type { ConnectionHost } from './connection.js'
import type { DbConnection, DialectDriver } from './dialect.js'
import { EngineOptionError } from './errors.js'
import { createPoolKysely } from './kysely-driver.js'
import type { EnginePoolDriver } from './kysely-driver.js'
import { kyselyWithOptions } from './kysely-options.js'
import type { EngineKyselyOptions } from './kysely-options.js'
import { ISOLATION_LEVELS } from './options.js'
import type {
  ConnectOptions,
  Connection,
  DialectCapabilities,
  DialectName,
  Engine,
  EngineOptions,
  InsertManyOptions,
  IsolationLevel,
} from './types.js'
import type { EngineUrl } from './url.js'

/**
 * The engine: a pool of connections to one database and a typed Kysely on
 * it. Made by {@link createEngine}; see there for the options.
 *
 * ```ts
 * const engine = createEngine<DB>('postgresql://app@localhost/app')
 * await engine.begin(async (conn) => conn.db.insertInto('person').values({ name: 'Ada' }).execute())
 * await engine.dispose()
 * ```
 */
export class DatabaseEngine<DB> implements Engine<DB>, ConnectionHost<DB> {
  readonly url: EngineUrl
  readonly dialect: DialectName
  readonly pool: Pool<DbConnection>
  readonly db: Kysely<DB>
  readonly kyselyDialect: Dialect
  readonly dialectDriver: DialectDriver
  readonly isolationLevel: IsolationLevel | undefined
  /** The options as given (frozen). */
  readonly options: Readonly<EngineOptions>

  constructor(parts: {
    url: EngineUrl
    pool: Pool<DbConnection>
    dialectDriver: DialectDriver
    kyselyDialect: Dialect
    options: EngineOptions
    budget?: () => ConnectionBudgetReport | undefined
  }) {
    this.#budget = parts.budget
    this.url = parts.url
    this.dialect = parts.dialectDriver.name
    this.pool = parts.pool
    this.dialectDriver = parts.dialectDriver
    this.kyselyDialect = parts.kyselyDialect
    this.options = Object.freeze({ ...parts.options })
    this.isolationLevel = parts.options.isolationLevel
    this.db = createPoolKysely<DB>(parts.kyselyDialect)
  }

  readonly #budget: (() => ConnectionBudgetReport | undefined) | undefined

  /**
   * The connection budget as read at the first connection (undefined before
   * it, with `connectionBudget: false`, or for SQLite/PGlite).
   *
   * ```ts
   * await engine.connect().then((c) => c.close())
   * console.log(engine.connectionBudget?.processesThatFit)
   * ```
   */
  get connectionBudget(): ConnectionBudgetReport | undefined {
    return this.#budget?.()
  }

  get engine(): Engine<DB> {
    return this
  }

  /** What the dialect can do; for MySQL/MariaDB RETURNING is known after the first connection. */
  get capabilities(): DialectCapabilities {
    return this.dialectDriver.capabilities
  }

  /** {@inheritDoc Engine.kysely} */
  kysely<T = DB>(options?: EngineKyselyOptions): Kysely<T> {
    const dialect = this.kyselyDialect
    return kyselyWithOptions<T>(dialect, dialect.createDriver() as EnginePoolDriver, options)
  }

  /** {@inheritDoc Engine.connect} */
  async connect(options: ConnectOptions = {}): Promise<Connection<DB>> {
    const level = options.isolationLevel
    if (level !== undefined) checkIsolationLevel(this.dialectDriver, level, 'connect({ isolationLevel })')
    const connection = await checkoutWithLevel(this, level)
    return new EngineConnection<DB>(this, connection, level)
  }

  async begin<T>(fn: (conn: Connection<DB>) => Promise<T>, options?: ConnectOptions): Promise<T> {
    const conn = (await this.connect(options)) as EngineConnection<DB>
    try {
      await conn.begin()
      let result: T
      try {
        result = await fn(conn)
      } catch (error) {
        // The block is over: its handle refuses late statements before ROLLBACK is sent.
        // The caller's error wins; a failed rollback must not hide it.
        await conn.endBlock('rollback').catch(() => undefined)
        throw error
      }
      await conn.endBlock('commit')
      return result
    } finally {
      await conn.close()
    }
  }

  async insertMany<R extends Record<string, unknown>>(
    table: string,
    rows: readonly Record<string, unknown>[],
    options?: InsertManyOptions,
  ): Promise<R[]> {
    const conn = await this.connect()
    try {
      return await conn.insertMany<R>(table, rows, options)
    } finally {
      await conn.close()
    }
  }

  dispose(options: { close?: boolean; timeout?: number } = {}): Promise<void> {
    return this.pool.dispose(options)
  }

  /** `Engine(postgresql://app:***@db/app)`: the password never shows. */
  toString(): string {
    return `Engine(${this.url.toString()})`
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString()
  }
}

/**
 * Throws {@link EngineOptionError} unless `level` is one of the five and the
 * dialect supports it.
 *
 * ```ts
 * checkIsolationLevel(driver, 'SERIALIZABLE', 'isolationLevel')
 * ```
 */
export function checkIsolationLevel(driver: DialectDriver, level: unknown, where: string): asserts level is IsolationLevel {
  if (!ISOLATION_LEVELS.includes(level as IsolationLevel)) {
    throw new EngineOptionError(
      `${where}: isolation level must be one of ${ISOLATION_LEVELS.map((l) => `'${l}'`).join(', ')}, got ${JSON.stringify(level)}`,
      'isolationLevel',
    )
  }
  if (level !== 'AUTOCOMMIT' && !driver.isolationLevels.includes(level as IsolationLevel)) {
    throw new EngineOptionError(
      `${where}: ${driver.name} does not support isolation level '${String(level)}'; it supports ${[...driver.isolationLevels, 'AUTOCOMMIT']
        .map((l) => `'${l}'`)
        .join(', ')}`,
      'isolationLevel',
    )
  }
}
