/**
 * Kysely's `.stream()` through engine.db, conn.db and a Kysely transaction,
 * on the four dialects: rows in order and in batches, the connection held for
 * the stream and back in the pool however it ends (read to the end, broken out
 * of, a consumer's throw, a server error mid-stream).
 */
import { sql, type Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DatabaseError, NotSupportedError, type Engine } from '../../src/engine/index.js'
import { SLOW_SETUP_MS } from '../support/slow-setup.js'
import { compatEngine, createTable, failingSeriesSql, seriesSql, TARGETS, type CompatDB } from './targets.js'

interface Row {
  n: number | string | bigint
}

/** `.stream()` of a raw query through Kysely: `sql` templates have no stream, so go through the executor. */
function streamRaw(db: Kysely<CompatDB>, text: string, chunkSize: number): AsyncIterableIterator<{ rows: Row[] }> {
  const compiled = sql.raw<Row>(text).compile(db)
  return db.getExecutor().stream<Row>(compiled, chunkSize)
}

/** Every row of a streamed query, with the batch sizes seen. */
async function collect(batches: AsyncIterable<{ rows: Row[] }>): Promise<{ values: number[]; sizes: number[] }> {
  const values: number[] = []
  const sizes: number[] = []
  for await (const { rows } of batches) {
    sizes.push(rows.length)
    for (const row of rows) values.push(Number(row.n))
  }
  return { values, sizes }
}

const range = (count: number) => Array.from({ length: count }, (_, i) => i + 1)

