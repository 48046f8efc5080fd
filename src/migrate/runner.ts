import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  type QueryResult,
  sql,
} from 'kysely'
import type { Connection, DialectName, Engine } from '../engine/types.js'
import { MetaData } from '../session/metadata.js'
import { sqlRunner } from './connection.js'
import { diff } from './diff.js'
import type { MigrationSupport, SqlRunner } from './dialect-support.js'
import {
  IncompleteMigrationError,
  MigrationConfigError,
  MigrationFailedError,
  MigrationLockError,
  NotAtHeadError,
} from './errors.js'
import { generateMigration } from './generate.js'
import type { Migration, MigrationContext, MigrationDatabase } from './migration.js'
import type { Operation } from './operations.js'
import { reflect, type ReflectedMetaData } from './reflect.js'
import { loadMigrations, newRevisionId, RevisionGraph } from './revisions.js'
import { migrationSupport } from './support-registry.js'

/**
 * Progress of an upgrade or downgrade, one event as each migration starts and ends.
 *
 * ```ts
 * new MigrationRunner({ engine, migrations: './migrations', onProgress: (e) => console.log(e.type, e.revision) })
 * ```
 */
export type MigrationEvent =
  | {
      readonly type: 'start'
      readonly direction: 'up' | 'down'
      readonly revision: string
      readonly message?: string
      /** `false` on MySQL/MariaDB: DDL commits implicitly, so a failure leaves what ran. */
      readonly transactional: boolean
    }
  | {
      readonly type: 'done'
      readonly direction: 'up' | 'down'
      readonly revision: string
      readonly message?: string
      readonly statements: number
      readonly ms: number
    }

/**
 * Options of {@link MigrationRunner}.
 *
 * ```ts
 * const runner = new MigrationRunner({ engine, migrations: './migrations', metadata, lockTimeout: 120_000 })
 * ```
 */
export interface MigrationRunnerOptions<DB = unknown> {
  readonly engine: Engine<DB>
  /** A folder of migration files, or the migrations themselves. */
  readonly migrations: string | readonly Migration[]
  /** Your models: what `check` and `revision({ autogenerate: true })` compare the database with. */
  readonly metadata?: MetaData
  /** Default `athanor_version`. */
  readonly versionTable?: string
  /** How long to wait for another process's migration lock, in ms (default 60 000). */
  readonly lockTimeout?: number
  /** Schema (PostgreSQL) or database (MySQL) to reflect; default the connection's. */
  readonly schema?: string
  /** Which database tables `check` and autogenerate look at (Alembic's `include_name`); default all but the version table. */
  readonly include?: (table: string) => boolean
  /** Called as each migration starts and ends. */
  readonly onProgress?: (event: MigrationEvent) => void
}

/**
 * The version table's row: the revision and whether its migration finished.
 *
 * ```ts
 * const { revision, state } = await runner.current() // { revision: '3f2a9c1e0b7d', state: 'applied' }
 * ```
 */
export interface CurrentRevision {
  /** `null`: no migration applied (base). */
  readonly revision: string | null
  /** `'applied'`, or (MySQL/MariaDB) `'upgrading'` / `'downgrading'` when that migration failed midway. */
  readonly state: 'applied' | 'upgrading' | 'downgrading'
}

/**
 * What `check` found.
 *
 * ```ts
 * const { operations } = await runner.check()
 * if (operations.length > 0) process.exitCode = 1
 * ```
 */
export interface CheckResult {
  readonly current: string | null
  readonly head: string | null
  /** Differences between the models and the database; empty when they match. */
  readonly operations: readonly Operation[]
}

/**
 * What `revision` wrote.
 *
 * ```ts
 * const { file, operations } = await runner.revision({ message: 'add email', autogenerate: true })
 * ```
 */
export interface RevisionResult {
  readonly revision: string
  readonly file: string
  readonly operations: readonly Operation[]
}

