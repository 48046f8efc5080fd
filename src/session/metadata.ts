import { CompiledQuery } from 'kysely'
import type { Connection, Engine } from '../engine/types.js'
import { resolveForeignKey } from './column.js'
import { compileAddForeignKey, compileCreateEnumTypes, compileCreateIndexes, compileCreateTable, compileDropEnumTypes, compileDropForeignKey, compileDropTable } from './ddl.js'
import { DependencyCycleError, MappingError } from './errors.js'
import type { AnyTable, KyselyTableOf, Table, TableColumn } from './table.js'
import { topologicalSort } from './topological.js'

/**
 * Kysely's `DB` type for a {@link MetaData} (or a union of tables): each
 * table's name to its columns, generated and defaulted ones as `Generated<>`.
 *
 * ```ts
 * const metadata = new MetaData(author, book)
 * type DB = DatabaseOf<typeof metadata>
 * const engine = createEngine<DB>('pglite://')
 * ```
 */
export type DatabaseOf<M> =
  M extends MetaData<infer T>
    ? { [X in T[number] as X['name']]: X extends Table<string, infer C> ? KyselyTableOf<C> : never }
    : M extends Table<string, infer _C>
      ? { [X in M as X['name']]: X extends Table<string, infer C> ? KyselyTableOf<C> : never }
      : never

/** Where DDL runs: an engine (in one transaction of its own) or a connection (in its transaction). */
export type DdlBind<DB = unknown> = Engine<DB> | Connection<DB>

/**
 * A collection of tables: the unit of `createAll` / `dropAll`, and the source
 * of the `DB` type.
 *
 * ```ts
 * const metadata = new MetaData(author, book)
 * await metadata.createAll(engine)  // CREATE TABLE author, then book
 * await metadata.dropAll(engine)    // DROP TABLE book, then author
 * ```
 */
export class MetaData<T extends readonly AnyTable[] = readonly AnyTable[]> {
  readonly tables: T

  constructor(...tables: T) {
    const names = new Set<string>()
    for (const t of tables) {
      if (names.has(t.name)) throw new MappingError(`MetaData: table "${t.name}" is declared twice`)
      names.add(t.name)
    }
    this.tables = Object.freeze([...tables]) as unknown as T
    for (const t of tables) {
      for (const col of t.columnList) {
        if (!col.references) continue
        const ref = resolveForeignKey(col.references, t.name)
        const target = tables.find((x) => x.name === ref.table)
        if (target && !target.column(ref.column)) {
          throw new MappingError(`table "${t.name}": foreign key "${col.name}" points at unknown column "${ref.table}.${ref.column}"`)
        }
      }
    }
  }

  /** The table named `name`. */
  table(name: string): AnyTable | undefined {
    return this.tables.find((t) => t.name === name)
  }

  /**
   * Tables in foreign-key order: referenced tables before the tables that
   * reference them. A cycle of foreign keys is a {@link DependencyCycleError}
   * (see {@link MetaData.creationPlan} for the order `createAll` uses then).
   */
  sortedTables(): AnyTable[] {
    return this.creationPlan(false).tables
  }

  /**
   * The order `createAll` creates tables in, and the foreign keys it adds
   * afterwards with `ALTER TABLE`: where foreign keys form a cycle (a → b → a),
   * one key of the cycle (a nullable one where there is one) is left out of
   * its table's CREATE TABLE and added once both tables exist.
   *
   * ```ts
   * const { tables, deferred } = new MetaData(user, team).creationPlan()
   * deferred // [{ table: team, column: 'ownerId' }]
   * ```
   */
  creationPlan(breakCycles = true): { tables: AnyTable[]; deferred: { table: AnyTable; column: string }[] } {
    const byName = new Map(this.tables.map((t) => [t.name, t] as const))
    const late = new Set<string>()
    const edges = (t: AnyTable): { col: TableColumn; target: AnyTable }[] =>
      t.columnList.flatMap((col) => {
        if (!col.references || late.has(`${t.name}\u0000${col.name}`)) return []
        const target = byName.get(resolveForeignKey(col.references, t.name).table)
        return target ? [{ col, target }] : []
      })
    for (;;) {
      try {
        const tables = topologicalSort(
          this.tables as readonly AnyTable[],
          (t) => edges(t).map((e) => e.target),
          (t) => t.name,
        )
        const deferred = this.tables.flatMap((t) =>
          t.columnList.filter((c) => late.has(`${t.name}\u0000${c.name}`)).map((c) => ({ table: t as AnyTable, column: c.name })),
        )
        return { tables, deferred }
      } catch (e) {
        if (!breakCycles || !(e instanceof DependencyCycleError)) throw e
        // The cycle lists each table followed by one it references: defer one of those keys.
        const names = e.cycle
        const candidates: TableColumn[] = []
        for (let i = 0; i + 1 < names.length; i++) {
          const from = byName.get(names[i])!
          for (const { col, target } of edges(from)) if (target.name === names[i + 1]) candidates.push(col)
        }
        const pick = candidates.find((c) => c.nullable) ?? candidates[0]
        if (pick === undefined) throw e
        late.add(`${pick.table}\u0000${pick.name}`)
      }
    }
  }

