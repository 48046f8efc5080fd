import type {
  CatalogColumn,
  CatalogForeignKey,
  CatalogKey,
  CatalogTable,
  MigrationSupport,
  SqlRunner,
  TypeRule,
} from '../../../migrate/dialect-support.js'
import { quoteDouble } from '../syntax.js'
import { canonicalAction, canonicalDefault, stripOuterParens } from '../sql-literals.js'

/**
 * SQLite's type table. athanor writes `INTEGER`, `REAL` and `TEXT` only
 * (numeric, varchar, timestamp, json and uuid are all stored as TEXT), so those
 * read back as `integer`, `real` and `text`; the other spellings are what
 * other tools write.
 */
export const SQLITE_TYPES: readonly TypeRule[] = [
  { pattern: /^(integer|int)$/, kind: 'integer' },
  { pattern: /^bigint$/, kind: 'bigint' },
  { pattern: /^(real|double|double precision|float)$/, kind: 'real' },
  { pattern: /^(?:numeric|decimal)\((\d+),(\d+)\)$/, kind: 'numeric', length: 1, scale: 2 },
  { pattern: /^text$/, kind: 'text' },
  { pattern: /^(?:varchar|character varying)\((\d+)\)$/, kind: 'varchar', length: 1 },
  { pattern: /^(boolean|bool)$/, kind: 'boolean' },
  { pattern: /^(timestamp|datetime)$/, kind: 'timestamp' },
  { pattern: /^json$/, kind: 'json' },
  { pattern: /^uuid$/, kind: 'uuid' },
  { pattern: /^smallint$/, kind: 'smallint' },
  { pattern: /^blob$/, kind: 'bytes' },
]

/** athanor's `defaultNow()` on SQLite, with spaces and case taken out. */
const NOW = "strftime('%y-%m-%dt%h:%m:%fz','now')"

type Row = Record<string, unknown>

async function readCatalog(run: SqlRunner, schemaOption: string | undefined): Promise<CatalogTable[]> {
  const schema = schemaOption ?? 'main'
  const tables = await run<{ name: string; sql: string }>(
    `SELECT name, sql FROM ${quoteDouble(schema)}.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name`,
  )
  const result: CatalogTable[] = []
  for (const t of tables) {
    const info = await run<Row>('SELECT * FROM pragma_table_info(?, ?) ORDER BY cid', [t.name, schema])
    const autoIncrement = /\bAUTOINCREMENT\b/i.test(t.sql)
    const pk = info.filter((c) => Number(c.pk) > 0).sort((a, b) => Number(a.pk) - Number(b.pk))
    const columns: CatalogColumn[] = info.map((c) => {
      // Only the INTEGER PRIMARY KEY rowid alias can carry AUTOINCREMENT; it is never NULL.
      const generated = autoIncrement && pk.length === 1 && Number(c.pk) === 1
      return {
        name: String(c.name),
        type: String(c.type),
        nullable: !generated && Number(c.notnull) === 0,
        default: c.dflt_value === null ? undefined : String(c.dflt_value),
        autoIncrement: generated,
      }
    })
    const fkRows = await run<Row>('SELECT * FROM pragma_foreign_key_list(?, ?) ORDER BY id, seq', [t.name, schema])
    const foreignKeys: CatalogForeignKey[] = []
    for (const id of new Set(fkRows.map((r) => Number(r.id)))) {
      const rows = fkRows.filter((r) => Number(r.id) === id)
      foreignKeys.push({
        columns: rows.map((r) => String(r.from)),
        targetTable: String(rows[0].table),
        // `to` is NULL when the key points at the target's primary key implicitly.
        targetColumns: rows.map((r) => (r.to === null ? '' : String(r.to))),
        onDelete: canonicalAction(String(rows[0].on_delete)),
        onUpdate: canonicalAction(String(rows[0].on_update)),
      })
    }
    const uniques: CatalogKey[] = []
    const indexes: CatalogKey[] = []
    const notes: string[] = []
    const list = await run<Row>('SELECT * FROM pragma_index_list(?, ?)', [t.name, schema])
    for (const ix of list) {
      if (ix.origin === 'pk') continue
      const name = String(ix.name)
      const cols = await run<Row>('SELECT * FROM pragma_index_info(?, ?) ORDER BY seqno', [name, schema])
      if (Number(ix.partial) === 1 || cols.some((c) => c.name === null)) {
        notes.push(`index "${name}" has an expression or a WHERE clause; it is left out`)
        continue
      }
      const key = { name: ix.origin === 'u' ? undefined : name, columns: cols.map((c) => String(c.name)) }
      if (Number(ix.unique) === 1) uniques.push(key)
      else indexes.push(key)
    }
    result.push({ name: t.name, columns, primaryKey: pk.map((c) => String(c.name)), uniques, indexes, foreignKeys, notes })
  }
  return result
}

