/**
 * Issue 8, "batches fit the server's limits in bytes": insertMany and the
 * flush split their statements by bytes as well as by parameter count; a row
 * that cannot fit any statement is a StatementTooLargeError naming the limit,
 * raised before anything is sent; a statement the server refuses as too large
 * is never reported as a retry-safe DisconnectError.
 */
import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { DatabaseEngine } from '../../src/engine/engine.js'
import { DisconnectError, StatementTooLargeError } from '../../src/engine/errors.js'
import type { DialectCapabilities, Engine } from '../../src/engine/types.js'
import { type DatabaseOf, FlushError, MetaData, Model, serial, sessionmaker, table, text } from '../../src/session/index.js'
import { SLOW_HOOK, SLOW_START, StatementLog, TARGETS, countRows, engineFor } from '../session/helpers.js'
import { MYSQL_URL, runMysql } from '../support/servers.js'

const blob = table('limits_blob', { id: serial().primaryKey(), body: text() })
class Blob extends Model(blob) {}
const metadata = new MetaData(blob)
type DB = DatabaseOf<typeof metadata>

/** Lowers the engine's statement byte limit, as a server with a small max_allowed_packet would set it. */
function limitBytes(engine: Engine<DB>, bytes: number): void {
  const driver = (engine as DatabaseEngine<DB>).dialectDriver
  const capabilities: DialectCapabilities = { ...driver.capabilities, maxStatementBytes: bytes }
  Object.defineProperty(driver, 'capabilities', { value: capabilities, configurable: true })
}

const count = (engine: Engine<DB>) => countRows(engine as Engine<unknown>, 'limits_blob')

for (const target of TARGETS) {
  describe.skipIf(!target.run)(`statements fit a byte limit on ${target.name}`, () => {
    const log = new StatementLog()
    let engine: Engine<DB>
    const LIMIT = 64 * 1024
    const ten = 'x'.repeat(10 * 1024)

    beforeAll(async () => {
      engine = engineFor<DB>(target, log, SLOW_START)
      await metadata.dropAll(engine)
      await metadata.createAll(engine)
      limitBytes(engine, LIMIT)
    }, SLOW_HOOK)
    afterAll(async () => {
      await metadata.dropAll(engine)
      await engine.dispose()
    })
    beforeEach(async () => {
      await engine.db.deleteFrom('limits_blob').execute()
      log.take()
    })

    it('insertMany splits 20 rows of 10 KiB into statements under 64 KiB, all rows in', async () => {
      const ids = await engine.insertMany<{ id: number }>('limits_blob', Array.from({ length: 20 }, () => ({ body: ten })), { returning: ['id'] })
      expect(new Set(ids.map((r) => r.id)).size).toBe(20)
      const inserts = log.take().filter((s) => s.startsWith('INSERT'))
      expect(inserts.length).toBeGreaterThanOrEqual(4)
      expect(inserts.length).toBeLessThanOrEqual(10)
      expect(await count(engine)).toBe(20)
    })

    it('a single row over the limit is a StatementTooLargeError naming the limit, and nothing is sent', async () => {
      const rows = [{ body: 'small' }, { body: 'x'.repeat(100 * 1024) }]
      const error = await engine.insertMany('limits_blob', rows).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(StatementTooLargeError)
      const e = error as StatementTooLargeError
      expect(e.code).toBe('DB_STATEMENT_TOO_LARGE')
      expect(e.limit).toBe(LIMIT)
      expect(e.row).toBe(1)
      expect(e.table).toBe('limits_blob')
      expect(e.message).toContain(String(LIMIT))
      expect(e).not.toBeInstanceOf(DisconnectError)
      expect(log.count('INSERT')).toBe(0)
      expect(await count(engine)).toBe(0)
    })

    it('a flush splits its INSERTs and UPDATEs by bytes too', async () => {
      const Session = sessionmaker({ bind: engine })
      const s = Session()
      try {
        const objects = Array.from({ length: 20 }, () => new Blob({ body: ten }))
        s.addAll(objects)
        await s.commit()
        expect(log.take().filter((x) => x.startsWith('INSERT')).length).toBeGreaterThanOrEqual(4)
        for (const o of objects) o.body = `${ten}!`
        await s.commit()
        // Row-by-row UPDATEs (MySQL, SQLite) are 20 anyway; PostgreSQL's batched ones are split.
        const updates = log.take().filter((x) => x.startsWith('UPDATE'))
        expect(updates.length).toBeGreaterThanOrEqual(4)
      } finally {
        await s.close()
      }
      const rows = await engine.db.selectFrom('limits_blob').select('body').execute()
      expect(rows.map((r) => r.body)).toEqual(Array.from({ length: 20 }, () => `${ten}!`))
    })

    it('a flush with an object over the limit fails before sending it, and writes nothing', async () => {
      const Session = sessionmaker({ bind: engine })
      const s = Session()
      try {
        s.addAll([new Blob({ body: 'fits' }), new Blob({ body: 'x'.repeat(100 * 1024) })])
        const error = await s.flush().catch((e: unknown) => e)
        expect(error).toBeInstanceOf(FlushError)
        expect((error as FlushError).cause).toBeInstanceOf(StatementTooLargeError)
        expect(log.count('INSERT')).toBe(0)
      } finally {
        await s.close()
      }
      expect(await count(engine)).toBe(0)
    })
  })
}

