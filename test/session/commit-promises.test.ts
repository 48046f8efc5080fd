/**
 * The Session keeps the engine's promises: a commit the database turned into
 * a rollback is an error and the objects roll back with it; a session is dead
 * once its block (Session.begin, scoped.begin, close, a scope's end) is over;
 * its statements are queued by athanor, never by the driver.
 */
import mysql from 'mysql2/promise'
import { sql } from 'kysely'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createEngine, DatabaseError, TransactionRolledBackError, type Engine } from '../../src/engine/index.js'
import { type DatabaseOf, objectState, scopedSession, SessionClosedError, sessionmaker, type Session as SessionType } from '../../src/session/index.js'
import { deadlock, type DeadlockSide } from '../support/deadlock.js'
import { watchDriverQueueing } from '../support/driver-queueing.js'
import { MYSQL_URL, mysqlConfig, runMysql } from '../support/servers.js'
import { library } from './fixtures.js'
import { TARGETS } from './helpers.js'
import { PGLITE_START, SLOW_SETUP_MS } from '../support/slow-setup.js'

const lib = library('cp')
const { Author, metadata } = lib
type DB = DatabaseOf<typeof metadata>

/** The error a promise rejects with (`undefined` if it resolves), handled at once. */
const caught = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  )

/** A promise with its resolve, to trigger a late statement at a chosen point. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void
  const promise = new Promise<void>((resolve) => (open = resolve))
  return { promise, open }
}

for (const target of TARGETS) {
  describe.skipIf(!target.run)(`session promises on ${target.name}`, () => {
    let engine: Engine<DB>
    let Session: ReturnType<typeof sessionmaker<DB>>
    /** PostgreSQL aborts the whole transaction on a statement error; MySQL and SQLite undo only the statement. */
    const abortsOnError = target.name === 'postgresql' || target.name === 'pglite'
    // A statement that keeps a network server busy (SQLite and PGlite run statements on this thread: none is ever "still running").
    const sleep = target.name === 'mysql' ? 'SELECT SLEEP(0.3)' : target.name === 'postgresql' ? 'SELECT pg_sleep(0.3)' : null
    const opened: SessionType<DB>[] = []
    let oldId: number

    beforeAll(async () => {
      // A slow machine may take long to start PGlite.
      engine = createEngine<DB>(target.url, { poolSize: 3, ...PGLITE_START })
      await metadata.dropAll(engine)
      await metadata.createAll(engine)
      Session = sessionmaker({ bind: engine })
      Session.on('afterBegin', (s) => void opened.push(s))
    }, SLOW_SETUP_MS)

    afterAll(async () => {
      if (engine === undefined) return
      await metadata.dropAll(engine)
      await engine.dispose()
    })

    beforeEach(async () => {
      for (const t of [...metadata.sortedTables()].reverse()) await engine.db.deleteFrom(t.name as never).execute()
      oldId = await Session.begin(async (s) => {
        const old = new Author({ name: 'Old' })
        s.add(old)
        await s.flush()
        return old.id
      })
    })

    afterEach(async () => {
      // A failed test must not leave a session holding the (in-memory engines' only) connection.
      for (const s of opened.splice(0)) await s.close().catch(() => undefined)
      expect(engine.pool.checkedOut()).toBe(0)
    })

    const names = async () => (await engine.db.selectFrom('cp_author').select('name').orderBy('id').execute()).map((r) => r.name)

    /** A statement error inside the session's transaction, caught. */
    const failOnce = (session: SessionType<DB>) => expect(sql`SELECT * FROM cp_no_such_table`.execute(session.db)).rejects.toBeInstanceOf(DatabaseError)

    /** In one transaction: change a loaded object, add and flush a new one, then a statement fails (caught). */
    const work = async (session: SessionType<DB>) => {
      const old = (await session.get(Author, oldId))!
      old.name = 'Changed'
      const ada = new Author({ name: 'Ada' })
      session.add(ada)
      await session.flush()
      expect(ada.id).toBeTypeOf('number')
      await failOnce(session)
      return { old, ada }
    }

    /** After a commit that was a rollback: the new object is transient with no key, the changed one reloads its old value. */
    const expectRolledBack = async (objects: { old: InstanceType<typeof Author>; ada: InstanceType<typeof Author> }, session?: SessionType<DB>) => {
      expect(objectState(objects.ada)).toBe('transient')
      expect(objects.ada.id).toBeUndefined()
      if (session !== undefined) {
        expect(session.contains(objects.ada)).toBe(false)
        expect(session.new).toEqual([])
        expect(objectState(objects.old)).toBe('persistent')
        const again = await session.get(Author, oldId)
        expect(again).toBe(objects.old)
        expect(objects.old.name).toBe('Old')
        // In-memory engines have one connection: give it back before looking.
        await session.close()
      }
      expect(await names()).toEqual(['Old'])
    }

    it('session.commit(): a commit the database turned into a rollback rejects, and the objects roll back', async () => {
      await using session = Session()
      const objects = await work(session)
      if (abortsOnError) {
        const error = await caught(session.commit())
        expect(error).toBeInstanceOf(TransactionRolledBackError)
        expect((error as Error).cause).toBeInstanceOf(DatabaseError)
        expect(session.inTransaction()).toBe(false)
        await expectRolledBack(objects, session)
      } else {
        await session.commit()
        expect(objectState(objects.ada)).toBe('persistent')
        await session.close()
        expect(await names()).toEqual(['Changed', 'Ada'])
      }
    })

    it('Session.begin(fn) when fn caught the error: rejects TransactionRolledBackError', async () => {
      let objects: Awaited<ReturnType<typeof work>> | undefined
      const outcome = await caught(Session.begin(async (s) => void (objects = await work(s))))
      if (abortsOnError) {
        expect(outcome).toBeInstanceOf(TransactionRolledBackError)
        await expectRolledBack(objects!)
      } else {
        expect(outcome).toBeUndefined()
        expect(await names()).toEqual(['Changed', 'Ada'])
      }
    })

    it('scoped.begin(fn) when fn caught the error: rejects TransactionRolledBackError', async () => {
      const scoped = scopedSession(Session)
      let objects: Awaited<ReturnType<typeof work>> | undefined
      const outcome = await caught(scoped.begin(async (s) => void (objects = await work(s))))
      if (abortsOnError) {
        expect(outcome).toBeInstanceOf(TransactionRolledBackError)
        await expectRolledBack(objects!)
      } else {
        expect(outcome).toBeUndefined()
        expect(await names()).toEqual(['Changed', 'Ada'])
      }
    })

    it('a session whose commit was refused goes on with a new transaction', async () => {
      await using session = Session()
      await work(session)
      if (abortsOnError) await expect(session.commit()).rejects.toBeInstanceOf(TransactionRolledBackError)
      else await session.commit()
      session.add(new Author({ name: 'Next' }))
      await session.commit()
      await session.close()
      expect(await names()).toEqual(abortsOnError ? ['Old', 'Next'] : ['Changed', 'Ada', 'Next'])
    })

    describe('a session is dead once its block ended', () => {
      it('Session.begin: a statement issued after the callback threw is refused', async () => {
        const later = gate()
        let late: Promise<unknown> | undefined
        await expect(
          Session.begin(async (s) => {
            const db = s.db
            late = caught(later.promise.then(() => db.insertInto('cp_author').values({ name: 'late' }).execute()))
            throw new Error('boom')
          }),
        ).rejects.toThrow('boom')
        later.open()
        expect(await late).toBeInstanceOf(SessionClosedError)
        expect(await names()).toEqual(['Old'])
      })

      it('Session.begin: add() and flush() after the block are refused', async () => {
        let kept: SessionType<DB> | undefined
        await Session.begin(async (s) => void (kept = s))
        expect(() => kept!.add(new Author({ name: 'late' }))).toThrow(SessionClosedError)
        await expect(kept!.flush()).rejects.toBeInstanceOf(SessionClosedError)
        await expect(kept!.get(Author, oldId)).rejects.toBeInstanceOf(SessionClosedError)
      })

      it('scoped.run: work left running after the scope ended gets no new session (and holds no connection)', async () => {
        const scoped = scopedSession(Session)
        const later = gate()
        let late: Promise<unknown> | undefined
        await scoped.run(async () => {
          await scoped.current.get(Author, oldId)
          late = caught(
            later.promise.then(async () => {
              const s = scoped.current
              s.add(new Author({ name: 'late' }))
              await s.commit()
            }),
          )
        })
        later.open()
        expect(await late).toBeInstanceOf(SessionClosedError)
        expect(engine.pool.checkedOut()).toBe(0)
        expect(await names()).toEqual(['Old'])
      })

      describe.skipIf(sleep === null)('while a statement of the block still runs', () => {
        it('Session.begin + throw: the late insert is refused, never lands after ROLLBACK', async () => {
          let late: Promise<unknown> | undefined
          await expect(
            Session.begin(async (s) => {
              const db = s.db
              await s.get(Author, oldId)
              const running = sql.raw(sleep!).execute(db)
              // On the wire before the block ends.
              await new Promise((resolve) => setImmediate(resolve))
              late = caught(running.then(() => db.insertInto('cp_author').values({ name: 'late', active: true }).execute()))
              throw new Error('boom')
            }),
          ).rejects.toThrow('boom')
          expect(await late).toBeInstanceOf(SessionClosedError)
          expect(await names()).toEqual(['Old'])
        })

        it('session.close(): refuses at once, waits for the running statement, then checks in', async () => {
          const session = Session()
          const db = session.db
          await session.get(Author, oldId)
          const running = sql.raw(sleep!).execute(db)
          await new Promise((resolve) => setImmediate(resolve))
          const closing = session.close()
          // Issued after close() was called, when the running statement is done.
          const late = caught(running.then(() => db.selectFrom('cp_author').selectAll().execute()))
          await closing
          expect(await late).toBeInstanceOf(SessionClosedError)
          expect(engine.pool.checkedOut()).toBe(0)
        })
      })
    })

    it.skipIf(target.name !== 'postgresql')('statements issued at once through a session are queued by athanor, not by pg', async () => {
      const watch = watchDriverQueueing()
      try {
        await using session = Session()
        const many = () => Promise.all(Array.from({ length: 5 }, (_, i) => sql`SELECT ${i}::int AS i`.execute(session.db)))
        await many()
        session.add(new Author({ name: 'Queued' }))
        await Promise.all([many(), session.flush(), many(), session.get(Author, oldId)])
        await session.commit()
        await Session.begin(async (s) => {
          void sql`SELECT pg_sleep(0.1)`.execute(s.db)
        })
        expect(watch.seen).toEqual([])
      } finally {
        watch.stop()
      }
    })
  })
}