function normalizeDefault(sqlText: string | undefined): string | undefined {
  if (sqlText === undefined) return undefined
  const s = stripOuterParens(sqlText)
  if (s.toLowerCase().replace(/\s+/g, '') === NOW) return 'now'
  return canonicalDefault(s)
}

/** What the lock changed on a connection, put back by unlock. */
const saved = new WeakMap<SqlRunner, { foreignKeys: number; busyTimeout: number }>()

/**
 * Migrations on SQLite: `sqlite_master` and pragma reflection, and a lock that
 * is a write transaction (`BEGIN IMMEDIATE`, waiting up to the timeout), with
 * each migration a savepoint inside it. Foreign keys are off while it is held,
 * as SQLite's table-rebuild procedure requires, and checked before each
 * migration is released.
 *
 * ```ts
 * await sqliteMigration.lock(run, 'athanor_version', 30_000)
 * ```
 */
export const sqliteMigration: MigrationSupport = {
  transactionalDdl: true,
  types: SQLITE_TYPES,
  ddl: {
    identity: 'rowidAutoIncrement',
    alterColumn: 'rebuild',
    alterConstraints: 'rebuild',
    dropIndexOnTable: false,
    dropUniqueAsIndex: false,
    foreignKeyIndex: false,
    addColumnLiteralDefaultOnly: true,
  },
  readCatalog: (run, options) => readCatalog(run, options.schema),
  normalizeDefault,
  normalizeAction: (action) => (action === undefined ? 'no action' : canonicalAction(action)),

  async lock(run, _name, timeoutMs) {
    const [fk] = await run<{ foreign_keys: number }>('PRAGMA foreign_keys')
    const [busy] = await run<{ timeout: number }>('PRAGMA busy_timeout')
    const state = { foreignKeys: Number(fk?.foreign_keys ?? 0), busyTimeout: Number(busy?.timeout ?? 0) }
    // foreign_keys cannot change inside a transaction: switch it off first.
    await run('PRAGMA foreign_keys = OFF')
    await run(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(timeoutMs))}`)
    try {
      await run('BEGIN IMMEDIATE')
    } catch (error) {
      await restore(run, state)
      if (/SQLITE_BUSY|database is locked/i.test(String((error as { message?: unknown })?.message) + String((error as { code?: unknown }).code))) {
        return false
      }
      throw error
    }
    saved.set(run, state)
    return true
  },
  async unlock(run) {
    const state = saved.get(run)
    saved.delete(run)
    try {
      await run('COMMIT')
    } finally {
      if (state) await restore(run, state)
    }
  },
  async beginMigration(run) {
    await run('SAVEPOINT athanor_migration')
  },
  async integrityProblems(run) {
    const rows = await run<Row>('PRAGMA foreign_key_check')
    return rows.map((r) => `row ${String(r.rowid)} of "${String(r.table)}" points at a missing row of "${String(r.parent)}"`)
  },
  async commitMigration(run) {
    await run('RELEASE athanor_migration')
  },
  async rollbackMigration(run) {
    await run('ROLLBACK TO athanor_migration')
    await run('RELEASE athanor_migration')
  },
}

async function restore(run: SqlRunner, state: { foreignKeys: number; busyTimeout: number }): Promise<void> {
  await run(`PRAGMA busy_timeout = ${state.busyTimeout}`)
  await run(`PRAGMA foreign_keys = ${state.foreignKeys ? 'ON' : 'OFF'}`)
}
