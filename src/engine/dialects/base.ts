import type { DatabaseIntrospector, DialectAdapter, Kysely, QueryCompiler, TransactionSettings } from 'kysely'
import type { ResetMode } from '../../pool/types.js'
import type { DbConnection, DialectConfig, DialectDriver, EngineContext, ErrorInfo } from '../dialect.js'
import { DatabaseError, DisconnectError, IntegrityError, StatementTimeoutError } from '../errors.js'
import type { DialectCapabilities, DialectName, IsolationLevel } from '../types.js'

/** The longest SQL text an error message shows. */
const MAX_SQL_IN_MESSAGE = 2_000

/**
 * What the four dialect drivers share: error building, savepoint and
 * isolation SQL, reset without a round trip. Internal.
 *
 * ```ts
 * class PostgresDriver extends BaseDialectDriver { ... }
 * ```
 */
export abstract class BaseDialectDriver implements DialectDriver {
  abstract readonly name: DialectName
  abstract readonly isolationLevels: readonly IsolationLevel[]
  abstract readonly commitStatement: string
  abstract readonly rollbackStatement: string
  readonly context: EngineContext
  protected caps: DialectCapabilities

  constructor(
    protected readonly config: DialectConfig,
    capabilities: DialectCapabilities,
  ) {
    this.context = config.context
    this.caps = Object.freeze(capabilities)
  }

  get capabilities(): DialectCapabilities {
    return this.caps
  }

  abstract open(): Promise<DbConnection>
  abstract classify(error: unknown): ErrorInfo
  abstract beginStatements(settings?: TransactionSettings): readonly string[]
  abstract isolationStatement(level: Exclude<IsolationLevel, 'AUTOCOMMIT'>): string
  abstract revertIsolationStatement(): string
  abstract quoteIdentifier(name: string): string
  abstract placeholder(index: number): string
  abstract createAdapter(): DialectAdapter
  abstract createQueryCompiler(): QueryCompiler
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  abstract createIntrospector(db: Kysely<any>): DatabaseIntrospector

  close(connection: DbConnection): Promise<void> {
    return connection.close()
  }

  async ping(connection: DbConnection): Promise<boolean> {
    if (connection.broken !== undefined) return false
    try {
      await connection.run('SELECT 1')
      return true
    } catch {
      return false
    }
  }

  /** No round trip unless the server says a transaction is open. */
  reset(connection: DbConnection, mode: ResetMode): Promise<void> | void {
    if (!connection.inTransaction) return
    return connection.run(mode === 'commit' ? this.commitStatement : this.rollbackStatement).then(noop)
  }

  isDisconnect(error: unknown): boolean {
    return this.classify(error).kind === 'disconnect'
  }

  toError(info: ErrorInfo, cause: unknown, sql: string, parameters: readonly unknown[]): Error {
    const shownSql = sql.length > MAX_SQL_IN_MESSAGE ? `${sql.slice(0, MAX_SQL_IN_MESSAGE)}...` : sql
    const code = info.sqlState ?? info.driverCode ?? (info.errno === undefined ? undefined : String(info.errno))
    const hide = this.context.hideParameters
    const text = hide ? scrubValues(info.message, parameters) : info.message
    const message = `${text}${code === undefined ? '' : ` (${code})`} [SQL: ${shownSql}]`
    const details = {
      cause,
      sqlState: info.sqlState,
      errno: info.errno,
      driverCode: info.driverCode,
      sql,
      parameters: hide ? undefined : parameters,
    }
    switch (info.kind) {
      case 'disconnect':
        return new DisconnectError(`the connection to the database was lost: ${message}`, details)
      case 'timeout':
        return new StatementTimeoutError(message, details)
      case 'integrity':
        return new IntegrityError(message, details)
      default:
        return new DatabaseError(message, details)
    }
  }

  savepointStatement(name: string): string {
    return `SAVEPOINT ${this.quoteIdentifier(name)}`
  }

  releaseSavepointStatement(name: string): string {
    return `RELEASE SAVEPOINT ${this.quoteIdentifier(name)}`
  }

  rollbackToSavepointStatement(name: string): string {
    return `ROLLBACK TO SAVEPOINT ${this.quoteIdentifier(name)}`
  }

  /** The engine's level, when it sets one the server understands. */
  protected get engineLevel(): Exclude<IsolationLevel, 'AUTOCOMMIT'> | undefined {
    const level = this.config.isolationLevel
    return level === undefined || level === 'AUTOCOMMIT' ? undefined : level
  }
}

function noop(): void {}

/**
 * Masks bound values a server quoted back in its message (MySQL's
 * "Duplicate entry 'x' for key ..."), for `hideParameters`.
 */
function scrubValues(message: string, parameters: readonly unknown[]): string {
  let out = message
  for (const p of parameters) {
    if (typeof p !== 'string' && typeof p !== 'number' && typeof p !== 'bigint') continue
    const value = String(p)
    if (value === '') continue
    for (const [open, close] of QUOTES) out = out.split(`${open}${value}${close}`).join(`${open}***${close}`)
  }
  return out
}

const QUOTES: readonly (readonly [string, string])[] = [
  ["'", "'"],
  ['"', '"'],
  ['(', ')'],
  ['`', '`'],
]

/** `"name"` with inner quotes doubled; `schema.table` quotes each part. */
export function quoteDouble(name: string): string {
  return name
    .split('.')
    .map((part) => `"${part.replace(/"/g, '""')}"`)
    .join('.')
}

/** The first value of a query parameter (repeated keys give an array). */
export function queryValue(url: { readonly query: Readonly<Record<string, string | readonly string[]>> }, key: string): string | undefined {
  const value = url.query[key]
  if (value === undefined) return undefined
  return typeof value === 'string' ? value : value[value.length - 1]
}

/** The `message` of anything thrown. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}

/** Socket-level failures every network driver reports the same way. */
export const SOCKET_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTCONN',
  'ESHUTDOWN',
])
