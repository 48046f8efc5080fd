import { AthanorError } from '../pool/errors.js'

/**
 * A column's database type has no athanor column builder (reflection with
 * `onUnsupported: 'error'`; otherwise it is a warning on the result).
 *
 * ```ts
 * try { await reflect(engine, { onUnsupported: 'error' }) } catch (e) {
 *   if (e instanceof UnsupportedTypeError) console.error(e.table, e.column, e.type)
 * }
 * ```
 */
export class UnsupportedTypeError extends AthanorError {
  constructor(
    readonly table: string,
    readonly column: string,
    readonly type: string,
  ) {
    super('MIGRATE_UNSUPPORTED_TYPE', `column "${table}.${column}" has type ${type}, which athanor's column builders cannot express`)
  }
}

/**
 * Another process holds the migration lock (another deploy is migrating) and
 * did not let go within `lockTimeout`.
 *
 * ```ts
 * try { await runner.upgrade() } catch (e) { if (e instanceof MigrationLockError) process.exit(75) }
 * ```
 */
export class MigrationLockError extends AthanorError {
  constructor(
    message: string,
    readonly timeout: number,
  ) {
    super('MIGRATE_LOCK_TIMEOUT', message)
  }
}

/**
 * The revision files do not form one line: two heads, a missing parent, a
 * duplicate id or a cycle. The message says which files and how to fix them.
 *
 * ```ts
 * catch (e) { if (e instanceof RevisionGraphError) console.error(e.message) }
 * ```
 */
export class RevisionGraphError extends AthanorError {
  constructor(message: string) {
    super('MIGRATE_REVISION_GRAPH', message)
  }
}

/**
 * A revision named on the command line (or recorded in the version table) is
 * not among the migration files.
 *
 * ```ts
 * await runner.upgrade('nope') // RevisionNotFoundError: no revision "nope"
 * ```
 */
export class RevisionNotFoundError extends AthanorError {
  constructor(
    message: string,
    readonly revision: string,
  ) {
    super('MIGRATE_REVISION_NOT_FOUND', message)
  }
}

/**
 * A migration threw. `applied` lists the statements of it that ran and stayed
 * (MySQL/MariaDB commit DDL implicitly; on the other databases it is empty:
 * the migration was rolled back whole). `cause` is the database's error.
 *
 * ```ts
 * catch (e) { if (e instanceof MigrationFailedError) console.error(e.revision, e.applied) }
 * ```
 */
export class MigrationFailedError extends AthanorError {
  constructor(
    message: string,
    readonly revision: string,
    readonly applied: readonly string[],
    options?: { cause?: unknown },
  ) {
    super('MIGRATE_FAILED', message, options)
  }
}

/**
 * The version table says an earlier migration did not finish (MySQL/MariaDB,
 * where DDL is not transactional). Finish or undo it by hand, then record the
 * outcome with `athanor migrate stamp <revision>`.
 *
 * ```ts
 * catch (e) { if (e instanceof IncompleteMigrationError) console.error(e.revision) }
 * ```
 */
export class IncompleteMigrationError extends AthanorError {
  constructor(
    message: string,
    readonly revision: string,
  ) {
    super('MIGRATE_INCOMPLETE', message)
  }
}

/**
 * The config file, a migration file or a command line is wrong: the message
 * names the file or argument.
 *
 * ```ts
 * catch (e) { if (e instanceof MigrationConfigError) console.error(e.message) }
 * ```
 */
export class MigrationConfigError extends AthanorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MIGRATE_CONFIG', message, options)
  }
}

/**
 * `revision --autogenerate` needs the database at the head revision, so the
 * new migration starts where the others end.
 *
 * ```ts
 * catch (e) { if (e instanceof NotAtHeadError) await runner.upgrade() }
 * ```
 */
export class NotAtHeadError extends AthanorError {
  constructor(message: string) {
    super('MIGRATE_NOT_AT_HEAD', message)
  }
}
