/**
 * Model-based test of the public Connection API (fast-check `fc.commands`),
 * the other half of test/pool/model.test.ts: random sequences of connect,
 * begin, SAVEPOINT, inserts (awaited, or issued and left running), commit and
 * rollback of the innermost transaction, a repeated end of a transaction that
 * already ended, close with work still running, and statements through a
 * closed Connection, on the real servers. After every step the database and
 * the pool must agree with a small reference model:
 *
 * - every row the model says was committed is in the table, and no other row
 *   (nothing reported committed is lost; nothing rolled back, refused or
 *   issued after the end lands, in autocommit or anywhere else);
 * - a statement through a closed Connection is a ConnectionClosedError, and a
 *   second end of a transaction is a TransactionError (a ConnectionClosedError
 *   once its Connection is closed);
 * - the pool has exactly the open Connections checked out, and a connection
 *   is never handed to two of them (each open Connection sees its own backend).
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import {
  ConnectionClosedError,
  createEngine,
  TransactionError,
  type Connection,
  type Engine,
  type Transaction,
} from '../../src/index.js'
import { MYSQL_URL, PG_URL, runMysql, runPg } from '../support/servers.js'

interface DB {
  cm_row: { v: number }
}

const CAPACITY = 3

/** One transaction frame: the root transaction or a savepoint, with the rows it wrote. */
interface Frame {
  readonly tx: Transaction
  readonly rows: number[]
}

interface Handle {
  readonly conn: Connection<DB>
  open: boolean
  readonly frames: Frame[]
  /** Transactions that ended, for repeated-end commands. */
  readonly ended: Transaction[]
  /** Statements issued and not awaited yet; each must succeed. */
  readonly running: Promise<unknown>[]
}

class Model {
  readonly handles: Handle[] = []
  readonly committed = new Set<number>()
  next = 1

  get open(): Handle[] {
    return this.handles.filter((h) => h.open)
  }
  get inTransaction(): Handle[] {
    return this.open.filter((h) => h.frames.length > 0)
  }
  get closed(): Handle[] {
    return this.handles.filter((h) => !h.open)
  }
  get withEnded(): Handle[] {
    return this.handles.filter((h) => h.ended.length > 0)
  }
}

interface Real {
  readonly engine: Engine<DB>
  readonly backendOf: (conn: Connection<DB>) => Promise<number>
}

type Cmd = fc.AsyncCommand<Model, Real>
const pick = <T,>(items: T[], k: number): T => items[k % items.length]

async function verify(m: Model, r: Real): Promise<void> {
  // Let what was left running finish first: each must have succeeded.
  for (const h of m.handles) for (const p of h.running.splice(0)) await p
  expect(r.engine.pool.checkedOut()).toBe(m.open.length)
  const rows = await r.engine.db.selectFrom('cm_row').select('v').execute()
  const got = rows.map((row) => Number(row.v)).sort((a, b) => a - b)
  expect(got).toEqual([...m.committed].sort((a, b) => a - b))
  const backends = await Promise.all(m.open.map((h) => r.backendOf(h.conn)))
  expect(new Set(backends).size, `one server connection held twice: ${backends.join(',')}`).toBe(backends.length)
}

class Connect implements Cmd {
  check(m: Model): boolean {
    // The engine also needs a connection of its own for verify(): stay below capacity.
    return m.open.length < CAPACITY - 1
  }
  async run(m: Model, r: Real): Promise<void> {
    m.handles.push({ conn: await r.engine.connect(), open: true, frames: [], ended: [], running: [] })
    await verify(m, r)
  }
  toString(): string {
    return 'connect'
  }
}

class Begin implements Cmd {
  constructor(readonly k: number) {}
  check(m: Model): boolean {
    return m.open.length > 0
  }
  async run(m: Model, r: Real): Promise<void> {
    const h = pick(m.open, this.k)
    const tx = h.frames.length === 0 ? await h.conn.begin() : await h.conn.beginNested()
    h.frames.push({ tx, rows: [] })
    await verify(m, r)
  }
  toString(): string {
    return `begin(${this.k})`
  }
}

class Insert implements Cmd {
  constructor(
    readonly k: number,
    readonly leaveRunning: boolean,
  ) {}
  check(m: Model): boolean {
    return m.open.length > 0
  }
  async run(m: Model, r: Real): Promise<void> {
    const h = pick(m.open, this.k)
    const v = m.next++
    const statement = h.conn.db.insertInto('cm_row').values({ v }).execute()
    const top = h.frames.at(-1)
    if (top) top.rows.push(v)
    else m.committed.add(v)
    if (this.leaveRunning) h.running.push(statement)
    else await statement
    if (!this.leaveRunning) await verify(m, r)
  }
  toString(): string {
    return `insert(${this.k}${this.leaveRunning ? ', left running' : ''})`
  }
}