type Exec = (query: CompiledQuery) => Promise<QueryResult<unknown>>

/** A Kysely driver over one function: the runner's held connection, or (offline) a recorder. */
class MigrationDriver implements Driver {
  constructor(private readonly exec: Exec) {}
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    return {
      executeQuery: <R>(q: CompiledQuery) => this.exec(q) as Promise<QueryResult<R>>,
      streamQuery: () => {
        throw new MigrationConfigError('streaming queries are not available inside a migration')
      },
    }
  }
  async beginTransaction(): Promise<void> {
    throw new MigrationConfigError('a migration runs in the transaction the runner opens: do not begin one inside it')
  }
  async commitTransaction(): Promise<void> {}
  async rollbackTransaction(): Promise<void> {}
  async releaseConnection(): Promise<void> {}
  async destroy(): Promise<void> {}
}

function migrationKysely(engine: Engine<unknown>, exec: Exec): Kysely<MigrationDatabase> {
  const d = engine.kyselyDialect
  return new Kysely<MigrationDatabase>({
    dialect: {
      createAdapter: () => d.createAdapter(),
      createDriver: () => new MigrationDriver(exec),
      createIntrospector: (db) => d.createIntrospector(db),
      createQueryCompiler: () => d.createQueryCompiler(),
    },
  })
}

/** Renders a compiled statement for `--sql` output: parameters inlined as SQL literals. */
function printable(q: CompiledQuery): string {
  let text = q.sql.trim()
  if (q.parameters.length > 0) text += `\n-- parameters: ${JSON.stringify(q.parameters)}`
  return `${text};`
}

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '')
    .slice(0, 40) || 'migration'

const stamp = (d: Date) => d.toISOString().replace(/[-:T]/g, '').slice(0, 14)

/**
 * Applies and reverts migrations, Alembic-style: a line of revisions, a
 * version table, one transaction per migration where DDL is transactional,
 * and a lock so two deploys never migrate at once. The CLI (`athanor migrate
 * ...`) is a thin layer over it.
 *
 * ```ts
 * const runner = new MigrationRunner({ engine, migrations: './migrations', metadata })
 * await runner.upgrade()              // to head
 * await runner.downgrade('-1')        // one step back
 * const { operations } = await runner.check() // [] when models and database match
 * ```
 */
export class MigrationRunner<DB = unknown> {
  readonly versionTable: string
  readonly lockTimeout: number
  readonly dialect: DialectName
  readonly support: MigrationSupport
  #graph: RevisionGraph | undefined

  readonly options: MigrationRunnerOptions<unknown>

  constructor(options: MigrationRunnerOptions<DB>) {
    this.options = options as MigrationRunnerOptions<unknown>
    this.versionTable = options.versionTable ?? 'athanor_version'
    this.lockTimeout = options.lockTimeout ?? 60_000
    this.dialect = options.engine.dialect
    this.support = migrationSupport(this.dialect)
  }

