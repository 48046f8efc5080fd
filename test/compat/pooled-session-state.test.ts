/**
 * Session state on a pooled connection (docs/kysely.md, "One connection per
 * statement"): with the default reset a temporary table outlives the
 * statement that made it and lingers for the connection's next user; with
 * `poolResetOnReturn: 'reset'` it is gone once the connection is back, while
 * `engine.connect()` keeps it for as long as the connection is held.
 */
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { DatabaseError, type Engine } from '../../src/engine/index.js'
import { compatEngine, TARGETS, type Target } from './targets.js'

const TEMP = 'compat_pooled_tmp'

const createTemp = (target: Target) =>
  target.name === 'mysql' ? `CREATE TEMPORARY TABLE ${TEMP} (a integer)` : `CREATE TEMP TABLE ${TEMP} (a integer)`
const sessionId = (target: Target) => (target.name === 'mysql' ? 'SELECT CONNECTION_ID() AS id' : 'SELECT pg_backend_pid() AS id')

for (const target of TARGETS.filter((t) => t.server)) {
  describe.skipIf(!target.run)(`temporary objects on pooled connections (${target.name})`, () => {
    let engine: Engine<Record<string, never>> | undefined

    afterEach(async () => {
      await engine?.dispose()
      engine = undefined
    })

    /** The server's id of the connection the next engine.db statement gets. */
    const idOf = async (e: Engine<Record<string, never>>) => String((await sql.raw<{ id: unknown }>(sessionId(target)).execute(e.db)).rows[0]!.id)

    it("default reset: a temporary table made through engine.db lingers on the pooled connection", async () => {
      engine = compatEngine(target, { poolSize: 1, maxOverflow: 0 })
      const before = await idOf(engine)
      await sql.raw(createTemp(target)).execute(engine.db)
      await sql.raw(`INSERT INTO ${TEMP} (a) VALUES (1)`).execute(engine.db)
      // The same pooled connection, and the table is still there for whoever gets it next.
      expect(await idOf(engine)).toBe(before)
      expect((await sql.raw<{ a: number }>(`SELECT a FROM ${TEMP}`).execute(engine.db)).rows).toEqual([{ a: 1 }])
    })

    it("poolResetOnReturn: 'reset' clears it when the connection is returned; the connection is reused", async () => {
      engine = compatEngine(target, { poolSize: 1, maxOverflow: 0, poolResetOnReturn: 'reset' })
      const before = await idOf(engine)
      await sql.raw(createTemp(target)).execute(engine.db)
      const error = await sql
        .raw(`SELECT a FROM ${TEMP}`)
        .execute(engine.db)
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(DatabaseError)
      expect(await idOf(engine)).toBe(before)
    })

    it("engine.connect() keeps the temporary table while it holds the connection, even with 'reset'", async () => {
      engine = compatEngine(target, { poolSize: 1, maxOverflow: 0, poolResetOnReturn: 'reset' })
      {
        await using conn = await engine.connect()
        await sql.raw(createTemp(target)).execute(conn.db)
        await sql.raw(`INSERT INTO ${TEMP} (a) VALUES (2)`).execute(conn.db)
        expect((await sql.raw<{ a: number }>(`SELECT a FROM ${TEMP}`).execute(conn.db)).rows).toEqual([{ a: 2 }])
      }
      await expect(sql.raw(`SELECT a FROM ${TEMP}`).execute(engine.db)).rejects.toBeInstanceOf(DatabaseError)
    })
  })
}
