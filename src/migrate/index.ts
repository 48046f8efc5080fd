/**
 * Migrations: reflection, diff, migration files, the runner and the CLI.
 *
 * ```ts
 * import { reflect, diff, MigrationRunner } from './migrate/index.js'
 * const ops = diff(metadata, await reflect(engine))
 * ```
 */
export { reflect, ReflectedMetaData } from './reflect.js'
export type { ReflectOptions, ReflectionWarning, ReflectedNames } from './reflect.js'
export { diff, constraintNames } from './diff.js'
export type { DiffOptions } from './diff.js'
export { describeOperation, invertOperation } from './operations.js'
export type {
  Operation,
  CreateTableOp,
  DropTableOp,
  AddColumnOp,
  DropColumnOp,
  AlterColumnOp,
  ColumnChange,
  CreateIndexOp,
  DropIndexOp,
  AddUniqueOp,
  DropUniqueOp,
  AddForeignKeyOp,
  DropForeignKeyOp,
  ForeignKeyInfo,
} from './operations.js'
export { generateMigration } from './generate.js'
export type { GenerateMigrationOptions } from './generate.js'
export { generateModels } from './codegen.js'
export type { GenerateModelsOptions } from './codegen.js'
// SQLite's table rebuild lives with SQLite's other migration support; generated SQLite migrations import it.
export { rebuildTable, TableRebuildError } from '../engine/dialects/sqlite/rebuild.js'
export type { RebuildTableSpec } from '../engine/dialects/sqlite/rebuild.js'
export { MigrationRunner } from './runner.js'
export type { CheckResult, CurrentRevision, MigrationEvent, MigrationRunnerOptions, RevisionResult } from './runner.js'
export { RevisionGraph, loadMigrations, newRevisionId } from './revisions.js'
export type { Migration, MigrationContext, MigrationDatabase } from './migration.js'
export { defineConfig, loadConfig } from './config.js'
export type { AthanorConfig, ResolvedConfig } from './config.js'
export { runCli } from './cli.js'
export type { CliIo } from './cli.js'
export type { MigrateBind } from './connection.js'
export {
  IncompleteMigrationError,
  MigrationConfigError,
  MigrationFailedError,
  MigrationLockError,
  NotAtHeadError,
  RevisionGraphError,
  RevisionNotFoundError,
  UnsupportedTypeError,
} from './errors.js'