  /**
   * `CREATE TABLE IF NOT EXISTS` for every table, parents first, in one
   * transaction (where the dialect's DDL is transactional). On a connection,
   * the statements run in its current transaction. Foreign keys in a cycle:
   * one of them is added by `ALTER TABLE` after its table and the one it
   * references exist (on SQLite, which checks references only when used, it is declared inline).
   */
  async createAll<DB>(bind: DdlBind<DB>): Promise<void> {
    const { tables, deferred } = this.creationPlan()
    await runDdl(bind, (dialect) => {
      const inline = dialect === 'sqlite'
      const skip = inline ? undefined : new Set(deferred.map((x) => `${x.table.name}\u0000${x.column}`))
      return [
        ...compileCreateEnumTypes(this.tables, dialect),
        ...tables.flatMap((t) => [compileCreateTable(t, dialect, skip), ...compileCreateIndexes(t, dialect)]),
        ...(inline ? [] : deferred.map((x) => compileAddForeignKey(x.table, x.column, dialect))),
      ]
    })
  }

  /**
   * `DROP TABLE IF EXISTS` for every table, children first. Foreign keys in
   * a cycle are dropped first (PostgreSQL), or checked only at the end
   * (MySQL: `FOREIGN_KEY_CHECKS`; SQLite: `defer_foreign_keys`).
   */
  async dropAll<DB>(bind: DdlBind<DB>): Promise<void> {
    const { tables, deferred } = this.creationPlan()
    // Enum types (PostgreSQL) go after the tables that use them.
    const drops = (dialect: Engine<DB>['dialect']) => [
      ...[...tables].reverse().map((t) => compileDropTable(t, dialect)),
      ...compileDropEnumTypes(this.tables, dialect),
    ]
    if (deferred.length === 0) {
      await runDdl(bind, drops)
      return
    }
    await runDdl(bind, (dialect) => {
      switch (dialect) {
        case 'mysql':
          // The pooled connection must not keep the checks off, whatever happens.
          return { statements: ['SET FOREIGN_KEY_CHECKS = 0', ...drops(dialect)], always: ['SET FOREIGN_KEY_CHECKS = 1'] }
        case 'sqlite':
          return ['PRAGMA defer_foreign_keys = ON', ...drops(dialect)]
        default:
          return [...deferred.map((x) => compileDropForeignKey(x.table, x.column, dialect)), ...drops(dialect)]
      }
    })
  }
}

/** DDL to run, and statements to run after it even when it fails. */
interface DdlScript {
  readonly statements: readonly string[]
  readonly always: readonly string[]
}

async function runDdl<DB>(bind: DdlBind<DB>, build: (dialect: Engine<DB>['dialect']) => string[] | DdlScript): Promise<void> {
  const run = async (conn: Connection<DB>) => {
    const built = build(conn.engine.dialect)
    const script = Array.isArray(built) ? { statements: built, always: [] } : (built as DdlScript)
    try {
      for (const text of script.statements) await conn.db.executeQuery(CompiledQuery.raw(text, []))
    } finally {
      for (const text of script.always) await conn.db.executeQuery(CompiledQuery.raw(text, []))
    }
  }
  if ('connect' in bind) await bind.begin(run)
  else await run(bind)
}
