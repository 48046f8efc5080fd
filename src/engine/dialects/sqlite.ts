import { SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler } from 'kysely'
import type { CompiledQuery, DatabaseIntrospector, DialectAdapter, Kysely, QueryCompiler, QueryResult } from 'kysely'
import type BetterSqlite3 from 'better-sqlite3'
import { DbConnection } from '../dialect.js'
import type { DialectConfig, DialectUrl, ErrorInfo } from '../dialect.js'
import { EngineOptionError } from '../errors.js'
import type { IntegrityDetails, IntegrityKind } from '../errors.js'
import type { IsolationLevel } from '../types.js'
import { BaseDialectDriver, BEGIN, messageOf, queryValue, refuseStatementTimeout } from './base.js'
import { assertInstalled, importOptional } from './optional-driver.js'
import { SQLITE_MAX_LENGTH } from './syntax.js'
import { observePromise } from '../statement-observer.js'

/** Prepared statements kept per connection; SQLite re-prepares them itself after schema changes. */
const STATEMENT_CACHE_SIZE = 200

/** One better-sqlite3 database handle. Statements run synchronously; results come back as resolved promises. */
class SqliteConnection extends DbConnection {
  readonly #statements = new Map<string, BetterSqlite3.Statement>()

  constructor(
    override readonly dialect: SqliteDriver,
    readonly raw: BetterSqlite3.Database,
  ) {
    super(dialect)
  }

  get inTransaction(): boolean {
    return this.raw.inTransaction
  }

  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const observer = this.dialect.context.observer
    if (observer !== undefined) return observePromise(observer, compiledQuery.sql, compiledQuery.parameters, this, () => this.#execute<R>(compiledQuery))
    return this.#execute<R>(compiledQuery)
  }

  #execute<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const { sql, parameters } = compiledQuery
    if (this.dialect.context.echo) this.echo(sql, parameters)
    let result: QueryResult<R>
    try {
      const statement = this.#prepare(sql)
      if (statement.reader) {
        const rows = statement.all(parameters as unknown[]) as R[]
        const narrow = this.#narrow.get(statement)
        if (narrow !== undefined) narrowIntegers(rows as Record<string, unknown>[], narrow)
        result = { rows }
      } else {
        const { changes, lastInsertRowid } = statement.run(parameters as unknown[])
        result = { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] }
      }
    } catch (error) {
      const mapped = this.#mapped(error, sql, parameters)
      // SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM... may roll the whole transaction back: the next statement would autocommit.
      if (!this.raw.inTransaction) this.rolledBackBy = mapped
      return Promise.reject(mapped)
    }
    return Promise.resolve(result)
  }

  /**
   * Kysely's `.stream()`: better-sqlite3's row iterator, `chunkSize` rows at
   * a time, on a statement of its own (a cached one may be needed by another
   * statement meanwhile). A statement that returns no rows runs whole.
   */
  override async *streamQuery<R>(compiledQuery: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
    const { sql, parameters } = compiledQuery
    let rows: IterableIterator<unknown>
    try {
      const statement = this.raw.prepare(sql)
      if (!statement.reader) {
        yield await this.executeQuery<R>(compiledQuery)
        return
      }
      if (this.dialect.context.echo) this.echo(sql, parameters)
      rows = statement.iterate(parameters as unknown[])
    } catch (error) {
      throw this.#mapped(error, sql, parameters)
    }
    try {
      for (;;) {
        const batch: R[] = []
        try {
          for (let next = rows.next(); ; next = rows.next()) {
            if (next.done === true) break
            batch.push(next.value as R)
            if (batch.length === chunkSize) break
          }
        } catch (error) {
          throw this.#mapped(error, sql, parameters)
        }
        if (batch.length > 0) yield { rows: batch }
        if (batch.length < chunkSize) return
      }
    } finally {
      // Ends the statement (a no-op once it is done), so the database is free for the next one.
      rows.return?.()
    }
  }

  #mapped(error: unknown, sql: string, parameters: readonly unknown[]): unknown {
    try {
      this.fail(error, sql, parameters)
    } catch (mapped) {
      return mapped
    }
  }

  /** Statements reading a BIGINT-declared column (athanor's `bigint({ mode: 'bigint' })`): the other columns to turn back into numbers. */
  readonly #narrow = new WeakMap<BetterSqlite3.Statement, readonly string[]>()

  /**
   * A column declared `BIGINT` is read exactly, as a bigint (better-sqlite3's
   * safe integers), so values over 2^53 survive; safe integers are per
   * statement, so its other columns are turned back into numbers.
   */
  #readBigints(statement: BetterSqlite3.Statement): void {
    const columns = statement.columns()
    if (!columns.some((c) => c.type !== null && c.type.toUpperCase() === 'BIGINT')) return
    statement.safeIntegers(true)
    this.#narrow.set(statement, columns.filter((c) => c.type === null || c.type.toUpperCase() !== 'BIGINT').map((c) => c.name))
  }

  #prepare(sql: string): BetterSqlite3.Statement {
    let statement = this.#statements.get(sql)
    if (statement === undefined) {
      statement = this.raw.prepare(sql)
      if (statement.reader) this.#readBigints(statement)
      if (this.#statements.size >= STATEMENT_CACHE_SIZE) this.#statements.clear()
      this.#statements.set(sql, statement)
    }
    return statement
  }

  close(): Promise<void> {
    this.#statements.clear()
    try {
      if (this.raw.open) this.raw.close()
    } catch {
      // Closing is best effort; the handle is gone either way.
    }
    return Promise.resolve()
  }
}