describe.skipIf(!runMysql)('max_allowed_packet on MariaDB/MySQL', () => {
  const log = new StatementLog()
  let engine: Engine<DB>
  let maxPacket: number
  const MiB = 'x'.repeat(1 << 20)

  beforeAll(async () => {
    engine = engineFor<DB>({ name: 'mysql', url: MYSQL_URL, run: true }, log)
    await sql`DROP TABLE IF EXISTS limits_big`.execute(engine.db)
    await sql`CREATE TABLE limits_big (id INT AUTO_INCREMENT PRIMARY KEY, body LONGTEXT NOT NULL)`.execute(engine.db)
    const { rows } = await sql<{ p: number | string }>`SELECT @@max_allowed_packet AS p`.execute(engine.db)
    maxPacket = Number(rows[0].p)
  })
  afterAll(async () => {
    await sql`DROP TABLE IF EXISTS limits_big`.execute(engine.db)
    await engine.dispose()
  })

  it('is read from the server when the first connection opens (no statement of its own in the log)', () => {
    expect(engine.capabilities.maxStatementBytes).toBe(maxPacket)
    expect(log.statements.some((s) => /max_allowed_packet/.test(s) && !/AS p$/.test(s))).toBe(false)
  })

  it('insertMany of rows of 1 MiB that add up past max_allowed_packet goes through in several statements', async () => {
    const rows = Math.ceil((maxPacket * 1.5) / (1 << 20))
    log.take()
    await engine.insertMany('limits_big', Array.from({ length: rows }, () => ({ body: MiB })))
    expect(log.take().filter((s) => s.startsWith('INSERT')).length).toBeGreaterThanOrEqual(2)
    const { rows: counted } = await sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM limits_big`.execute(engine.db)
    expect(Number(counted[0].n)).toBe(rows)
  })

  it('a raw statement over max_allowed_packet is a StatementTooLargeError, not a retry-safe DisconnectError; the pool recovers', async () => {
    const big = 'x'.repeat(maxPacket + (1 << 20))
    const error = await sql`INSERT INTO limits_big (body) VALUES (${big})`.execute(engine.db).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StatementTooLargeError)
    expect(error).not.toBeInstanceOf(DisconnectError)
    expect((error as StatementTooLargeError).limit).toBe(maxPacket)
    expect((error as Error).message).toMatch(/max_allowed_packet/)
    const { rows } = await sql<{ one: number }>`SELECT 1 AS one`.execute(engine.db)
    expect(Number(rows[0].one)).toBe(1)
  })
})
