import type { Kysely, sql } from 'kysely'
import type { DialectName } from '../engine/types.js'

/**
 * The database type a migration's Kysely has: any table, any column (a migration runs before the models match).
 *
 * ```ts
 * await db.updateTable('author').set({ status: 'active' }).where('status', 'is', null).execute()
 * ```
 */
export type MigrationDatabase = Record<string, Record<string, unknown>>

/**
 * What `up` and `down` receive. `db` runs on the runner's connection, inside
 * the migration's transaction where the database has transactional DDL (in
 * offline mode it records the SQL instead: do not rely on what a query returns).
 *
 * ```ts
 * export async function up({ db, sql }: MigrationContext): Promise<void> {
 *   await db.schema.alterTable('author').addColumn('email', sql`varchar(200)`).execute()
 * }
 * ```
 */
export interface MigrationContext {
  readonly db: Kysely<MigrationDatabase>
  /** Kysely's `sql` tag, so a migration file needs no import of its own. */
  readonly sql: typeof sql
  readonly dialect: DialectName
  /** `true` under `migrate sql` / `--sql`: statements are printed, not run. */
  readonly offline: boolean
}

/**
 * One migration: what a migration file exports. `parent` is the revision it
 * follows (`null` for the first); the revisions form one line.
 *
 * ```ts
 * export const revision = '3f2a9c1e0b7d'
 * export const parent = null
 * export const message = 'create author'
 * export async function up({ db }: MigrationContext) { await db.schema.createTable('author')...execute() }
 * export async function down({ db }: MigrationContext) { await db.schema.dropTable('author').execute() }
 * ```
 */
export interface Migration {
  readonly revision: string
  readonly parent: string | null
  readonly message?: string
  /** Applies the change (`athanor migrate upgrade`). */
  up(context: MigrationContext): Promise<void>
  /** Reverts what `up` did (`athanor migrate downgrade`). */
  down(context: MigrationContext): Promise<void>
  /** The file it came from, when loaded from a folder. */
  readonly file?: string
}