for (const target of TARGETS) {
  describe.skipIf(!target.run)(`.stream() (${target.name})`, () => {
    let engine: Engine<CompatDB>
    const table = 'compat_stream_person'

    beforeAll(async () => {
      engine = compatEngine(target)
      await createTable(engine.db, target, table)
      await engine.db
        .insertInto(table)
        .values(range(250).map((i) => ({ name: `p${String(i).padStart(3, '0')}`, age: i, owner_id: null })))
        .execute()
    }, SLOW_SETUP_MS)

    afterAll(async () => {
      if (engine === undefined) return
      await sql.raw(`DROP TABLE IF EXISTS ${table}`).execute(engine.db)
      await engine.dispose()
    })

    const idle = () => expect(engine.pool.checkedOut()).toBe(0)

    it('engine.db: a query builder streams every row, in order, one connection for the stream', async () => {
      const seen: number[] = []
      for await (const person of engine.db.selectFrom(table).select(['name', 'age']).orderBy('age').stream(40)) {
        seen.push(person.age)
        // Held for the stream: exactly one connection is out while it is read.
        expect(engine.pool.checkedOut()).toBe(1)
      }
      expect(seen).toEqual(range(250))
      idle()
    })

    it('engine.db: batches of at most chunkSize', async () => {
      const { values, sizes } = await collect(streamRaw(engine.db, seriesSql(target, 1000), 100))
      expect(values).toEqual(range(1000))
      expect(Math.max(...sizes)).toBeLessThanOrEqual(100)
      idle()
    })

    it('engine.db: breaking out early gives the connection back, ready for the next statement', async () => {
      let taken = 0
      for await (const { rows } of streamRaw(engine.db, seriesSql(target, 5000), 50)) {
        taken += rows.length
        if (taken >= 120) break
      }
      expect(taken).toBeLessThan(5000)
      idle()
      const row = await engine.db.selectFrom(table).select((eb) => eb.fn.countAll<number | string | bigint>().as('c')).executeTakeFirstOrThrow()
      expect(Number(row.c)).toBe(250)
      // And again: nothing of the broken stream is left on the connection.
      expect((await collect(streamRaw(engine.db, seriesSql(target, 300), 64))).values).toEqual(range(300))
      idle()
    })

    it("engine.db: a consumer's throw ends the stream and returns the connection", async () => {
      const stop = new Error('consumer stops')
      const read = async () => {
        for await (const person of engine.db.selectFrom(table).select('age').orderBy('age').stream(10)) {
          if (person.age === 35) throw stop
        }
      }
      await expect(read()).rejects.toBe(stop)
      idle()
      expect((await engine.db.selectFrom(table).select('age').where('age', '=', 7).executeTakeFirstOrThrow()).age).toBe(7)
    })

    it('engine.db: a server error mid-stream rejects with a DatabaseError after the rows before it', async () => {
      const values: number[] = []
      const read = async () => {
        for await (const { rows } of streamRaw(engine.db, failingSeriesSql(target, 2000, 1500), 100)) {
          for (const row of rows) values.push(Number(row.n))
        }
      }
      await expect(read()).rejects.toBeInstanceOf(DatabaseError)
      // Rows came in batches before the failing one (how many a server sends before its error varies).
      expect(values.length).toBeGreaterThan(0)
      expect(values).toEqual(range(values.length))
      expect(values.length).toBeLessThan(1500)
      idle()
      expect((await collect(streamRaw(engine.db, seriesSql(target, 10), 3))).values).toEqual(range(10))
    })

    it.skipIf(!target.returning)('engine.db: INSERT ... RETURNING streams its rows too (run whole where no cursor can hold it)', async () => {
      const inserted: string[] = []
      const values = [{ name: 'ret_a', age: 500, owner_id: null }, { name: 'ret_b', age: 501, owner_id: null }, { name: 'ret_c', age: 502, owner_id: null }]
      for await (const row of engine.db.insertInto(table).values(values).returning('name').stream(2)) inserted.push(row.name)
      expect(inserted).toEqual(['ret_a', 'ret_b', 'ret_c'])
      idle()
      expect((await engine.db.deleteFrom(table).where('age', '>=', 500).where('age', '<=', 502).executeTakeFirstOrThrow()).numDeletedRows).toBe(3n)
    })

    it('engine.db.transaction(): streams on the transaction, which goes on after it', async () => {
      await engine.db.transaction().execute(async (trx) => {
        await trx.insertInto(table).values({ name: 'in_tx', age: 1000, owner_id: null }).execute()
        const ages: number[] = []
        for await (const p of trx.selectFrom(table).select('age').where('age', '>=', 240).orderBy('age').stream(4)) ages.push(p.age)
        expect(ages).toEqual([...range(11).map((i) => i + 239), 1000])
        await trx.deleteFrom(table).where('name', '=', 'in_tx').execute()
      })
      idle()
    })

    it('conn.db: streams on the held connection, in and out of a transaction; its statements wait their turn', async () => {
      await using conn = await engine.connect()
      expect((await collect(streamRaw(conn.db, seriesSql(target, 500), 128))).values).toEqual(range(500))
      const tx = await conn.begin()
      await conn.db.insertInto(table).values({ name: 'conn_tx', age: 2000, owner_id: null }).execute()
      let last = 0
      for await (const p of conn.db.selectFrom(table).select('age').orderBy('age').stream(100)) last = p.age
      expect(last).toBe(2000)
      await tx.rollback()
      expect(await conn.db.selectFrom(table).select('age').where('age', '=', 2000).execute()).toEqual([])
      expect(engine.pool.checkedOut()).toBe(1)
    })

    it('conn.db: a statement issued while its stream is read is refused at once, not left waiting', async () => {
      await using conn = await engine.connect()
      let refused: unknown
      let count = 0
      for await (const p of conn.db.selectFrom(table).select('age').orderBy('age').stream(50)) {
        count++
        if (p.age === 1) refused = await conn.db.selectFrom(table).select('age').execute().catch((error: unknown) => error)
      }
      expect(count).toBe(250)
      expect(refused).toBeInstanceOf(NotSupportedError)
      // Once the stream is over, the connection runs statements again.
      expect(await conn.db.selectFrom(table).select('age').where('age', '=', 3).execute()).toEqual([{ age: 3 }])
    })

    it('conn.db: breaking out early leaves the connection usable', async () => {
      await using conn = await engine.connect()
      for await (const { rows } of streamRaw(conn.db, seriesSql(target, 5000), 10)) {
        expect(rows.length).toBeGreaterThan(0)
        break
      }
      expect((await collect(streamRaw(conn.db, seriesSql(target, 20), 7))).values).toEqual(range(20))
      await conn.close()
      idle()
    })
  })
}
