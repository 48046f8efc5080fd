/**
 * "Transactions never lie" through every engine-level handle, on the four
 * dialects: a commit the database turned into a rollback is an error; a
 * handle refuses statements once its block ended (before ROLLBACK/COMMIT is
 * sent); a connection goes back to the pool only when its holder's statements
 * are done; a holder's statements are queued by athanor, not by the driver.
 */
import mysql from 'mysql2/promise'
import pg from 'pg'
import { sql, type Kysely } from 'kysely'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  ConnectionClosedError,
  createEngine,
  DatabaseError,
  IntegrityError,
  TransactionRolledBackError,
  type Connection,
  type Engine,
} from '../../src/index.js'
import { deadlock as driveDeadlock, type DeadlockSide } from '../support/deadlock.js'
import { watchDriverQueueing } from '../support/driver-queueing.js'
import { MYSQL_URL, mysqlConfig, PG_URL, pgConfig, runMysql, runPg } from '../support/servers.js'
import { PGLITE_START, SLOW_SETUP_MS } from '../support/slow-setup.js'

interface DB {
  txp_item: { id: number; name: string }
}

const TABLE = 'txp_item'

interface DL {
  txp_deadlock: { id: number; v: number }
}

interface Target {
  readonly name: string
  readonly url: string
  readonly run: boolean
  /** A statement that keeps the connection busy for a while (none on SQLite: its statements are synchronous). */
  readonly sleep: ((seconds: number) => string) | null
  /** A statement error aborts the whole transaction (PostgreSQL): COMMIT then rolls back. */
  readonly abortsOnError: boolean
}

const TARGETS: readonly Target[] = [
  { name: 'postgresql', url: PG_URL, run: runPg, sleep: (s) => `SELECT pg_sleep(${s})`, abortsOnError: true },
  { name: 'pglite', url: 'pglite://', run: true, sleep: (s) => `SELECT pg_sleep(${s})`, abortsOnError: true },
  { name: 'mysql', url: MYSQL_URL, run: runMysql, sleep: (s) => `SELECT SLEEP(${s})`, abortsOnError: false },
  { name: 'sqlite', url: 'sqlite://', run: true, sleep: null, abortsOnError: false },
]

/** A promise with its resolve, to trigger a late statement at a chosen point. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void
  const promise = new Promise<void>((resolve) => (open = resolve))
  return { promise, open }
}

/** The error a promise rejects with (`undefined` if it resolves), handled at once so it never counts as unhandled. */
const caught = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  )

const insert = (db: Kysely<DB>, id: number, name: string) => db.insertInto(TABLE).values({ id, name }).execute()

