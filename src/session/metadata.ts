import { CompiledQuery } from 'kysely'
import type { Connection, Engine } from '../engine/types.js'
import { resolveForeignKey } from './column.js'
import { compileCreateEnumTypes, compileCreateIndexes, compileCreateTable, compileDropEnumTypes, compileDropTable } from './ddl.js'
import { MappingError } from './errors.js'
import type { AnyTable, KyselyTableOf, Table } from './table.js'
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

  /** Tables in foreign-key order: referenced tables before the tables that reference them. */
  sortedTables(): AnyTable[] {
    const byName = new Map(this.tables.map((t) => [t.name, t] as const))
    return topologicalSort(
      this.tables as readonly AnyTable[],
      (t) =>
        t.columnList.flatMap((c) => {
          if (!c.references) return []
          const target = byName.get(resolveForeignKey(c.references, t.name).table)
          return target ? [target] : []
        }),
      (t) => t.name,
    )
  }

  /**
   * `CREATE TABLE IF NOT EXISTS` for every table, parents first, in one
   * transaction (where the dialect's DDL is transactional). On a connection,
   * the statements run in its current transaction.
   */
  async createAll<DB>(bind: DdlBind<DB>): Promise<void> {
    await runDdl(bind, (dialect) => [
      ...compileCreateEnumTypes(this.tables, dialect),
      ...this.sortedTables().flatMap((t) => [compileCreateTable(t, dialect), ...compileCreateIndexes(t, dialect)]),
    ])
  }

  /** `DROP TABLE IF EXISTS` for every table, children first. */
  async dropAll<DB>(bind: DdlBind<DB>): Promise<void> {
    await runDdl(bind, (dialect) =>
      this.sortedTables()
        .reverse()
        .map((t) => compileDropTable(t, dialect))
        .concat(compileDropEnumTypes(this.tables, dialect)),
    )
  }
}

async function runDdl<DB>(bind: DdlBind<DB>, build: (dialect: Engine<DB>['dialect']) => string[]): Promise<void> {
  const run = async (conn: Connection<DB>) => {
    for (const text of build(conn.engine.dialect)) await conn.db.executeQuery(CompiledQuery.raw(text, []))
  }
  if ('connect' in bind) await bind.begin(run)
  else await run(bind)
}
