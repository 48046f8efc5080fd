import { PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely'
import type { DatabaseIntrospector, DialectAdapter, Kysely, QueryCompiler, QueryResult, TransactionSettings } from 'kysely'
import type { IntegrityDetails, IntegrityKind } from '../errors.js'
import type { DbConnection, ErrorInfo } from '../dialect.js'
import type { IsolationLevel } from '../types.js'
import { BaseDialectDriver, BEGIN, messageOf, SOCKET_ERROR_CODES } from './base.js'

/** SQLSTATEs that mean the server ended the session. */
const PG_DISCONNECT_STATES: ReadonlySet<string> = new Set(['57P01', '57P02', '57P03'])

/** What pg and PGlite say when the socket is gone (pg has no code for these). */
const PG_DISCONNECT_MESSAGES = [
  'Connection terminated',
  'not queryable',
  'terminating connection',
  'server closed the connection unexpectedly',
  'Client was closed',
]

/**
 * Sorts a pg / PGlite error by SQLSTATE: 57P01-03 and class 08 are disconnects,
 * 57014 from `statement_timeout` a timeout, class 23 a constraint violation.
 *
 * ```ts
 * classifyPostgres(err).kind // 'disconnect'
 * ```
 */
export function classifyPostgres(error: unknown): ErrorInfo {
  const message = messageOf(error)
  const code = (error as { code?: unknown } | null)?.code
  // Before the SQLSTATE test: 'EPIPE' has the shape of one.
  if (typeof code === 'string' && SOCKET_ERROR_CODES.has(code)) return { kind: 'disconnect', driverCode: code, message }
  const sqlState = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
  if (sqlState !== undefined) {
    if (PG_DISCONNECT_STATES.has(sqlState) || sqlState.startsWith('08')) return { kind: 'disconnect', sqlState, message }
    if (sqlState === '57014' && /statement timeout/i.test(message)) return { kind: 'timeout', sqlState, message }
    if (sqlState.startsWith('23')) return { kind: 'integrity', sqlState, message, integrity: postgresIntegrity(sqlState, error) }
    return { kind: 'other', sqlState, message }
  }
  if (PG_DISCONNECT_MESSAGES.some((m) => message.includes(m))) return { kind: 'disconnect', message }
  return { kind: 'other', driverCode: typeof code === 'string' ? code : undefined, message }
}

const PG_INTEGRITY_KINDS: Readonly<Record<string, IntegrityKind>> = {
  '23505': 'unique',
  '23503': 'foreignKey',
  '23001': 'foreignKey',
  '23502': 'notNull',
  '23514': 'check',
}

/**
 * The fields pg and PGlite copy from the server's ErrorResponse: constraint,
 * table, column, detail. A unique or foreign key's columns come from the
 * DETAIL line (`Key (email)=(...) already exists.`).
 *
 * ```ts
 * postgresIntegrity('23505', err) // { kind: 'unique', constraint: 'person_email_key', table: 'person', column: 'email', ... }
 * ```
 */
export function postgresIntegrity(sqlState: string, error: unknown): IntegrityDetails {
  const e = error as { constraint?: unknown; table?: unknown; column?: unknown; detail?: unknown; message?: unknown }
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined)
  const detail = text(e.detail)
  let column = text(e.column)
  let columns: string[] | undefined
  // "Key (a, b)=(1, 2) is still referenced from table ..." names the parent's columns, not the reported table's.
  const key = detail === undefined || detail.includes('still referenced') ? null : /^Key \((.+?)\)=\(/.exec(detail)
  if (key !== null) {
    columns = key[1].split(', ')
    if (column === undefined && columns.length === 1) column = columns[0]
  }
  return {
    kind: PG_INTEGRITY_KINDS[sqlState],
    constraint: text(e.constraint),
    table: text(e.table),
    column,
    columns: columns ?? (column === undefined ? undefined : [column]),
    detail,
  }
}

/** Shapes a pg-style result (`command`, `rowCount`, `rows`) for Kysely. */
export function postgresResult<R>(result: { command?: string; rowCount?: number | null; rows?: unknown[] }): QueryResult<R> {
  const command = result.command
  return {
    numAffectedRows:
      command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE'
        ? BigInt(result.rowCount ?? 0)
        : undefined,
    rows: (result.rows ?? []) as R[],
  }
}

/**
 * PostgreSQL's SQL, shared by the pg and PGlite drivers. Internal.
 *
 * ```ts
 * class PgliteDriver extends PostgresFamilyDriver { ... }
 * ```
 */
export abstract class PostgresFamilyDriver extends BaseDialectDriver {
  readonly isolationLevels: readonly IsolationLevel[] = ['READ UNCOMMITTED', 'READ COMMITTED', 'REPEATABLE READ', 'SERIALIZABLE']
  readonly commitStatement = 'COMMIT'
  readonly rollbackStatement = 'ROLLBACK'

  classify(error: unknown): ErrorInfo {
    return classifyPostgres(error)
  }

  /**
   * `DISCARD ALL` (after a ROLLBACK if a transaction is open: it cannot run
   * inside one): session settings back to the connection's start-up values,
   * temporary tables, prepared statements, cursors, advisory locks and
   * LISTENs gone. One round trip per checkin.
   */
  protected override async resetSession(connection: DbConnection): Promise<void> {
    if (connection.inTransaction) await connection.run(this.rollbackStatement)
    await connection.run('DISCARD ALL')
    await this.afterDiscard(connection)
  }

  /** What `DISCARD ALL` undid that the engine set after start-up: its isolation level. */
  protected async afterDiscard(connection: DbConnection): Promise<void> {
    await this.applyEngineLevel(connection)
  }

  beginStatements(settings?: TransactionSettings): readonly string[] {
    if (settings === undefined || (settings.isolationLevel === undefined && settings.accessMode === undefined)) return BEGIN
    const modes: string[] = []
    if (settings.isolationLevel !== undefined) modes.push(`ISOLATION LEVEL ${settings.isolationLevel.toUpperCase()}`)
    if (settings.accessMode !== undefined) modes.push(settings.accessMode.toUpperCase())
    return [`START TRANSACTION ${modes.join(', ')}`]
  }

  isolationStatement(level: Exclude<IsolationLevel, 'AUTOCOMMIT'>): string {
    return `SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL ${level}`
  }

  revertIsolationStatement(): string {
    const level = this.engineLevel
    return level === undefined ? 'RESET default_transaction_isolation' : this.isolationStatement(level)
  }

  createAdapter(): DialectAdapter {
    return new PostgresAdapter()
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler()
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new PostgresIntrospector(db)
  }
}
