import { mysqlMigration } from '../engine/dialects/mysql/migration.js'
import { postgresMigration } from '../engine/dialects/postgres/migration.js'
import { sqliteMigration } from '../engine/dialects/sqlite/migration.js'
import type { DialectName } from '../engine/types.js'
import type { MigrationSupport } from './dialect-support.js'

/**
 * Each dialect's migration support. A `Record` over `DialectName`, so a new
 * dialect that does not fill it in is a compile error. PGlite is PostgreSQL.
 */
const MIGRATION_SUPPORT: Readonly<Record<DialectName, MigrationSupport>> = {
  postgresql: postgresMigration,
  pglite: postgresMigration,
  mysql: mysqlMigration,
  sqlite: sqliteMigration,
}

/**
 * The migration support for a dialect.
 *
 * ```ts
 * migrationSupport(engine.dialect).transactionalDdl // false on MySQL
 * ```
 */
export function migrationSupport(dialect: DialectName): MigrationSupport {
  return MIGRATION_SUPPORT[dialect]
}