class End implements Cmd {
  constructor(
    readonly k: number,
    readonly how: 'commit' | 'rollback',
  ) {}
  check(m: Model): boolean {
    return m.inTransaction.length > 0
  }
  async run(m: Model, r: Real): Promise<void> {
    const h = pick(m.inTransaction, this.k)
    const frame = h.frames.pop()!
    // Statements left running were issued before the end: they belong to the transaction.
    await frame.tx[this.how]()
    h.ended.push(frame.tx)
    if (this.how === 'commit') {
      const parent = h.frames.at(-1)
      if (parent) parent.rows.push(...frame.rows)
      else for (const v of frame.rows) m.committed.add(v)
    }
    await verify(m, r)
  }
  toString(): string {
    return `${this.how}(${this.k})`
  }
}

class EndAgain implements Cmd {
  constructor(
    readonly k: number,
    readonly how: 'commit' | 'rollback',
  ) {}
  check(m: Model): boolean {
    return m.withEnded.length > 0
  }
  async run(m: Model, r: Real): Promise<void> {
    const h = pick(m.withEnded, this.k)
    const tx = pick(h.ended, this.k)
    // Ended, on a Connection still open: a TransactionError; once it is closed, the Connection says so.
    await expect(tx[this.how]()).rejects.toBeInstanceOf(h.open ? TransactionError : ConnectionClosedError)
    await verify(m, r)
  }
  toString(): string {
    return `${this.how} again(${this.k})`
  }
}

class Close implements Cmd {
  constructor(readonly k: number) {}
  check(m: Model): boolean {
    return m.open.length > 0
  }
  async run(m: Model, r: Real): Promise<void> {
    const h = pick(m.open, this.k)
    // close() waits for what is still running, then rolls back what is open.
    await h.conn.close()
    h.open = false
    h.frames.splice(0)
    expect(r.engine.pool.checkedOut()).toBe(m.open.length)
    await verify(m, r)
  }
  toString(): string {
    return `close(${this.k})`
  }
}

class InsertAfterClose implements Cmd {
  constructor(readonly k: number) {}
  check(m: Model): boolean {
    return m.closed.length > 0
  }
  async run(m: Model, r: Real): Promise<void> {
    const h = pick(m.closed, this.k)
    const v = m.next++
    await expect(h.conn.db.insertInto('cm_row').values({ v }).execute()).rejects.toBeInstanceOf(ConnectionClosedError)
    await verify(m, r)
  }
  toString(): string {
    return `insert after close(${this.k})`
  }
}

const k = fc.nat(7)
const commands = [
  fc.constant(new Connect()),
  k.map((i) => new Begin(i)),
  fc.tuple(k, fc.boolean()).map(([i, left]) => new Insert(i, left)),
  fc.tuple(k, fc.constantFrom('commit' as const, 'rollback' as const)).map(([i, how]) => new End(i, how)),
  fc.tuple(k, fc.constantFrom('commit' as const, 'rollback' as const)).map(([i, how]) => new EndAgain(i, how)),
  k.map((i) => new Close(i)),
  k.map((i) => new InsertAfterClose(i)),
]

interface Target {
  readonly name: string
  readonly url: string
  readonly run: boolean
  readonly backend: string
}

const targets: Target[] = [
  { name: 'PostgreSQL', url: PG_URL, run: runPg, backend: 'SELECT pg_backend_pid() AS id' },
  { name: 'MySQL/MariaDB', url: MYSQL_URL, run: runMysql, backend: 'SELECT CONNECTION_ID() AS id' },
]

for (const target of targets) {
  describe.skipIf(!target.run)(`Connection API against a model, on ${target.name}`, () => {
    let engine: Engine<DB>
    beforeAll(async () => {
      engine = createEngine<DB>(target.url, { poolSize: CAPACITY, maxOverflow: 0 })
      await sql`DROP TABLE IF EXISTS cm_row`.execute(engine.db)
      await sql`CREATE TABLE cm_row (v integer PRIMARY KEY)`.execute(engine.db)
    })
    afterAll(async () => {
      await sql`DROP TABLE IF EXISTS cm_row`.execute(engine.db)
      await engine.dispose()
    })

    it('agrees with the model: rows committed, nothing late lands, checkouts exact', async () => {
      const real: Real = {
        engine,
        backendOf: async (conn) => {
          const { rows } = await sql<{ id: number }>`${sql.raw(target.backend)}`.execute(conn.db)
          return Number(rows[0]!.id)
        },
      }
      // A sequence the model found (busy run, seed -1162657647): a repeated commit after close.
      await sql`DELETE FROM cm_row`.execute(engine.db)
      const found = new Model()
      await fc.asyncModelRun(() => ({ model: found, real }), [new Connect(), new Begin(0), new End(0, 'commit'), new Close(0), new EndAgain(0, 'commit')])
      expect(engine.pool.checkedOut()).toBe(0)
      await fc.assert(
        fc.asyncProperty(fc.commands(commands, { maxCommands: 25 }), async (cmds) => {
          await sql`DELETE FROM cm_row`.execute(engine.db)
          const model = new Model()
          try {
            await fc.asyncModelRun(() => ({ model, real }), cmds)
          } finally {
            for (const h of model.handles) {
              await Promise.allSettled(h.running)
              await h.conn.close()
            }
          }
          expect(engine.pool.checkedOut()).toBe(0)
        }),
        { numRuns: 40 },
      )
    }, 120_000)
  })
}
