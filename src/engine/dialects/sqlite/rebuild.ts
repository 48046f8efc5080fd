import { type Kysely, sql } from 'kysely'
import type { MigrationDatabase } from '../../../migrate/migration.js'
import { AthanorError } from '../../../pool/errors.js'

/**
 * SQLite's table rebuild could not run safely (foreign keys on) or left rows
 * whose foreign key points at a missing row; the migration is rolled back.
 *
 * ```ts
 * catch (e) { if (e instanceof TableRebuildError) console.error(e.table, e.message) }
 * ```
 */
export class TableRebuildError extends AthanorError {
  constructor(
    message: string,
    readonly table: string,
  ) {
    super('MIGRATE_TABLE_REBUILD', message)
  }
}

/**
 * What {@link rebuildTable} needs: the new definition, the columns to carry over, the indexes to make again.
 *
 * ```ts
 * const spec: RebuildTableSpec = { table: 'author', create: (name) => db.schema.createTable(name).addColumn('id', 'integer', (c) => c.primaryKey()), copy: ['id'] }
 * ```
 */
export interface RebuildTableSpec {
  readonly table: string
  /** Builds the new table under a temporary name (Kysely's `db.schema.createTable(name)...`). */
  readonly create: (name: string) => {
    /** Runs the CREATE TABLE. */
    execute(): Promise<unknown>
  }
  /** Columns copied from the old table (same name in both); new columns take their defaults. */
  readonly copy: readonly string[]
  /** The table's indexes, made again after the rename (dropping the old table drops them). */
  readonly indexes?: readonly { readonly name: string; readonly columns: readonly string[] }[]
}

/**
 * Changes a SQLite table the way SQLite documents for what `ALTER TABLE`
 * cannot do: create the new table, copy the rows, drop the old one, rename
 * the new one, make the indexes again, and check foreign keys. The migration
 * runner calls it inside the migration's transaction with foreign keys off,
 * as the procedure requires; generated SQLite migrations call it.
 *
 * ```ts
 * await rebuildTable(db, {
 *   table: 'author',
 *   create: (name) => db.schema.createTable(name)
 *     .addColumn('id', sql`INTEGER`, (col) => col.primaryKey().autoIncrement())
 *     .addColumn('name', sql`TEXT`, (col) => col.notNull()),
 *   copy: ['id', 'name'],
 * })
 * ```
 */
export async function rebuildTable(db: Kysely<MigrationDatabase>, spec: RebuildTableSpec): Promise<void> {
  const [fk] = (await sql<{ foreign_keys: number }>`PRAGMA foreign_keys`.execute(db)).rows
  if (Number(fk?.foreign_keys) === 1) {
    throw new TableRebuildError(
      `rebuildTable("${spec.table}") needs foreign keys off (dropping the old table would run ON DELETE actions): run it through the migration runner, which turns them off`,
      spec.table,
    )
  }
  const temp = `${spec.table}__athanor_new`
  await spec.create(temp).execute()
  if (spec.copy.length > 0) {
    const cols = sql.join(spec.copy.map((c) => sql.id(c)))
    await sql`INSERT INTO ${sql.id(temp)} (${cols}) SELECT ${cols} FROM ${sql.id(spec.table)}`.execute(db)
  }
  await db.schema.dropTable(spec.table).execute()
  await db.schema.alterTable(temp).renameTo(spec.table).execute()
  for (const ix of spec.indexes ?? []) await db.schema.createIndex(ix.name).on(spec.table).columns([...ix.columns]).execute()
  const broken = (await sql<Record<string, unknown>>`PRAGMA foreign_key_check(${sql.id(spec.table)})`.execute(db)).rows
  if (broken.length > 0) {
    throw new TableRebuildError(
      `rebuilding "${spec.table}" left ${broken.length} row(s) whose foreign key points at a missing row (first: rowid ${String(broken[0].rowid)} -> "${String(broken[0].parent)}")`,
      spec.table,
    )
  }
}
