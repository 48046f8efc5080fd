/**
 * Kysely's transactions through `engine.db`: `transaction().execute()`
 * (commit, rollback on throw, isolation level), controlled transactions
 * (`startTransaction()`, savepoints, rollbackToSavepoint, releaseSavepoint)
 * and `db.connection()`, each on one pooled connection that goes back.
 */
import { sql, type Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Engine } from '../../src/engine/index.js'
import { SLOW_SETUP_MS } from '../support/slow-setup.js'
import { compatEngine, createTable, TARGETS, type CompatDB } from './targets.js'

for (const target of TARGETS) {
  describe.skipIf(!target.run)(`transactions through engine.db (${target.name})`, () => {
    let engine: Engine<CompatDB>
    const table = 'compat_tx_person'

    beforeAll(async () => {
      engine = compatEngine(target)
      await createTable(engine.db, target, table)
    }, SLOW_SETUP_MS)

    afterAll(async () => {
      if (engine === undefined) return
      await sql.raw(`DROP TABLE IF EXISTS ${table}`).execute(engine.db)
      await engine.dispose()
    })

    const names = async (db: Kysely<CompatDB> = engine.db) => (await db.selectFrom(table).select('name').orderBy('name').execute()).map((r) => r.name)
    const add = (db: Kysely<CompatDB>, name: string) => db.insertInto(table).values({ name, age: 1, owner_id: null }).execute()

    it('transaction().execute commits what the callback did and returns its value', async () => {
      const value = await engine.db.transaction().execute(async (trx) => {
        await add(trx, 'committed')
        expect(await names(trx)).toContain('committed')
        return 42
      })
      expect(value).toBe(42)
      expect(await names()).toContain('committed')
      expect(engine.pool.checkedOut()).toBe(0)
    })

    it('transaction().execute rolls back when the callback throws, and rethrows its error', async () => {
      const boom = new Error('boom')
      await expect(
        engine.db.transaction().execute(async (trx) => {
          await add(trx, 'rolled_back')
          throw boom
        }),
      ).rejects.toBe(boom)
      expect(await names()).not.toContain('rolled_back')
      expect(engine.pool.checkedOut()).toBe(0)
    })

    it.skipIf(target.name === 'sqlite')('setIsolationLevel applies to the transaction', async () => {
      const level = await engine.db
        .transaction()
        .setIsolationLevel('serializable')
        .execute(async (trx) => {
          if (target.name === 'mysql') {
            // InnoDB lists the transaction (with its level) once it has touched a table.
            await add(trx, 'isolation_probe')
            const { rows } = await sql<{ l: string }>`SELECT trx_isolation_level AS l FROM information_schema.innodb_trx WHERE trx_mysql_thread_id = CONNECTION_ID()`.execute(trx)
            return rows[0]!.l
          }
          const { rows } = await sql<{ transaction_isolation: string }>`SHOW transaction_isolation`.execute(trx)
          return rows[0]!.transaction_isolation
        })
      expect(level.toLowerCase()).toBe('serializable')
      await engine.db.deleteFrom(table).where('name', '=', 'isolation_probe').execute()
    })

    it('startTransaction: commit and rollback', async () => {
      const trx = await engine.db.startTransaction().execute()
      await add(trx, 'controlled_commit')
      await trx.commit().execute()
      expect(trx.isCommitted).toBe(true)
      const other = await engine.db.startTransaction().execute()
      await add(other, 'controlled_rollback')
      await other.rollback().execute()
      expect(other.isRolledBack).toBe(true)
      const now = await names()
      expect(now).toContain('controlled_commit')
      expect(now).not.toContain('controlled_rollback')
      expect(engine.pool.checkedOut()).toBe(0)
    })

    it('savepoints: rollbackToSavepoint undoes only what followed, releaseSavepoint keeps it', async () => {
      const trx = await engine.db.startTransaction().execute()
      try {
        await add(trx, 'sp_before')
        const sp1 = await trx.savepoint('sp1').execute()
        await add(sp1, 'sp_undone')
        const back = await sp1.rollbackToSavepoint('sp1').execute()
        const sp2 = await back.savepoint('sp2').execute()
        await add(sp2, 'sp_kept')
        const released = await sp2.releaseSavepoint('sp2').execute()
        await released.commit().execute()
      } catch (error) {
        await trx.rollback().execute()
        throw error
      }
      const now = await names()
      expect(now).toContain('sp_before')
      expect(now).toContain('sp_kept')
      expect(now).not.toContain('sp_undone')
      expect(engine.pool.checkedOut()).toBe(0)
    })

    it("a failed statement inside a savepoint is undone by rollbackToSavepoint, and the transaction goes on", async () => {
      const trx = await engine.db.startTransaction().execute()
      await add(trx, 'sp_outer')
      const sp = await trx.savepoint('attempt').execute()
      await expect(sp.selectFrom('compat_tx_missing').selectAll().execute()).rejects.toThrow()
      const back = await sp.rollbackToSavepoint('attempt').execute()
      await add(back, 'sp_after_error')
      await back.commit().execute()
      const now = await names()
      expect(now).toContain('sp_outer')
      expect(now).toContain('sp_after_error')
    })

    it('db.connection(): every statement of the callback on one connection', async () => {
      const sessionSql =
        target.name === 'mysql' ? 'SELECT CONNECTION_ID() AS id' : target.name === 'sqlite' ? 'SELECT 1 AS id' : 'SELECT pg_backend_pid() AS id'
      const seen = await engine.db.connection().execute(async (db) => {
        const out: unknown[] = []
        for (let i = 0; i < 3; i++) out.push((await sql.raw<{ id: unknown }>(sessionSql).execute(db)).rows[0]!.id)
        expect(engine.pool.checkedOut()).toBe(1)
        return out
      })
      expect(new Set(seen.map(String)).size).toBe(1)
      expect(engine.pool.checkedOut()).toBe(0)
    })
  })
}