/**
 * Sorts a better-sqlite3 error: constraint violations by `SQLITE_CONSTRAINT*`;
 * a local file has no disconnects and no server-side timeouts.
 *
 * ```ts
 * classifySqlite(err).kind // 'integrity'
 * ```
 */
export function classifySqlite(error: unknown): ErrorInfo {
  const code = (error as { code?: unknown } | null)?.code
  const driverCode = typeof code === 'string' ? code : undefined
  const message = messageOf(error)
  if (driverCode?.startsWith('SQLITE_CONSTRAINT')) return { kind: 'integrity', driverCode, message, integrity: sqliteIntegrity(driverCode, message) }
  if (driverCode === 'SQLITE_TOOBIG') return { kind: 'other', driverCode, message, tooLarge: true }
  return { kind: 'other', driverCode, message }
}

const SQLITE_INTEGRITY_KINDS: Readonly<Record<string, IntegrityKind>> = {
  SQLITE_CONSTRAINT_UNIQUE: 'unique',
  SQLITE_CONSTRAINT_PRIMARYKEY: 'unique',
  SQLITE_CONSTRAINT_FOREIGNKEY: 'foreignKey',
  SQLITE_CONSTRAINT_NOTNULL: 'notNull',
  SQLITE_CONSTRAINT_CHECK: 'check',
}

/**
 * What SQLite's message names: `UNIQUE constraint failed: t.a, t.b`,
 * `NOT NULL constraint failed: t.c`, `CHECK constraint failed: name`,
 * `UNIQUE constraint failed: index 'name'`. Foreign keys name nothing.
 *
 * ```ts
 * sqliteIntegrity('SQLITE_CONSTRAINT_UNIQUE', 'UNIQUE constraint failed: person.email') // { kind: 'unique', table: 'person', column: 'email', ... }
 * ```
 */
export function sqliteIntegrity(driverCode: string, message: string): IntegrityDetails {
  const kind = SQLITE_INTEGRITY_KINDS[driverCode]
  const colon = message.indexOf('constraint failed: ')
  const subject = colon < 0 ? '' : message.slice(colon + 'constraint failed: '.length)
  if (subject === '') return { kind }
  const index = /^index '(.+)'$/.exec(subject)
  if (index !== null) return { kind, constraint: index[1] }
  if (kind === 'check') return { kind, constraint: subject }
  const parts = subject.split(', ').map((p) => {
    const dot = p.lastIndexOf('.')
    return dot < 0 ? { table: undefined, column: p } : { table: p.slice(0, dot), column: p.slice(dot + 1) }
  })
  const columns = parts.map((p) => p.column)
  return { kind, table: parts[0].table, column: columns.length === 1 ? columns[0] : undefined, columns }
}

