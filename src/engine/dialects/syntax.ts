import type { DialectName } from '../types.js'

/**
 * How one dialect spells identifiers and bound-parameter placeholders: the one
 * source for every piece of SQL text athanor writes itself (DDL, insertMany,
 * the session's batched statements, savepoints). Internal.
 *
 * ```ts
 * sqlSyntax('postgresql').quoteIdentifier('my"col') // '"my""col"'
 * sqlSyntax('mysql').quoteTable('note', 'app')        // '`app`.`note`'
 * sqlSyntax('postgresql').placeholder(0)              // '$1'
 * ```
 */
export interface SqlSyntax {
  /** Quotes ONE identifier, whatever it contains (a dot is part of the name). */
  quoteIdentifier(name: string): string
  /** `schema.table` with each part quoted, or the table alone. */
  quoteTable(table: string, schema?: string): string
  /** The placeholder for the `index`-th (0-based) bound parameter. */
  placeholder(index: number): string
}

/** `"name"` with inner double quotes doubled (PostgreSQL, SQLite, PGlite). */
export function quoteDouble(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

/** `` `name` `` with inner backticks doubled (MySQL, MariaDB). */
export function quoteBacktick(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``
}

function syntax(quote: (name: string) => string, placeholder: (index: number) => string): SqlSyntax {
  return Object.freeze({
    quoteIdentifier: quote,
    quoteTable: (table: string, schema?: string) => (schema === undefined ? quote(table) : `${quote(schema)}.${quote(table)}`),
    placeholder,
  })
}

const dollar = (index: number) => `$${index + 1}`
const question = () => '?'

const SYNTAX: Readonly<Record<DialectName, SqlSyntax>> = Object.freeze({
  postgresql: syntax(quoteDouble, dollar),
  pglite: syntax(quoteDouble, dollar),
  mysql: syntax(quoteBacktick, question),
  sqlite: syntax(quoteDouble, question),
})

/** The identifier and placeholder syntax of a dialect. */
export function sqlSyntax(dialect: DialectName): SqlSyntax {
  return SYNTAX[dialect]
}

/**
 * Splits a table reference the way Kysely reads one (`'app.note'` is table
 * `note` in schema `app`), for APIs that take a table name as a string.
 *
 * ```ts
 * splitTableReference('app.note') // { schema: 'app', table: 'note' }
 * splitTableReference('note')     // { table: 'note' }
 * ```
 */
export function splitTableReference(reference: string): { readonly schema?: string; readonly table: string } {
  const dot = reference.indexOf('.')
  if (dot < 0) return { table: reference }
  return { schema: reference.slice(0, dot), table: reference.slice(dot + 1) }
}

/** What bounds one statement's size on each dialect, for messages. */
const STATEMENT_LIMITS: Readonly<Record<DialectName, string>> = Object.freeze({
  postgresql: "PostgreSQL's limit on one protocol message",
  pglite: "PostgreSQL's limit on one protocol message",
  mysql: "the server's max_allowed_packet (raise it with SET GLOBAL max_allowed_packet, then reconnect)",
  sqlite: "SQLite's SQLITE_MAX_LENGTH",
})

/**
 * Names a dialect's statement size limit, for a {@link StatementTooLargeError}.
 *
 * ```ts
 * describeStatementLimit('mysql', 16_777_216) // "16777216 bytes (the server's max_allowed_packet ...)"
 * ```
 */
export function describeStatementLimit(dialect: DialectName, bytes: number): string {
  return `${bytes} bytes (${STATEMENT_LIMITS[dialect]})`
}

/** PostgreSQL refuses a protocol message of 1 GB or more (PQ_LARGE_MESSAGE_LIMIT); PGlite is PostgreSQL. */
export const POSTGRES_MAX_MESSAGE_BYTES = 0x3fff_ffff
/** SQLite's default SQLITE_MAX_LENGTH, the most one string, blob or row may hold (better-sqlite3 keeps it). */
export const SQLITE_MAX_LENGTH = 1_000_000_000
/** MySQL 5.7's default max_allowed_packet: assumed until the server says (MariaDB 10.2+ has 16 MiB, MySQL 8 64 MiB). */
export const MYSQL_DEFAULT_MAX_PACKET = 4 * 1024 * 1024
