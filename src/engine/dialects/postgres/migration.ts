import type {
  CatalogForeignKey,
  CatalogKey,
  CatalogTable,
  MigrationSupport,
  SqlRunner,
  TypeRule,
} from '../../../migrate/dialect-support.js'
import { canonicalAction, canonicalDefault, stripOuterParens } from '../sql-literals.js'

/**
 * PostgreSQL's (and PGlite's) type table: `format_type()` spellings and the
 * ones athanor's DDL writes, to column kinds. `json` (not `jsonb`) and
 * `timestamp without time zone` match nothing: athanor writes `jsonb` and
 * `timestamptz`, and reports the others instead of guessing.
 */
export const POSTGRES_TYPES: readonly TypeRule[] = [
  { pattern: /^(integer|int|int4)$/, kind: 'integer' },
  { pattern: /^(bigint|int8)$/, kind: 'bigint' },
  { pattern: /^(double precision|float8)$/, kind: 'real' },
  { pattern: /^(?:numeric|decimal)\((\d+),(\d+)\)$/, kind: 'numeric', length: 1, scale: 2 },
  { pattern: /^text$/, kind: 'text' },
  { pattern: /^(?:character varying|varchar)\((\d+)\)$/, kind: 'varchar', length: 1 },
  { pattern: /^(boolean|bool)$/, kind: 'boolean' },
  { pattern: /^(timestamp with time zone|timestamptz)$/, kind: 'timestamp' },
  { pattern: /^jsonb$/, kind: 'json' },
  { pattern: /^uuid$/, kind: 'uuid' },
  { pattern: /^(smallint|int2)$/, kind: 'smallint' },
  { pattern: /^date$/, kind: 'date' },
  { pattern: /^time\(3\) ?(without time zone)?$/, kind: 'time' },
  { pattern: /^bytea$/, kind: 'bytes' },
]

const ACTIONS: Readonly<Record<string, string>> = { a: 'no action', r: 'restrict', c: 'cascade', n: 'set null', d: 'set default' }

/** A trailing `::type` cast, as `pg_get_expr` writes them (`'draft'::character varying`). */
const TRAILING_CAST = /::(?:"[^"]+"|[a-z_][a-z0-9_ ]*)(?:\(\d+(?:,\s*\d+)?\))?(?:\[\])?$/i

/** An array the server sent as JSON (pg parses it; a string is parsed here). */
function list(value: unknown): string[] {
  const v = typeof value === 'string' ? (JSON.parse(value) as unknown) : value
  return Array.isArray(v) ? v.map(String) : []
}

const NAME_LIST = (keys: string, rel: string) =>
  `to_json(ARRAY(SELECT a.attname FROM unnest(${keys}) WITH ORDINALITY AS k(n, o) JOIN pg_attribute a ON a.attrelid = ${rel} AND a.attnum = k.n ORDER BY k.o))`