for (const target of TARGETS) {
  describe.skipIf(!target.run)(`transactions never lie on ${target.name}`, () => {
    let engine: Engine<DB>

    beforeAll(async () => {
      // A slow machine may take long to start PGlite.
      engine = createEngine<DB>(target.url, { poolSize: 3, ...PGLITE_START })
      await sql.raw(`DROP TABLE IF EXISTS ${TABLE}`).execute(engine.db)
      await sql.raw(`CREATE TABLE ${TABLE} (id integer PRIMARY KEY, name varchar(100) NOT NULL)`).execute(engine.db)
    }, SLOW_SETUP_MS)

    afterAll(async () => {
      if (engine === undefined) return
      await sql.raw(`DROP TABLE IF EXISTS ${TABLE}`).execute(engine.db)
      await engine.dispose()
    })

    beforeEach(async () => {
      await engine.db.deleteFrom(TABLE).execute()
      await insert(engine.db, 1, 'existing')
    })

    afterEach(() => {
      expect(engine.pool.checkedOut()).toBe(0)
    })

    /** The names in the table; in-memory engines have one connection, so a holder passes its own `db`. */
    const names = async (db: Kysely<DB> = engine.db) => (await db.selectFrom(TABLE).select('name').orderBy('id').execute()).map((r) => r.name)

    /** A statement error inside the transaction, caught: a duplicate key. */
    const failOnce = (db: Kysely<DB>) => expect(insert(db, 1, 'duplicate')).rejects.toBeInstanceOf(IntegrityError)

    /**
     * The six ways to commit, each after a caught statement error. PostgreSQL
     * (and PGlite) roll the transaction back at COMMIT: every way must reject
     * with TransactionRolledBackError. MySQL and SQLite only undo the failed
     * statement: the commit succeeds and keeps the rest.
     */
    const commitWays: Record<string, () => Promise<unknown>> = {
      'tx.commit()': async () => {
        await using conn = await engine.connect()
        const tx = await conn.begin()
        await insert(conn.db, 10, 'kept?')
        await failOnce(conn.db)
        try {
          await tx.commit()
        } finally {
          expect(tx.isActive).toBe(false)
          expect(conn.inTransaction()).toBe(false)
        }
      },
      'conn.commit()': async () => {
        await using conn = await engine.connect()
        await conn.begin()
        await insert(conn.db, 10, 'kept?')
        await failOnce(conn.db)
        await conn.commit()
      },
      'engine.begin(fn) when fn caught the error': () =>
        engine.begin(async (conn) => {
          await insert(conn.db, 10, 'kept?')
          await failOnce(conn.db)
        }),
      'engine.db.transaction().execute(fn)': () =>
        engine.db.transaction().execute(async (trx) => {
          await insert(trx, 10, 'kept?')
          await failOnce(trx)
        }),
      'conn.db.transaction().execute(fn)': async () => {
        await using conn = await engine.connect()
        await conn.db.transaction().execute(async (trx) => {
          await insert(trx, 10, 'kept?')
          await failOnce(trx)
        })
      },
      'engine.db.startTransaction() then commit()': async () => {
        const trx = await engine.db.startTransaction().execute()
        await insert(trx, 10, 'kept?')
        await failOnce(trx)
        try {
          await trx.commit().execute()
        } catch (error) {
          // Kysely's contract: after a failed commit, roll back (that releases the connection).
          await trx.rollback().execute()
          throw error
        }
      },
    }

    for (const [way, run] of Object.entries(commitWays)) {
      it(`${way}: a commit the database turned into a rollback is an error, never a success`, async () => {
        if (target.abortsOnError) {
          const error = await run().then(
            () => undefined,
            (e: unknown) => e,
          )
          expect(error).toBeInstanceOf(TransactionRolledBackError)
          expect(error).toBeInstanceOf(DatabaseError)
          expect((error as TransactionRolledBackError).code).toBe('DB_TRANSACTION_ROLLED_BACK')
          expect((error as Error).cause).toBeInstanceOf(IntegrityError)
          expect(await names()).toEqual(['existing'])
        } else {
          await run()
          expect(await names()).toEqual(['existing', 'kept?'])
        }
      })
    }

    it('begin() right after a commit that is not awaited opens the next transaction after it', async () => {
      await using conn = await engine.connect()
      await conn.begin()
      await insert(conn.db, 10, 'first')
      const committing = conn.commit()
      // Issued while the COMMIT runs: it would belong to neither transaction.
      expect(await caught(insert(conn.db, 11, 'in between'))).toBeInstanceOf(ConnectionClosedError)
      const next = await conn.begin()
      await committing
      await insert(conn.db, 12, 'second')
      await next.rollback()
      expect(await names(conn.db)).toEqual(['existing', 'first'])
    })

    it('a connection whose commit was refused is clean and usable', async () => {
      await using conn = await engine.connect()
      await conn.begin()
      await insert(conn.db, 10, 'first')
      await failOnce(conn.db)
      if (target.abortsOnError) await expect(conn.commit()).rejects.toBeInstanceOf(TransactionRolledBackError)
      else await conn.commit()
      const tx = await conn.begin()
      await insert(conn.db, 11, 'second')
      await tx.commit()
      expect(await names(conn.db)).toEqual(target.abortsOnError ? ['existing', 'second'] : ['existing', 'first', 'second'])
    })

    describe('a handle is dead once its block ended', () => {
      it('engine.begin: a statement issued after the callback threw is refused and never reaches the server', async () => {
        const later = gate()
        let late: Promise<unknown> | undefined
        await expect(
          engine.begin(async (conn) => {
            late = caught(later.promise.then(() => insert(conn.db, 20, 'late')))
            throw new Error('boom')
          }),
        ).rejects.toThrow('boom')
        later.open()
        expect(await late).toBeInstanceOf(ConnectionClosedError)
        expect(await names()).toEqual(['existing'])
      })

      it('engine.db.connection(): the handle kept after the block cannot run anything on the pooled connection', async () => {
        let kept: Kysely<DB> | undefined
        await engine.db.connection().execute(async (db) => {
          kept = db
          await insert(db, 20, 'inside')
        })
        await expect(insert(kept!, 21, 'after release')).rejects.toBeInstanceOf(ConnectionClosedError)
        await expect(sql`SELECT 1`.execute(kept!)).rejects.toBeInstanceOf(ConnectionClosedError)
        expect(await names()).toEqual(['existing', 'inside'])
      })

      it('conn.db.connection(): the handle kept after the block is refused', async () => {
        await using conn = await engine.connect()
        let kept: Kysely<DB> | undefined
        await conn.db.connection().execute(async (db) => {
          kept = db
        })
        await expect(insert(kept!, 21, 'after the block')).rejects.toBeInstanceOf(ConnectionClosedError)
        await insert(conn.db, 22, 'the connection itself still works')
        expect(await names(conn.db)).toEqual(['existing', 'the connection itself still works'])
      })

      it('engine.db.transaction(): a transaction kept after its block never runs anything', async () => {
        let kept: Kysely<DB> | undefined
        await engine.db.transaction().execute(async (trx) => {
          kept = trx
          await insert(trx, 20, 'committed')
        })
        await expect(insert(kept!, 21, 'after commit')).rejects.toThrow()
        expect(await names()).toEqual(['existing', 'committed'])
      })

      it('a Connection refuses statements once close() was called', async () => {
        const conn = await engine.connect()
        const closing = conn.close()
        await expect(insert(conn.db, 20, 'after close')).rejects.toBeInstanceOf(ConnectionClosedError)
        await expect(conn.begin()).rejects.toBeInstanceOf(ConnectionClosedError)
        await expect(conn.insertMany(TABLE, [{ id: 21, name: 'many' }])).rejects.toBeInstanceOf(ConnectionClosedError)
        await closing
        expect(conn.closed).toBe(true)
        expect(await names()).toEqual(['existing'])
      })

      describe.skipIf(target.sleep === null)('while a statement of the block still runs', () => {
        const slow = (db: Kysely<DB>) => sql.raw(target.sleep!(0.3)).execute(db)

        it('engine.begin + throw: the late insert is refused, never lands in autocommit after ROLLBACK', async () => {
          let late: Promise<unknown> | undefined
          await expect(
            engine.begin(async (conn) => {
              late = caught(slow(conn.db).then(() => insert(conn.db, 30, 'late')))
              throw new Error('boom')
            }),
          ).rejects.toThrow('boom')
          expect(await late).toBeInstanceOf(ConnectionClosedError)
          expect(await names()).toEqual(['existing'])
        })

        it('engine.begin + return: statements issued in the block commit, the late one is refused', async () => {
          let late: Promise<unknown> | undefined
          await engine.begin(async (conn) => {
            void insert(conn.db, 30, 'issued in the block')
            late = caught(slow(conn.db).then(() => insert(conn.db, 31, 'late')))
          })
          expect(await late).toBeInstanceOf(ConnectionClosedError)
          expect(await names()).toEqual(['existing', 'issued in the block'])
        })

        it('engine.db.transaction() + throw: the late insert is refused', async () => {
          let late: Promise<unknown> | undefined
          await expect(
            engine.db.transaction().execute(async (trx) => {
              late = caught(slow(trx).then(() => insert(trx, 30, 'late')))
              throw new Error('boom')
            }),
          ).rejects.toThrow('boom')
          expect(await late).toBeInstanceOf(ConnectionClosedError)
          expect(await names()).toEqual(['existing'])
        })

        it('conn.db.transaction() + throw: the late insert is refused', async () => {
          await using conn = await engine.connect()
          let late: Promise<unknown> | undefined
          await expect(
            conn.db.transaction().execute(async (trx) => {
              late = caught(slow(trx).then(() => insert(trx, 30, 'late')))
              throw new Error('boom')
            }),
          ).rejects.toThrow('boom')
          expect(await late).toBeInstanceOf(ConnectionClosedError)
          expect(await names(conn.db)).toEqual(['existing'])
        })

        it('startTransaction + rollback: nothing of the transaction lands', async () => {
          const trx = await engine.db.startTransaction().execute()
          const late = caught(slow(trx).then(() => insert(trx, 30, 'late')))
          await trx.rollback().execute()
          await late
          expect(await names()).toEqual(['existing'])
        })
      })
    })

    describe.skipIf(target.name !== 'postgresql' && target.name !== 'mysql')('no connection handed on busy', () => {
      /** Asks the server (from outside the pool) whether a session is running a statement. */
      let busy: (id: number) => Promise<boolean>
      let closeAdmin: () => Promise<void>
      let single: Engine<DB>

      beforeAll(async () => {
        single = createEngine<DB>(target.url, { poolSize: 1, maxOverflow: 0, poolTimeout: 20_000 })
        if (target.name === 'postgresql') {
          const admin = new pg.Client(pgConfig)
          await admin.connect()
          busy = async (pid) => (await admin.query('SELECT state FROM pg_stat_activity WHERE pid = $1', [pid])).rows[0]?.state === 'active'
          closeAdmin = () => admin.end()
        } else {
          const admin = await mysql.createConnection(mysqlConfig)
          busy = async (id) => {
            const [rows] = await admin.query('SELECT COMMAND FROM information_schema.PROCESSLIST WHERE ID = ?', [id])
            return (rows as { COMMAND: string }[])[0]?.COMMAND === 'Query'
          }
          closeAdmin = () => admin.end()
        }
      })

      afterAll(async () => {
        await closeAdmin?.()
        await single?.dispose()
      })

      const sessionId = async (db: Kysely<DB>) => {
        const q = target.name === 'postgresql' ? 'SELECT pg_backend_pid() AS id' : 'SELECT CONNECTION_ID() AS id'
        return Number((await sql.raw<{ id: number }>(q).execute(db)).rows[0].id)
      }
      const slowSql = () => sql.raw(target.sleep!(1))

      /** Ends a holder while its statement runs, then checks the next holder gets an idle connection. */
      const handover = async (leave: (holderId: (id: number) => void) => Promise<unknown>) => {
        let id = -1
        const leaving = leave((i) => (id = i))
        const next = await single.connect()
        try {
          expect(id).toBeGreaterThan(0)
          // The next holder has the connection: the server must say the previous holder's statement is over.
          expect(await busy(id)).toBe(false)
          expect(await sessionId(next.db)).toBe(id)
        } finally {
          await next.close()
          await leaving
        }
      }

      it('Connection.close() waits for its running statement before checking in', async () => {
        await handover(async (holder) => {
          const conn = await single.connect()
          holder(await sessionId(conn.db))
          const running = slowSql().execute(conn.db)
          await conn.close()
          await running
        })
      })

      it('engine.begin returning while a statement runs checks in only after it', async () => {
        await handover(async (holder) => {
          let running: Promise<unknown> | undefined
          await single.begin(async (conn) => {
            holder(await sessionId(conn.db))
            running = slowSql().execute(conn.db)
          })
          await running
        })
      })

      it('engine.db.connection() returning while a statement runs checks in only after it', async () => {
        await handover(async (holder) => {
          let running: Promise<unknown> | undefined
          await single.db.connection().execute(async (db) => {
            holder(await sessionId(db))
            running = slowSql().execute(db)
          })
          await running
        })
      })

      it('a controlled transaction released while a statement runs checks in only after it', async () => {
        await handover(async (holder) => {
          const trx = await single.db.startTransaction().execute()
          holder(await sessionId(trx))
          const running = slowSql().execute(trx)
          await trx.rollback().execute()
          await running
        })
      })
    })

    it.skipIf(target.name !== 'postgresql')('statements issued at once on one holder are queued by athanor, not by pg', async () => {
      const watch = watchDriverQueueing()
      try {
        const many = (db: Kysely<DB>) => Promise.all(Array.from({ length: 5 }, (_, i) => sql`SELECT ${i}::int AS i`.execute(db)))
        await using conn = await engine.connect()
        await many(conn.db)
        const tx = await conn.begin()
        await Promise.all([many(conn.db), insert(conn.db, 40, 'in tx')])
        await tx.commit()
        await engine.begin(async (c) => void (await many(c.db)))
        await engine.db.connection().execute(many)
        await engine.db.transaction().execute(many)
        // Ending while statements are queued: they run first, then the end.
        const ending = await engine.connect()
        await ending.begin()
        const queued = many(ending.db)
        await ending.commit()
        await queued
        await ending.close()
        // A block that ends while its statement runs: ROLLBACK (then the check-in) waits its turn.
        await expect(
          engine.begin(async (c) => {
            void sql`SELECT pg_sleep(0.1)`.execute(c.db)
            throw new Error('boom')
          }),
        ).rejects.toThrow('boom')
        expect(watch.seen).toEqual([])
      } finally {
        watch.stop()
      }
    })
  })
}

