import type {
  CatalogColumn,
  CatalogForeignKey,
  CatalogKey,
  CatalogTable,
  MigrationSupport,
  SqlRunner,
  TypeRule,
} from '../../../migrate/dialect-support.js'
import { canonicalAction, canonicalDefault, stripOuterParens } from '../sql-literals.js'

/**
 * MySQL/MariaDB's type table: `COLUMN_TYPE` spellings (with or without the
 * display width) and the ones athanor's DDL writes, to column kinds.
 * `tinyint(1)` is `BOOLEAN`, `char(36)` athanor's UUID, `datetime(3)` its
 * timestamp; MariaDB's JSON is a `longtext` with a `json_valid` check, read as `json`.
 */
export const MYSQL_TYPES: readonly TypeRule[] = [
  { pattern: /^int(\(\d+\))?$/, kind: 'integer' },
  { pattern: /^bigint(\(\d+\))?$/, kind: 'bigint' },
  { pattern: /^double$/, kind: 'real' },
  { pattern: /^(?:decimal|numeric)\((\d+),(\d+)\)$/, kind: 'numeric', length: 1, scale: 2 },
  { pattern: /^text$/, kind: 'text' },
  { pattern: /^varchar\((\d+)\)$/, kind: 'varchar', length: 1 },
  { pattern: /^(tinyint\(1\)|boolean|bool)$/, kind: 'boolean' },
  { pattern: /^datetime\(3\)$/, kind: 'timestamp' },
  { pattern: /^json$/, kind: 'json' },
  { pattern: /^char\(36\)$/, kind: 'uuid' },
  { pattern: /^smallint(\(\d+\))?$/, kind: 'smallint' },
  { pattern: /^date$/, kind: 'date' },
  { pattern: /^time\(3\)$/, kind: 'time' },
  { pattern: /^longblob$/, kind: 'bytes' },
]

type Row = Record<string, unknown>
const str = (v: unknown) => (v === null || v === undefined ? undefined : String(v))

async function readCatalog(run: SqlRunner, schemaOption: string | undefined): Promise<CatalogTable[]> {
  const [info] = await run<{ db: string | null; version: string }>('SELECT DATABASE() AS db, VERSION() AS version')
  const schema = schemaOption ?? info?.db ?? ''
  const mariadb = /mariadb/i.test(info?.version ?? '')
  const tables = await run<Row>(
    `SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME`,
    [schema],
  )
  const columns = await run<Row>(
    `SELECT TABLE_NAME AS tbl, COLUMN_NAME AS name, COLUMN_TYPE AS type, IS_NULLABLE AS nullable,
            COLUMN_DEFAULT AS dflt, EXTRA AS extra
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    [schema],
  )
  // MariaDB's JSON is LONGTEXT plus a CHECK (json_valid(`col`)) named after the column.
  const jsonColumns = new Set<string>()
  if (mariadb) {
    const checks = await run<Row>(
      `SELECT TABLE_NAME AS tbl, CONSTRAINT_NAME AS name, CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?`,
      [schema],
    )
    for (const c of checks) {
      const m = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(String(c.clause).trim())
      if (m) jsonColumns.add(`${String(c.tbl)}.${m[1].replace(/``/g, '`')}`)
    }
  }
  const keys = await run<Row>(
    `SELECT k.TABLE_NAME AS tbl, k.CONSTRAINT_NAME AS name, c.CONSTRAINT_TYPE AS type, k.COLUMN_NAME AS col,
            k.REFERENCED_TABLE_NAME AS target, k.REFERENCED_COLUMN_NAME AS target_col
       FROM information_schema.KEY_COLUMN_USAGE k
       JOIN information_schema.TABLE_CONSTRAINTS c
         ON c.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND c.TABLE_NAME = k.TABLE_NAME AND c.CONSTRAINT_NAME = k.CONSTRAINT_NAME
      WHERE k.TABLE_SCHEMA = ? AND c.CONSTRAINT_TYPE IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY')
      ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION`,
    [schema],
  )
  const rules = await run<Row>(
    `SELECT TABLE_NAME AS tbl, CONSTRAINT_NAME AS name, DELETE_RULE AS on_delete, UPDATE_RULE AS on_update
       FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?`,
    [schema],
  )
  const stats = await run<Row>(
    `SELECT TABLE_NAME AS tbl, INDEX_NAME AS name, NON_UNIQUE AS non_unique, COLUMN_NAME AS col, SUB_PART AS sub_part
       FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
    [schema],
  )

  const result: CatalogTable[] = []
  for (const t of tables) {
    const name = String(t.name)
    const cols: CatalogColumn[] = columns
      .filter((c) => c.tbl === name)
      .map((c) => {
        const colName = String(c.name)
        const extra = String(c.extra ?? '').toLowerCase()
        let dflt = str(c.dflt)
        if (dflt === 'NULL') dflt = undefined
        // MySQL 8 gives a string default unquoted; expressions carry DEFAULT_GENERATED.
        if (!mariadb && dflt !== undefined && !extra.includes('default_generated') && !/^-?[\d.]+$/.test(dflt)) {
          dflt = `'${dflt.replace(/'/g, "''")}'`
        }
        const type = jsonColumns.has(`${name}.${colName}`) ? 'json' : String(c.type)
        return { name: colName, type, nullable: c.nullable === 'YES', default: dflt, autoIncrement: extra.includes('auto_increment') }
      })
    const mine = keys.filter((k) => k.tbl === name)
    const grouped = (type: string) => {
      const by = new Map<string, Row[]>()
      for (const k of mine.filter((k) => k.type === type)) {
        const key = String(k.name)
        by.set(key, [...(by.get(key) ?? []), k])
      }
      return by
    }
    const primaryKey = [...grouped('PRIMARY KEY').values()].flat().map((k) => String(k.col))
    const uniques: CatalogKey[] = [...grouped('UNIQUE')].map(([n, ks]) => ({ name: n, columns: ks.map((k) => String(k.col)) }))
    const indexColumns = new Map<string, string[]>()
    for (const s of stats.filter((s) => s.tbl === name && Number(s.non_unique) === 1)) {
      indexColumns.set(String(s.name), [...(indexColumns.get(String(s.name)) ?? []), String(s.col)])
    }
    const foreignKeys: CatalogForeignKey[] = [...grouped('FOREIGN KEY')].map(([n, ks]) => {
      const rule = rules.find((r) => r.tbl === name && r.name === n)
      const cols = ks.map((k) => String(k.col))
      // InnoDB names the index it makes for a key after the constraint, or after its first column when the constraint had no name.
      const own = [n, cols[0]].find((ix) => indexColumns.get(ix)?.join(',') === cols.join(','))
      return {
        name: n,
        columns: cols,
        targetTable: String(ks[0].target),
        targetColumns: ks.map((k) => String(k.target_col)),
        onDelete: canonicalAction(String(rule?.on_delete ?? 'RESTRICT')),
        onUpdate: canonicalAction(String(rule?.on_update ?? 'RESTRICT')),
        ...(own === undefined ? {} : { ownIndex: own }),
      }
    })
    const keyNames = new Set([...mine.map((k) => String(k.name)), ...foreignKeys.flatMap((fk) => (fk.ownIndex ? [fk.ownIndex] : []))])
    const indexes = new Map<string, string[]>()
    const notes: string[] = []
    for (const s of stats.filter((s) => s.tbl === name)) {
      const ixName = String(s.name)
      // PRIMARY and UNIQUE are keys; an index named as a foreign key is the one InnoDB made for it.
      if (keyNames.has(ixName) || Number(s.non_unique) === 0) continue
      if (s.sub_part !== null && s.sub_part !== undefined) notes.push(`index "${ixName}" covers a column prefix; it is left out`)
      indexes.set(ixName, [...(indexes.get(ixName) ?? []), String(s.col)])
    }
    const prefixIndexes = new Set(notes.map((n) => /"(.*)"/.exec(n)?.[1]))
    result.push({
      name,
      columns: cols,
      primaryKey,
      uniques,
      indexes: [...indexes].filter(([n]) => !prefixIndexes.has(n)).map(([n, c]) => ({ name: n, columns: c })),
      foreignKeys,
      notes,
    })
  }
  return result
}