async function readCatalog(run: SqlRunner, schemaOption: string | undefined): Promise<CatalogTable[]> {
  const schema =
    schemaOption ?? (await run<{ schema: string }>('SELECT current_schema() AS schema'))[0]?.schema ?? 'public'
  const columns = await run<{
    table: string
    name: string
    type: string
    notnull: boolean
    default: string | null
    identity: string
  }>(
    `SELECT c.relname AS "table", a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS notnull, pg_get_expr(d.adbin, d.adrelid) AS "default", a.attidentity::text AS identity
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY c.relname, a.attnum`,
    [schema],
  )
  const constraints = await run<{
    table: string
    name: string
    type: string
    columns: unknown
    target: string | null
    target_columns: unknown
    on_delete: string
    on_update: string
  }>(
    `SELECT c.relname AS "table", con.conname AS name, con.contype::text AS type,
            ${NAME_LIST('con.conkey', 'con.conrelid')} AS columns,
            ft.relname AS target, ${NAME_LIST('con.confkey', 'con.confrelid')} AS target_columns,
            con.confdeltype::text AS on_delete, con.confupdtype::text AS on_update
       FROM pg_constraint con
       JOIN pg_class c ON c.oid = con.conrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_class ft ON ft.oid = con.confrelid
      WHERE n.nspname = $1 AND con.contype IN ('p', 'u', 'f')
      ORDER BY c.relname, con.conname`,
    [schema],
  )
  const indexes = await run<{ table: string; name: string; unique: boolean; columns: unknown; expression: boolean }>(
    `SELECT t.relname AS "table", i.relname AS name, ix.indisunique AS "unique",
            ${NAME_LIST('ix.indkey::int2[]', 't.oid')} AS columns,
            (ix.indexprs IS NOT NULL OR ix.indpred IS NOT NULL) AS expression
       FROM pg_index ix
       JOIN pg_class i ON i.oid = ix.indexrelid
       JOIN pg_class t ON t.oid = ix.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = $1 AND t.relkind IN ('r', 'p')
        AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = ix.indexrelid AND con.contype IN ('p', 'u', 'x'))
      ORDER BY t.relname, i.relname`,
    [schema],
  )

  const tables = new Map<string, { columns: CatalogTable['columns'][number][]; pk: string[]; uniques: CatalogKey[]; indexes: CatalogKey[]; fks: CatalogForeignKey[]; notes: string[] }>()
  const entry = (name: string) => {
    let t = tables.get(name)
    if (t === undefined) tables.set(name, (t = { columns: [], pk: [], uniques: [], indexes: [], fks: [], notes: [] }))
    return t
  }
  for (const c of columns) {
    const serial = c.default !== null && /^nextval\(/i.test(c.default)
    entry(c.table).columns.push({
      name: c.name,
      type: c.type,
      nullable: !c.notnull,
      default: c.default === null || serial ? undefined : c.default,
      autoIncrement: serial || c.identity === 'a' || c.identity === 'd',
    })
  }
  for (const con of constraints) {
    const t = entry(con.table)
    const cols = list(con.columns)
    if (con.type === 'p') t.pk = cols
    else if (con.type === 'u') t.uniques.push({ name: con.name, columns: cols })
    else
      t.fks.push({
        name: con.name,
        columns: cols,
        targetTable: con.target ?? '',
        targetColumns: list(con.target_columns),
        onDelete: ACTIONS[con.on_delete] ?? 'no action',
        onUpdate: ACTIONS[con.on_update] ?? 'no action',
      })
  }
  for (const ix of indexes) {
    const t = entry(ix.table)
    if (ix.expression) t.notes.push(`index "${ix.name}" has an expression or a WHERE clause; it is left out`)
    else if (ix.unique) t.uniques.push({ name: ix.name, columns: list(ix.columns) })
    else t.indexes.push({ name: ix.name, columns: list(ix.columns) })
  }
  return [...tables].map(([name, t]) => ({
    name,
    columns: t.columns,
    primaryKey: t.pk,
    uniques: t.uniques,
    indexes: t.indexes,
    foreignKeys: t.fks,
    notes: t.notes,
  }))
}

function normalizeDefault(sqlText: string | undefined): string | undefined {
  if (sqlText === undefined) return undefined
  let s = stripOuterParens(sqlText)
  let cast = false
  while (TRAILING_CAST.test(s)) {
    s = stripOuterParens(s.replace(TRAILING_CAST, ''))
    cast = true
  }
  const lower = s.toLowerCase()
  if (lower === 'current_timestamp' || lower === 'now()') return 'now'
  return canonicalDefault(s, cast)
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Migrations on PostgreSQL and PGlite: `pg_catalog` reflection, transactional
 * DDL, and a session-level advisory lock keyed by the lock name's hash.
 *
 * ```ts
 * await postgresMigration.lock(run, 'athanor_version', 30_000)
 * ```
 */
export const postgresMigration: MigrationSupport = {
  transactionalDdl: true,
  types: POSTGRES_TYPES,
  ddl: {
    identity: 'generatedByDefaultAsIdentity',
    alterColumn: 'alterColumn',
    alterConstraints: 'alterTable',
    dropIndexOnTable: false,
    dropUniqueAsIndex: false,
    foreignKeyIndex: false,
    addColumnLiteralDefaultOnly: false,
  },
  readCatalog: (run, options) => readCatalog(run, options.schema),
  normalizeDefault,
  normalizeAction: (action) => (action === undefined ? 'no action' : canonicalAction(action)),

  async lock(run, name, timeoutMs) {
    const deadline = Date.now() + timeoutMs
    for (let wait = 20; ; wait = Math.min(wait * 2, 250)) {
      const [row] = await run<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [name])
      if (row?.locked === true) return true
      if (Date.now() >= deadline) return false
      await sleep(Math.min(wait, Math.max(1, deadline - Date.now())))
    }
  },
  async unlock(run, name) {
    await run('SELECT pg_advisory_unlock(hashtext($1))', [name])
  },
  async beginMigration(run) {
    await run('BEGIN')
  },
  async integrityProblems() {
    return []
  },
  async commitMigration(run) {
    await run('COMMIT')
  },
  async rollbackMigration(run) {
    await run('ROLLBACK')
  },
}
