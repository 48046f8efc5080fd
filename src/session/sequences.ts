import { CompiledQuery } from 'kysely'
import type { Connection, DialectName } from '../engine/types.js'
import type { DdlBind, MetaData } from './metadata.js'
import { sqlDialect } from './sql-dialect.js'
import type { AnyTable } from './table.js'

/**
 * Resets the generated keys (`serial()`, `bigserial()`) of a MetaData's tables
 * so the next insert gets the table's largest key plus one (1 when empty).
 * For tests: PostgreSQL and PGlite keep sequence values across a rolled-back
 * transaction, and MySQL / MariaDB its AUTO_INCREMENT counter, so ids depend on
 * the tests that ran before. Per dialect: `setval` of the column's sequence
 * (PostgreSQL, PGlite), `ALTER TABLE ... AUTO_INCREMENT = 1`, which the server
 * raises to the largest key plus one (MySQL, MariaDB: an implicit COMMIT, so
 * call it between tests, not inside a test's transaction), and
 * `sqlite_sequence` (SQLite).
 *
 * On an engine it runs in a transaction of its own; on a connection, in the
 * connection's current transaction (PostgreSQL, PGlite and SQLite).
 *
 * ```ts
 * import { createEngine, MetaData, resetSequences, serial, table, text } from 'athanor'
 *
 * const note = table('note', { id: serial().primaryKey(), body: text() })
 * const metadata = new MetaData(note)
 * const engine = createEngine('sqlite://')
 * await metadata.createAll(engine)
 * await resetSequences(engine, metadata) // the next note gets id 1
 * await engine.dispose()
 * ```
 */
export async function resetSequences<DB>(bind: DdlBind<DB>, metadata: MetaData): Promise<void> {
  const run = async (conn: Connection<DB>) => {
    for (const q of compileResetSequences(metadata.tables, conn.engine.dialect)) await conn.db.executeQuery(q)
  }
  if ('connect' in bind) await bind.begin(run)
  else await run(bind)
}

/**
 * The statements {@link resetSequences} runs, one per table with a generated key.
 *
 * ```ts
 * compileResetSequences([note], 'mysql')[0].sql // 'ALTER TABLE `note` AUTO_INCREMENT = 1'
 * ```
 */
export function compileResetSequences(tables: readonly AnyTable[], dialect: DialectName): CompiledQuery[] {
  const d = sqlDialect(dialect)
  const out: CompiledQuery[] = []
  for (const t of tables) {
    const col = t.columnList.find((c) => c.autoIncrement)
    if (col === undefined) continue
    const table = d.table(t)
    const max = `(SELECT COALESCE(MAX(${d.quote(col.name)}), 0) FROM ${table})`
    switch (dialect) {
      case 'mysql':
        out.push(CompiledQuery.raw(`ALTER TABLE ${table} AUTO_INCREMENT = 1`, []))
        break
      case 'sqlite': {
        const seq = t.schema === undefined ? 'sqlite_sequence' : `${d.quote(t.schema)}.sqlite_sequence`
        out.push(CompiledQuery.raw(`UPDATE ${seq} SET seq = ${max} WHERE name = ?`, [t.tableName]))
        break
      }
      default:
        // setval(seq, max + 1, false): the next nextval returns max + 1 (a sequence cannot be set to 0).
        out.push(CompiledQuery.raw(`SELECT setval(pg_get_serial_sequence($1, $2), ${max} + 1, false)`, [table, col.name]))
    }
  }
  return out
}