  /** The migrations, checked to form one line (loaded once). */
  async graph(): Promise<RevisionGraph> {
    if (this.#graph) return this.#graph
    const m = this.options.migrations
    this.#graph = new RevisionGraph(typeof m === 'string' ? await loadMigrations(m) : m)
    return this.#graph
  }

  /** The revision the database is at. */
  async current(): Promise<CurrentRevision> {
    const conn = await this.options.engine.connect()
    try {
      return await this.readVersion(this.kysely(conn, []))
    } finally {
      await conn.close()
    }
  }

  /** The migrations oldest first, with the one the database is at marked. */
  async history(): Promise<{ readonly migrations: readonly Migration[]; readonly current: CurrentRevision }> {
    const graph = await this.graph()
    return { migrations: graph.ordered, current: await this.current() }
  }

  /** Applies migrations up to `target` (`head` by default, a revision, or `+N`). Returns the revisions applied. */
  async upgrade(target = 'head'): Promise<string[]> {
    const graph = await this.graph()
    return this.locked(async (db, run) => {
      const current = await this.readVersion(db)
      this.assertComplete(current, graph)
      const to = graph.resolve(target, current.revision)
      const path = graph.upgradePath(current.revision, to)
      for (const m of path) await this.apply(db, run, m, 'up')
      return path.map((m) => m.revision)
    })
  }

  /** Reverts migrations down to `target` (a revision, `base`, or `-N`; default `-1`). Returns the revisions reverted. */
  async downgrade(target = '-1'): Promise<string[]> {
    const graph = await this.graph()
    return this.locked(async (db, run) => {
      const current = await this.readVersion(db)
      this.assertComplete(current, graph)
      const to = graph.resolve(target, current.revision)
      const path = graph.downgradePath(current.revision, to)
      for (const m of path) await this.apply(db, run, m, 'down')
      return path.map((m) => m.revision)
    })
  }

  /** Records `target` as applied without running anything (after fixing a failed MySQL migration by hand, or adopting an existing database). */
  async stamp(target: string): Promise<string | null> {
    const graph = await this.graph()
    return this.locked(async (db) => {
      const current = await this.readVersion(db)
      const to = graph.resolve(target, current.revision)
      await this.writeVersion(db, to, 'applied')
      return to
    })
  }

  /** Compares the models with the database: `operations` is empty when they match. */
  async check(): Promise<CheckResult> {
    const metadata = this.requireMetadata('check')
    const graph = await this.graph()
    const current = await this.current()
    const reflected = await this.reflect()
    return { current: current.revision, head: graph.head, operations: diff(metadata, reflected, { ignoreTables: [this.versionTable] }) }
  }

  /**
   * Writes a new migration file after the head: empty, or (`autogenerate`)
   * holding what {@link diff} finds between the models and the database,
   * which must be at head.
   */
  async revision(options: { readonly message: string; readonly autogenerate?: boolean; readonly language?: 'ts' | 'js' }): Promise<RevisionResult> {
    const directory = this.options.migrations
    if (typeof directory !== 'string') throw new MigrationConfigError('revision() writes a file: give the runner a migrations folder')
    const graph = await this.graph()
    let operations: Operation[] = []
    let target: MetaData | undefined
    let current: MetaData | undefined
    if (options.autogenerate) {
      target = this.requireMetadata('revision --autogenerate')
      const at = await this.current()
      if (at.revision !== graph.head || at.state !== 'applied') {
        throw new NotAtHeadError(
          `the database is at ${at.revision ?? 'base'}${at.state === 'applied' ? '' : ` (${at.state})`}, not at head ${graph.head ?? 'base'}: run "athanor migrate upgrade" first, so the new migration starts where the others end`,
        )
      }
      current = await this.reflect()
      operations = diff(target, current, { ignoreTables: [this.versionTable] })
    }
    const revision = newRevisionId()
    const now = new Date()
    const language = options.language ?? 'ts'
    const text = generateMigration({
      revision,
      parent: graph.head,
      message: options.message,
      dialect: this.dialect,
      operations,
      target: target ?? this.options.metadata ?? emptyMetadata(),
      current: current ?? this.options.metadata ?? emptyMetadata(),
      createdAt: now,
      language,
    })
    await mkdir(directory, { recursive: true })
    const file = path.resolve(directory, `${stamp(now)}_${revision}_${slug(options.message)}.${language}`)
    await writeFile(file, text, { flag: 'wx' })
    this.#graph = undefined
    return { revision, file, operations }
  }

  /**
   * The SQL of an upgrade (or downgrade) from `from` to `to`, for a DBA to run:
   * the migrations run against a recorder, nothing touches the database.
   */
  async sql(options: { readonly from?: string; readonly to?: string; readonly direction?: 'up' | 'down' }): Promise<string> {
    const graph = await this.graph()
    const direction = options.direction ?? 'up'
    const from = graph.resolve(options.from ?? (direction === 'up' ? 'base' : 'head'))
    const to = graph.resolve(options.to ?? (direction === 'up' ? 'head' : '-1'), from)
    const out: string[] = []
    const db = migrationKysely(this.options.engine, async (q) => {
      out.push(printable(q))
      return { rows: [] }
    })
    if (direction === 'up') out.push(printable(this.createVersionTable(db).compile()))
    const path = direction === 'up' ? graph.upgradePath(from, to) : graph.downgradePath(from, to)
    for (const m of path) {
      out.push('', `-- ${direction === 'up' ? 'upgrade' : 'downgrade'} ${m.revision}${m.message ? `: ${m.message}` : ''}`)
      if (this.support.transactionalDdl) out.push('BEGIN;')
      await m[direction]({ db, sql, dialect: this.dialect, offline: true })
      await this.writeVersion(db, direction === 'up' ? m.revision : m.parent, 'applied')
      if (this.support.transactionalDdl) out.push('COMMIT;')
    }
    return `${out.join('\n')}\n`
  }

  /** The database as the runner compares it: its schema, without the version table, filtered by `include`. */
  async reflect(): Promise<ReflectedMetaData> {
    return reflect(this.options.engine, { schema: this.options.schema, exclude: [this.versionTable], only: this.options.include })
  }

  private requireMetadata(what: string): MetaData {
    if (!this.options.metadata) throw new MigrationConfigError(`${what} compares your models with the database: give the runner (or the config file) your MetaData`)
    return this.options.metadata
  }

  private kysely(conn: Connection<unknown>, recorded: string[]): Kysely<MigrationDatabase> {
    return migrationKysely(this.options.engine, async (q) => {
      const result = await conn.db.executeQuery(q)
      recorded.push(q.sql)
      return result
    })
  }

  private async locked<T>(fn: (db: Kysely<MigrationDatabase>, run: SqlRunner) => Promise<T>): Promise<T> {
    const conn = await this.options.engine.connect()
    const run = sqlRunner(conn)
    try {
      if (!(await this.support.lock(run, this.versionTable, this.lockTimeout))) {
        throw new MigrationLockError(
          `another process holds the migration lock (${this.versionTable}) and kept it past the lock timeout of ${this.lockTimeout} ms: is another deploy migrating?`,
          this.lockTimeout,
        )
      }
      let result: T
      try {
        const db = this.kysely(conn, [])
        await this.createVersionTable(db).execute()
        result = await fn(db, run)
      } finally {
        await this.support.unlock(run, this.versionTable)
      }
      return result
    } finally {
      await conn.close()
    }
  }

  private createVersionTable(db: Kysely<MigrationDatabase>) {
    return db.schema
      .createTable(this.versionTable)
      .ifNotExists()
      .addColumn('version_num', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('state', 'varchar(16)', (c) => c.notNull())
  }

  private async readVersion(db: Kysely<MigrationDatabase>): Promise<CurrentRevision> {
    let rows: Record<string, unknown>[]
    try {
      rows = await db.selectFrom(this.versionTable).select(['version_num', 'state']).execute()
    } catch (error) {
      // No version table yet: nothing was ever applied. (Never inside a migration transaction.)
      if (await this.versionTableExists(db)) throw error
      return { revision: null, state: 'applied' }
    }
    const row = rows[0]
    if (!row) return { revision: null, state: 'applied' }
    const state = String(row.state)
    return { revision: String(row.version_num), state: state === 'upgrading' || state === 'downgrading' ? state : 'applied' }
  }

  private async versionTableExists(db: Kysely<MigrationDatabase>): Promise<boolean> {
    const tables = await db.introspection.getTables()
    return tables.some((t) => t.name === this.versionTable)
  }

  private async writeVersion(db: Kysely<MigrationDatabase>, revision: string | null, state: CurrentRevision['state']): Promise<void> {
    await db.deleteFrom(this.versionTable).execute()
    if (revision !== null) {
      await db
        .insertInto(this.versionTable)
        .values({ version_num: sql.lit(revision), state: sql.lit(state) })
        .execute()
    }
  }

  private assertComplete(current: CurrentRevision, graph: RevisionGraph): void {
    if (current.state === 'applied') {
      if (current.revision !== null) graph.get(current.revision)
      return
    }
    const m = current.revision === null ? undefined : graph.get(current.revision)
    const before = current.state === 'upgrading' ? (m?.parent ?? 'base') : current.revision
    const after = current.state === 'upgrading' ? current.revision : (m?.parent ?? 'base')
    throw new IncompleteMigrationError(
      `migration ${current.revision}${m?.message ? ` ("${m.message}")` : ''} did not finish its ${current.state === 'upgrading' ? 'upgrade' : 'downgrade'}: ` +
        `MySQL/MariaDB commit DDL as it runs, so part of it is applied. Finish it by hand and run "athanor migrate stamp ${after}", ` +
        `or undo what it did by hand and run "athanor migrate stamp ${before}"; then migrate again.`,
      current.revision ?? 'base',
    )
  }

  private async apply(db: Kysely<MigrationDatabase>, run: SqlRunner, m: Migration, direction: 'up' | 'down'): Promise<void> {
    const transactional = this.support.transactionalDdl
    const emit = this.options.onProgress
    emit?.({ type: 'start', direction, revision: m.revision, message: m.message, transactional })
    const started = Date.now()
    const ran: string[] = []
    const recording = migrationKysely(this.options.engine, async (q) => {
      const result = await db.executeQuery(q)
      ran.push(q.sql)
      return result
    })
    const after = direction === 'up' ? m.revision : m.parent
    // Without transactional DDL, the version table says which migration is under way, so a failure is visible.
    if (!transactional) await this.writeVersion(db, m.revision, direction === 'up' ? 'upgrading' : 'downgrading')
    await this.support.beginMigration(run)
    try {
      await m[direction]({ db: recording, sql, dialect: this.dialect, offline: false } satisfies MigrationContext)
      const problems = await this.support.integrityProblems(run)
      if (problems.length > 0) throw new MigrationConfigError(`foreign keys broken: ${problems.slice(0, 5).join('; ')}`)
      await this.writeVersion(db, after, 'applied')
      await this.support.commitMigration(run)
    } catch (error) {
      try {
        await this.support.rollbackMigration(run)
      } catch {
        // The transaction may already be gone with the connection; the error below says what failed.
      }
      const what = `${direction === 'up' ? 'upgrade' : 'downgrade'} ${m.revision}${m.message ? ` ("${m.message}")` : ''}`
      const cause = (error as { message?: unknown })?.message ?? String(error)
      if (transactional) {
        throw new MigrationFailedError(`${what} failed and was rolled back, nothing of it remains: ${String(cause)}`, m.revision, [], { cause: error })
      }
      const list = ran.map((s, i) => `  ${i + 1}. ${s}`).join('\n')
      throw new MigrationFailedError(
        `${what} failed at its statement ${ran.length + 1}: ${String(cause)}\n` +
          `MySQL/MariaDB commit DDL implicitly: ${ran.length === 0 ? 'none of its statements had run' : `these ${ran.length} statement(s) ran and stay applied:\n${list}`}\n` +
          `The version table marks ${m.revision} as ${direction === 'up' ? 'upgrading' : 'downgrading'}. Finish or undo it by hand, then run ` +
          `"athanor migrate stamp ${after ?? 'base'}" (finished) or "athanor migrate stamp ${direction === 'up' ? (m.parent ?? 'base') : m.revision}" (undone).`,
        m.revision,
        ran,
        { cause: error },
      )
    }
    emit?.({ type: 'done', direction, revision: m.revision, message: m.message, statements: ran.length, ms: Date.now() - started })
  }
}

function emptyMetadata(): MetaData {
  return new MetaData()
}