// The server must form the deadlock: on a loaded CI machine InnoDB has, rarely, let both sides
// wait out their lock timeout instead (no 1213; never reproduced in isolation, 55 of 55 runs
// formed it). That is the set-up failing, not athanor: the scenario is run again, with fresh sides.
describe.skipIf(!runMysql)('MySQL/MariaDB: a session that lost a deadlock says so', { retry: 2 }, () => {
  let engine: Engine<DB>
  let admin: mysql.Connection
  let Session: ReturnType<typeof sessionmaker<DB>>
  const T = 'cp_author'

  beforeAll(async () => {
    // Connections closed on return: the sides' session settings never reach another test.
    engine = createEngine<DB>(MYSQL_URL, { poolClass: 'null', poolTimeout: 20_000 })
    await metadata.dropAll(engine)
    await metadata.createAll(engine)
    Session = sessionmaker({ bind: engine })
    admin = await mysql.createConnection(mysqlConfig)
  })

  afterAll(async () => {
    await admin?.end()
    if (engine === undefined) return
    await metadata.dropAll(engine)
    await engine.dispose()
  })

  it('the victim refuses its next statement and its commit, and its new objects roll back', async () => {
    for (const t of [...metadata.sortedTables()].reverse()) await engine.db.deleteFrom(t.name as never).execute()
    await engine.db.insertInto(T).values([{ id: 1, name: 'one', active: true }, { id: 2, name: 'two', active: true }]).execute()
    const side = (session: SessionType<DB>) => {
      const name = `Ada ${Math.random()}`
      const ada = new Author({ name })
      return {
        session,
        ada,
        name,
        run: async (text: string) => {
          if (!session.contains(ada)) {
            session.add(ada)
            await session.flush()
          }
          return sql.raw(text).execute(session.db)
        },
        finish: () => session.commit(),
      } satisfies DeadlockSide & Record<string, unknown>
    }
    const a = side(Session())
    const b = side(Session())
    try {
      const { victim, survivor } = await deadlock(admin, T, "name = CONCAT(name, '!')", a, b)
      expect(objectState(victim.ada)).toBe('persistent')
      const next = await caught(victim.session.get(Author, 2))
      expect(next).toBeInstanceOf(TransactionRolledBackError)
      expect((next as TransactionRolledBackError).errno).toBe(1213)
      await expect(victim.session.commit()).rejects.toBeInstanceOf(TransactionRolledBackError)
      expect(objectState(victim.ada)).toBe('transient')
      expect(victim.ada.id).toBeUndefined()
      await survivor.finish()
      const names = (await engine.db.selectFrom(T).select('name').execute()).map((r) => r.name)
      expect(names).toContain(survivor.name)
      expect(names).not.toContain(victim.name)
    } finally {
      await a.session.close()
      await b.session.close()
    }
    expect(engine.pool.checkedOut()).toBe(0)
  })
})