/** Two transactions that each lock a row, then want the other's: InnoDB rolls one back (1213). */
// The server must form the deadlock: on a loaded CI machine InnoDB has, rarely, let both sides
// wait out their lock timeout instead (no 1213; never reproduced in isolation, 55 of 55 runs
// formed it). That is the set-up failing, not athanor: the scenario is run again, with fresh sides.
describe.skipIf(!runMysql)('MySQL/MariaDB: a deadlock rolls the victim back; its handle says so', { retry: 2 }, () => {
  const T = 'txp_deadlock'
  let engine: Engine<DL>
  let admin: mysql.Connection

  beforeAll(async () => {
    // Connections closed on return: the sides' session settings never reach another test.
    engine = createEngine(MYSQL_URL, { poolClass: 'null', poolTimeout: 20_000 })
    admin = await mysql.createConnection(mysqlConfig)
    await admin.query(`DROP TABLE IF EXISTS ${T}`)
    await admin.query(`CREATE TABLE ${T} (id integer PRIMARY KEY, v integer NOT NULL) ENGINE=InnoDB`)
  })

  afterAll(async () => {
    await admin?.query(`DROP TABLE IF EXISTS ${T}`)
    await admin?.end()
    await engine?.dispose()
  })

  beforeEach(async () => {
    await admin.query(`DELETE FROM ${T}`)
    await admin.query(`INSERT INTO ${T} VALUES (1, 0), (2, 0)`)
  })

  /** Ends what a failed test left open, so the next test finds no lock held. */
  const leftovers: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    // Older Kysely (0.28.3) throws synchronously from rollback() of a finished transaction.
    for (const end of leftovers.splice(0)) await Promise.resolve().then(end).catch(() => undefined)
    expect(engine.pool.checkedOut()).toBe(0)
  })

  type Side = DeadlockSide

  /** Drives `a` and `b` into a deadlock; returns the victim (the side whose statement failed with 1213). */
  const deadlock = (a: Side, b: Side) => driveDeadlock(admin, T, 'v = v + 1', a, b)

  const rows = async () => {
    const [r] = await admin.query(`SELECT id, v FROM ${T} ORDER BY id`)
    return (r as { id: number; v: number }[]).map((x) => [x.id, x.v])
  }

  /** The victim's next statement is refused (it would autocommit), its end says rolled back; the survivor commits. */
  const expectVictimRefused = async (victim: Side, survivor: Side) => {
    const next = await victim.run(`INSERT INTO ${T} VALUES (99, 99)`).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(next).toBeInstanceOf(TransactionRolledBackError)
    expect((next as TransactionRolledBackError).errno).toBe(1213)
    await expect(victim.finish()).rejects.toBeInstanceOf(TransactionRolledBackError)
    await survivor.finish()
    // The survivor's two updates are there; nothing of the victim's, and its refused insert never ran.
    const after = await rows()
    expect(after.find(([id]) => id === 99)).toBeUndefined()
    expect(after.map(([, v]) => v).sort()).toEqual([1, 1])
  }

  const viaConnection = async (on: Engine<DL> = engine): Promise<DeadlockSide & { conn: Connection<DL> }> => {
    const conn = await on.connect()
    leftovers.push(() => conn.close())
    await conn.begin()
    return {
      conn,
      run: (text) => sql.raw(text).execute(conn.db),
      finish: async () => {
        try {
          await conn.commit()
        } finally {
          await conn.close()
        }
      },
    }
  }

  /** A block API (engine.begin, Kysely transaction) driven from outside: `finish` lets the callback return. */
  const viaBlock = (open: (body: (db: Kysely<DL>) => Promise<void>) => Promise<unknown>): Promise<Side> =>
    new Promise((ready) => {
      const done = gate()
      leftovers.push(() => (done.open(), result))
      const result = open(async (db) => {
        ready({ run: (text) => sql.raw(text).execute(db), finish: () => (done.open(), result) })
        await done.promise
      })
      result.catch(() => undefined)
    })

  it('through two Connections: the next statement and commit() reject TransactionRolledBackError', async () => {
    const a = await viaConnection()
    const b = await viaConnection()
    const { victim, survivor } = await deadlock(a, b)
    await expectVictimRefused(victim, survivor)
  })

  it('the victim can roll back and carry on', async () => {
    const a = await viaConnection()
    const b = await viaConnection()
    const { victim, survivor } = await deadlock(a, b)
    const conn = (victim as typeof a).conn
    await expect(sql`SELECT 1`.execute(conn.db)).rejects.toBeInstanceOf(TransactionRolledBackError)
    await conn.rollback()
    await sql.raw(`INSERT INTO ${T} VALUES (50, 50)`).execute(conn.db)
    await conn.close()
    await survivor.finish()
    expect((await rows()).find(([id]) => id === 50)).toEqual([50, 50])
  })

  it('through engine.begin', async () => {
    const a = await viaBlock((body) => engine.begin((conn) => body(conn.db)))
    const b = await viaBlock((body) => engine.begin((conn) => body(conn.db)))
    const { victim, survivor } = await deadlock(a, b)
    await expectVictimRefused(victim, survivor)
  })

  it('through engine.db.transaction()', async () => {
    const a = await viaBlock((body) => engine.db.transaction().execute((trx) => body(trx)))
    const b = await viaBlock((body) => engine.db.transaction().execute((trx) => body(trx)))
    const { victim, survivor } = await deadlock(a, b)
    await expectVictimRefused(victim, survivor)
  })

  it('through controlled transactions (db.startTransaction())', async () => {
    const side = async (): Promise<Side> => {
      const trx = await engine.db.startTransaction().execute()
      leftovers.push(() => trx.rollback().execute())
      return {
        run: (text) => sql.raw(text).execute(trx),
        finish: async () => {
          try {
            await trx.commit().execute()
          } catch (error) {
            await trx.rollback().execute()
            throw error
          }
        },
      }
    }
    const { victim, survivor } = await deadlock(await side(), await side())
    await expectVictimRefused(victim, survivor)
  })

  it('a lock wait timeout that leaves the transaction open (innodb_rollback_on_timeout off) is not mistaken for a rollback', async () => {
    const [vars] = await admin.query('SELECT @@innodb_rollback_on_timeout AS r')
    const rollsBack = Number((vars as { r: number }[])[0].r) === 1
    // The short timeout is a session setting: a pool that closes connections on return keeps it from others.
    const closing = createEngine<DL>(MYSQL_URL, { poolClass: 'null' })
    const holder = await viaConnection()
    const waiter = await viaConnection(closing)
    await sql`SET SESSION innodb_lock_wait_timeout = 1`.execute(waiter.conn.db)
    await waiter.run(`UPDATE ${T} SET v = 10 WHERE id = 2`)
    await holder.run(`UPDATE ${T} SET v = 20 WHERE id = 1`)
    const timedOut = await waiter.run(`UPDATE ${T} SET v = 11 WHERE id = 1`).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(timedOut).toMatchObject({ errno: 1205 })
    await holder.finish()
    if (rollsBack) {
      // The server rolled the waiter back: the same promise as a deadlock.
      await expect(waiter.run('SELECT 1')).rejects.toBeInstanceOf(TransactionRolledBackError)
      await expect(waiter.finish()).rejects.toBeInstanceOf(TransactionRolledBackError)
      expect(await rows()).toEqual([
        [1, 20],
        [2, 0],
      ])
    } else {
      // Only the statement was undone: the transaction goes on and commits its earlier work.
      await waiter.run(`UPDATE ${T} SET v = 12 WHERE id = 2`)
      await waiter.finish()
      expect(await rows()).toEqual([
        [1, 20],
        [2, 12],
      ])
    }
    await closing.dispose()
  })
})

