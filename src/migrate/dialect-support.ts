import type { ColumnKind, ReferentialAction } from '../session/column.js'

/**
 * Runs one SQL statement on the connection a migration command holds and
 * returns its rows. The dialect files read catalogs and take locks through it.
 *
 * ```ts
 * const rows = await run<{ name: string }>('SELECT name FROM sqlite_master WHERE type = ?', ['table'])
 * ```
 */
export type SqlRunner = <R = Record<string, unknown>>(sql: string, parameters?: readonly unknown[]) => Promise<R[]>

/** A column type as athanor's column builders express it: a kind and its length / precision and scale. */
export interface ColumnType {
  readonly kind: ColumnKind
  readonly length?: number
  readonly scale?: number
}

/**
 * One entry of a dialect's type table: a catalog (or DDL) spelling, lower-cased
 * with single spaces and no space after commas, to the column kind. `length` and
 * `scale` name the capture groups holding them. Adding a kind is one entry.
 *
 * ```ts
 * const rule: TypeRule = { pattern: /^(character varying|varchar)\((\d+)\)$/, kind: 'varchar', length: 2 }
 * ```
 */
export interface TypeRule {
  readonly pattern: RegExp
  readonly kind: ColumnKind
  readonly length?: number
  readonly scale?: number
}

/** One column as the catalog describes it. */
export interface CatalogColumn {
  readonly name: string
  /** The type as the catalog spells it (`character varying(20)`, `int(11)`, `TEXT`). */
  readonly type: string
  readonly nullable: boolean
  /** The default's SQL as the catalog holds it; absent when there is none. */
  readonly default?: string
  /** Generated on insert: identity, serial, AUTO_INCREMENT, SQLite AUTOINCREMENT. */
  readonly autoIncrement: boolean
}

/** A named list of columns: a primary key, unique constraint or index. */
export interface CatalogKey {
  /** Absent where the database does not name it (SQLite's inline constraints). */
  readonly name?: string
  readonly columns: readonly string[]
}

/** A foreign key as the catalog describes it; actions lower-cased (`'no action'`, `'cascade'`...). */
export interface CatalogForeignKey extends CatalogKey {
  readonly targetTable: string
  readonly targetColumns: readonly string[]
  readonly onDelete: string
  readonly onUpdate: string
  /** The index InnoDB made for this key (named as the key or its column); it stays when the key is dropped. */
  readonly ownIndex?: string
}

/** One table read from the catalog. */
export interface CatalogTable {
  readonly name: string
  readonly columns: readonly CatalogColumn[]
  readonly primaryKey: readonly string[]
  readonly uniques: readonly CatalogKey[]
  /** Non-unique indexes the user made (not the ones backing keys). */
  readonly indexes: readonly CatalogKey[]
  readonly foreignKeys: readonly CatalogForeignKey[]
  /** What the catalog holds that athanor cannot express (expression indexes...), for warnings. */
  readonly notes: readonly string[]
}

/** Which tables to read. */
export interface CatalogOptions {
  /** PostgreSQL schema (default `current_schema()`), MySQL database (default the connection's), SQLite attached name (default `main`). */
  readonly schema?: string
}

/**
 * How the generated migration code spells what differs between databases.
 * The generator switches on these strategies, never on a dialect name.
 */
export interface DdlStrategies {
  /** How a generated integer key is declared. */
  readonly identity: 'generatedByDefaultAsIdentity' | 'autoIncrement' | 'rowidAutoIncrement'
  /**
   * How a column's type, nullability or default changes: `ALTER COLUMN` clauses (a type change casts with
   * `USING col::type`, PostgreSQL's spelling), `MODIFY COLUMN` restating the whole column (MySQL), or SQLite's table rebuild.
   */
  readonly alterColumn: 'alterColumn' | 'modifyColumn' | 'rebuild'
  /** How constraints (unique, foreign key, dropped columns) change on an existing table. */
  readonly alterConstraints: 'alterTable' | 'rebuild'
  /** `DROP INDEX name ON table` (MySQL) rather than `DROP INDEX name`. */
  readonly dropIndexOnTable: boolean
  /** A unique constraint is dropped as an index (MySQL) rather than as a constraint. */
  readonly dropUniqueAsIndex: boolean
  /** The database makes an index for a foreign key that has none, named as the key, and keeps it when the key is dropped (InnoDB). */
  readonly foreignKeyIndex: boolean
  /** `ALTER TABLE ADD COLUMN` cannot take a parenthesised (expression) default (SQLite). */
  readonly addColumnLiteralDefaultOnly: boolean
}

/**
 * Everything migrations need to know of one database: its catalog queries,
 * its type table, how it spells defaults, whether its DDL is transactional,
 * and its migration lock. One per dialect in `src/engine/dialects/<db>/migration.ts`,
 * chosen through the `Record<DialectName, MigrationSupport>` registry.
 *
 * ```ts
 * const support = migrationSupport(engine.dialect)
 * const tables = await support.readCatalog(run, { schema: 'public' })
 * ```
 */
export interface MigrationSupport {
  /** PostgreSQL, PGlite and SQLite roll back DDL with the transaction; MySQL/MariaDB commit it implicitly. */
  readonly transactionalDdl: boolean
  /** Catalog (and DDL) type spellings to column kinds. A spelling that matches no rule is reported, never guessed. */
  readonly types: readonly TypeRule[]
  readonly ddl: DdlStrategies
  /** Reads every base table of the schema. */
  readCatalog(run: SqlRunner, options: CatalogOptions): Promise<CatalogTable[]>
  /**
   * A default's SQL in one canonical spelling, so that what athanor writes and
   * what the catalog gives back compare equal: casts and wrapping parentheses
   * dropped, numbers canonical, the current timestamp as `'now'`. `undefined` for no default.
   */
  normalizeDefault(sqlText: string | undefined): string | undefined
  /** A referential action as declared (`undefined` = the database's default), in one canonical spelling. */
  normalizeAction(action: ReferentialAction | string | undefined): string

  /** Takes the migration lock; `false` when another holder kept it for `timeoutMs`. SQLite's lock is a write transaction. */
  lock(run: SqlRunner, name: string, timeoutMs: number): Promise<boolean>
  /** Releases the lock (SQLite: commits the write transaction). */
  unlock(run: SqlRunner, name: string): Promise<void>
  /** Opens one migration's transaction (a savepoint inside SQLite's lock; nothing on MySQL). */
  beginMigration(run: SqlRunner): Promise<void>
  /** What the database's own integrity check finds wrong before a commit (SQLite's `foreign_key_check`); empty when all is well. */
  integrityProblems(run: SqlRunner): Promise<string[]>
  commitMigration(run: SqlRunner): Promise<void>
  rollbackMigration(run: SqlRunner): Promise<void>
}
