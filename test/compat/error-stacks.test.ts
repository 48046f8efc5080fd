/**
 * Kysely's drivers give a failed statement's error the caller's frames (its
 * tests "error stack should contain the userland stack" and "transaction
 * should retain the full stack trace"); athanor's errors, built in the
 * driver's callback, get them appended under `--- issued at:`.
 */
import { sql, type Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DatabaseError, type Engine } from '../../src/engine/index.js'
import { MetaData, Model, integer, serial, sessionmaker, table, varchar } from '../../src/session/index.js'
import { SLOW_SETUP_MS } from '../support/slow-setup.js'
import { compatEngine, createTable, TARGETS, type CompatDB } from './targets.js'

const THIS_FILE = 'error-stacks.test.ts'

const pets = table('compat_stack_pet', { id: serial().primaryKey(), name: varchar(50).unique(), age: integer() })
class Pet extends Model(pets) {}
const metadata = new MetaData(pets)

// The userland functions the stacks must name; like Kysely's own tests, they await the statement.
async function userlandEngineDb(db: Kysely<CompatDB>): Promise<unknown> {
  return await db.selectFrom('compat_stack_missing').selectAll().execute()
}

async function userlandTransaction(db: Kysely<CompatDB>): Promise<unknown> {
  return await db.transaction().execute(async (trx) => {
    await trx.selectFrom('compat_stack_t').selectAll().execute()
    return await trx.selectFrom('compat_stack_missing').selectAll().execute()
  })
}

async function userlandControlledTransaction(db: Kysely<CompatDB>): Promise<unknown> {
  const trx = await db.startTransaction().execute()
  try {
    return await trx.selectFrom('compat_stack_missing').selectAll().execute()
  } finally {
    await trx.rollback().execute()
  }
}

async function userlandConnDb(engine: Engine<CompatDB>): Promise<unknown> {
  await using conn = await engine.connect()
  return await conn.db.selectFrom('compat_stack_missing').selectAll().execute()
}

async function userlandSessionFlush(engine: Engine<CompatDB>): Promise<unknown> {
  const Session = sessionmaker({ bind: engine })
  const s = Session()
  try {
    s.add(new Pet({ name: 'rex', age: 1 }))
    s.add(new Pet({ name: 'rex', age: 2 }))
    return await s.flush()
  } finally {
    await s.close()
  }
}

async function userlandStream(db: Kysely<CompatDB>): Promise<unknown> {
  for await (const row of db.selectFrom('compat_stack_missing').selectAll().stream()) void row
  return undefined
}

/** The rejection of `run`, which must happen. */
async function failure(run: () => Promise<unknown>): Promise<Error> {
  try {
    await run()
  } catch (error) {
    return error as Error
  }
  throw new Error('expected the statement to fail')
}

for (const target of TARGETS) {
  describe.skipIf(!target.run)(`error stacks name the caller (${target.name})`, () => {
    let engine: Engine<CompatDB>

    beforeAll(async () => {
      engine = compatEngine(target)
      await createTable(engine.db, target, 'compat_stack_t')
      await metadata.dropAll(engine)
      await metadata.createAll(engine)
    }, SLOW_SETUP_MS)

    afterAll(async () => {
      if (engine === undefined) return
      await metadata.dropAll(engine)
      await sql.raw('DROP TABLE IF EXISTS compat_stack_t').execute(engine.db)
      await engine.dispose()
    })

    const expectCaller = (error: Error, fn: string) => {
      expect(error).toBeInstanceOf(DatabaseError)
      expect(error.stack).toContain(fn)
      expect(error.stack).toContain(THIS_FILE)
      // The typed error keeps the driver's error as its cause.
      expect((error as Error & { cause?: unknown }).cause).toBeDefined()
    }

    it('engine.db', async () => {
      expectCaller(await failure(() => userlandEngineDb(engine.db)), 'userlandEngineDb')
    })

    it('engine.db.transaction().execute', async () => {
      expectCaller(await failure(() => userlandTransaction(engine.db)), 'userlandTransaction')
    })

    it('engine.db.startTransaction()', async () => {
      expectCaller(await failure(() => userlandControlledTransaction(engine.db)), 'userlandControlledTransaction')
    })

    it('conn.db', async () => {
      expectCaller(await failure(() => userlandConnDb(engine)), 'userlandConnDb')
    })

    it('engine.db .stream()', async () => {
      expectCaller(await failure(() => userlandStream(engine.db)), 'userlandStream')
      expect(engine.pool.checkedOut()).toBe(0)
    })

    it("a Session's flush", async () => {
      const error = await failure(() => userlandSessionFlush(engine))
      expect(error.stack).toContain('userlandSessionFlush')
      expect(error.stack).toContain(THIS_FILE)
    })
  })
}