/**
 * Maps the URL onto better-sqlite3's options: the path (or `:memory:`),
 * `mode` (`ro`: read-only, `rw`: the file must exist, `rwc`: create it; default),
 * `timeout` (busy timeout in ms).
 *
 * ```ts
 * sqliteConfigFromUrl(parseUrl('sqlite:///app.db?mode=ro')) // { filename: 'app.db', options: { readonly: true, fileMustExist: true } }
 * ```
 */
export function sqliteConfigFromUrl(url: DialectUrl): { filename: string; options: BetterSqlite3.Options } {
  const filename = url.inMemory || url.database === undefined || url.database === '' ? ':memory:' : url.database
  const options: BetterSqlite3.Options = {}
  const mode = queryValue(url, 'mode')
  if (mode === 'ro') Object.assign(options, { readonly: true, fileMustExist: true })
  else if (mode === 'rw') options.fileMustExist = true
  else if (mode !== undefined && mode !== 'rwc') throw new EngineOptionError(`sqlite URL parameter mode must be 'ro', 'rw' or 'rwc', got '${mode}'`, 'mode')
  const timeout = queryValue(url, 'timeout')
  if (timeout !== undefined) {
    const ms = Number(timeout)
    if (!Number.isFinite(ms) || ms < 0) throw new EngineOptionError(`sqlite URL parameter timeout must be a number of ms, got '${timeout}'`, 'timeout')
    options.timeout = ms
  }
  return { filename, options }
}

/**
 * SQLite through better-sqlite3 (an optional peer, loaded at the first
 * connection). Levels: SERIALIZABLE (SQLite's own) and READ UNCOMMITTED
 * (`PRAGMA read_uncommitted`, shared-cache only). No `statementTimeout`: the
 * driver runs statements synchronously, so nothing could interrupt one.
 *
 * ```ts
 * const driver = new SqliteDriver(config)
 * ```
 */
export class SqliteDriver extends BaseDialectDriver {
  readonly name = 'sqlite' as const
  readonly isolationLevels: readonly IsolationLevel[] = ['SERIALIZABLE', 'READ UNCOMMITTED']
  readonly commitStatement = 'COMMIT'
  readonly rollbackStatement = 'ROLLBACK'
  readonly #filename: string
  readonly #options: BetterSqlite3.Options

  constructor(config: DialectConfig) {
    // SQLite's default SQLITE_MAX_VARIABLE_NUMBER since 3.32, and better-sqlite3 keeps it.
    super(config, { insertReturning: true, maxParameters: 32_766, maxStatementBytes: SQLITE_MAX_LENGTH, savepoints: true })
    assertInstalled('better-sqlite3', 'sqlite')
    refuseStatementTimeout(config, 'sqlite', 'better-sqlite3 runs statements synchronously, so none can be interrupted')
    const { filename, options } = sqliteConfigFromUrl(config.url)
    this.#filename = filename
    this.#options = { ...options, ...config.connectArgs } as BetterSqlite3.Options
  }

  async open(): Promise<SqliteConnection> {
    const module = await importOptional<{ default: typeof BetterSqlite3 }>('better-sqlite3', 'sqlite')
    const raw = new module.default(this.#filename, this.#options)
    const connection = new SqliteConnection(this, raw)
    await this.applyEngineLevel(connection)
    return connection
  }

  classify(error: unknown): ErrorInfo {
    return classifySqlite(error)
  }

  beginStatements(): readonly string[] {
    return BEGIN
  }

  isolationStatement(level: Exclude<IsolationLevel, 'AUTOCOMMIT'>): string {
    return `PRAGMA read_uncommitted = ${level === 'READ UNCOMMITTED' ? 1 : 0}`
  }

  revertIsolationStatement(): string {
    return this.isolationStatement(this.engineLevel ?? 'SERIALIZABLE')
  }

  createAdapter(): DialectAdapter {
    return new SqliteAdapter()
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler()
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SqliteIntrospector(db)
  }
}

export type { SqliteConnection }

/** Turns the bigints of the named columns back into numbers (what they are without safe integers). */
function narrowIntegers(rows: Record<string, unknown>[], names: readonly string[]): void {
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]
    for (let j = 0; j < names.length; j++) {
      const v = row[names[j]]
      if (typeof v === 'bigint') row[names[j]] = Number(v)
    }
  }
}