describe('SQLite: an error that rolls the whole transaction back (SQLITE_FULL)', () => {
  let engine: Engine<DB>

  beforeAll(async () => {
    engine = createEngine<DB>('sqlite://', { poolTimeout: 20_000 })
    await sql.raw(`CREATE TABLE ${TABLE} (id integer PRIMARY KEY, name varchar(100) NOT NULL)`).execute(engine.db)
  })

  afterAll(async () => {
    await engine?.dispose()
  })

  it('refuses the next statement (it would autocommit) and commit(), until rollback', async () => {
    await using conn = await engine.connect()
    await conn.begin()
    await insert(conn.db, 1, 'in the transaction')
    const pages = Number((await sql.raw<{ page_count: number }>('PRAGMA page_count').execute(conn.db)).rows[0].page_count)
    await sql.raw(`PRAGMA max_page_count = ${pages}`).execute(conn.db)
    try {
      await expect(insert(conn.db, 2, 'x'.repeat(200_000))).rejects.toMatchObject({ driverCode: 'SQLITE_FULL' })
      const next = await insert(conn.db, 3, 'would autocommit').then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(next).toBeInstanceOf(TransactionRolledBackError)
      await expect(conn.commit()).rejects.toBeInstanceOf(TransactionRolledBackError)
    } finally {
      await sql.raw('PRAGMA max_page_count = 1073741823').execute(conn.db)
    }
    expect(await conn.db.selectFrom(TABLE).select('name').execute()).toEqual([])
    await insert(conn.db, 4, 'usable again')
    expect((await conn.db.selectFrom(TABLE).select('name').execute()).map((r) => r.name)).toEqual(['usable again'])
  })
})