function normalizeDefault(sqlText: string | undefined): string | undefined {
  if (sqlText === undefined) return undefined
  const s = stripOuterParens(sqlText)
  const lower = s.toLowerCase()
  if (lower === 'null') return undefined
  if (/^(current_timestamp|now)(\(\d*\))?$/.test(lower)) return 'now'
  // BOOLEAN is TINYINT(1): TRUE and FALSE are stored and shown as 1 and 0.
  if (lower === 'true') return '1'
  if (lower === 'false') return '0'
  return canonicalDefault(s, true)
}

/**
 * Migrations on MySQL and MariaDB: `information_schema` reflection, DDL that
 * commits implicitly (each statement on its own), and `GET_LOCK` named for
 * the database, since MySQL's named locks are server-wide.
 *
 * ```ts
 * await mysqlMigration.lock(run, 'athanor_version', 30_000)
 * ```
 */
export const mysqlMigration: MigrationSupport = {
  transactionalDdl: false,
  types: MYSQL_TYPES,
  ddl: {
    identity: 'autoIncrement',
    alterColumn: 'modifyColumn',
    alterConstraints: 'alterTable',
    dropIndexOnTable: true,
    dropUniqueAsIndex: true,
    foreignKeyIndex: true,
    addColumnLiteralDefaultOnly: false,
  },
  readCatalog: (run, options) => readCatalog(run, options.schema),
  normalizeDefault,
  // InnoDB treats NO ACTION as RESTRICT and reports an unspecified action as RESTRICT.
  normalizeAction: (action) => {
    const a = action === undefined ? 'restrict' : canonicalAction(action)
    return a === 'no action' ? 'restrict' : a
  },

  async lock(run, name, timeoutMs) {
    const [db] = await run<{ db: string | null }>('SELECT DATABASE() AS db')
    const [row] = await run<{ locked: number | null }>('SELECT GET_LOCK(?, ?) AS locked', [
      lockName(name, db?.db ?? ''),
      Math.max(0, Math.ceil(timeoutMs / 1000)),
    ])
    return Number(row?.locked) === 1
  },
  async unlock(run, name) {
    const [db] = await run<{ db: string | null }>('SELECT DATABASE() AS db')
    await run('SELECT RELEASE_LOCK(?)', [lockName(name, db?.db ?? '')])
  },
  // DDL commits implicitly: there is no migration transaction to open or close.
  async beginMigration() {},
  async integrityProblems() {
    return []
  },
  async commitMigration() {},
  async rollbackMigration() {},
}

/** GET_LOCK names are server-wide and at most 64 characters. */
function lockName(name: string, database: string): string {
  return `${name}:${database}`.slice(0, 64)
}
