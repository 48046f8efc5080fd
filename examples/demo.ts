/**
 * `npm run demo`: athanor on an in-memory engine, no server needed.
 *
 * 1. Bootstrap an engine and see its SQL with `echo`.
 * 2. Serve a burst of concurrent requests and watch the pool: the in-memory
 *    engine's single connection with its waiter queue, then a QueuePool
 *    (poolSize 3 + maxOverflow 4, on a SQLite file) whose overflow rises
 *    with the load and falls back as connections come home.
 * 3. A unit of work: a graph of new objects flushed in dependency order.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Generated } from 'kysely'
import { createEngine, type Engine } from '../src/index.js'
import { runSessionDemo } from './demo-session.js'

interface DB {
  visit: { id: Generated<number>; path: string; ms: number }
}

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s)
const heading = (s: string) => console.log(`\n${bold(`== ${s}`)}`)

async function echoDemo(): Promise<void> {
  heading('1. An in-memory engine, with echo on')
  const lines: string[] = []
  const engine = createEngine<DB>('sqlite://', {
    echo: true,
    logger: { info: (...a: unknown[]) => lines.push(a.map(String).join(' ')), warn: console.warn, error: console.error },
  })
  console.log(`createEngine('${engine.url}') -> pool: ${engine.pool.status()}`)
  await engine.db.schema
    .createTable('visit')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('ms', 'integer', (c) => c.notNull())
    .execute()
  await engine.begin(async (conn) => {
    await conn.db.insertInto('visit').values({ path: '/', ms: 3 }).execute()
    await conn.db.insertInto('visit').values({ path: '/about', ms: 5 }).execute()
  })
  const rows = await engine.db.selectFrom('visit').select(['path', 'ms']).orderBy('id').execute()
  console.log('the SQL echo printed:')
  for (const line of lines) console.log(`  ${line}`)
  console.log('rows, typed by the DB interface:', rows)
  await engine.dispose()
}

/** What one request does while it holds a connection. */
type Work = (engine: Engine<DB>, i: number, holdMs: number) => Promise<void>

/** A request that writes: one transaction, held while the request does its other work. */
const writeVisit: Work = (engine, i, holdMs) =>
  engine.begin(async (conn) => {
    await conn.db.insertInto('visit').values({ path: `/item/${i}`, ms: holdMs }).execute()
    await sleep(holdMs) // the request's other work, while it holds the connection
  })

/**
 * A request that reads on a connection of its own. (SQLite writers in one
 * process would wait on each other's locks: better-sqlite3 is synchronous, so
 * athanor gives SQLite the single-connection pool by default.)
 */
const readVisits: Work = async (engine, _i, holdMs) => {
  await using conn = await engine.connect()
  await conn.db.selectFrom('visit').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()
  await sleep(holdMs)
}

/** Fires `requests` concurrent requests at `engine`, printing the pool's status each time it changes. */
async function burst(engine: Engine<DB>, requests: number, holdMs: number, work: Work): Promise<void> {
  let last = ''
  const sample = () => {
    const s = engine.pool.stats()
    const line = `${engine.pool.status()}  | waiting: ${s.waiting}`
    if (line !== last) console.log(`  ${line}`)
    last = line
  }
  const timer = setInterval(sample, 5)
  const started = performance.now()
  let failed = 0
  await Promise.all(
    Array.from({ length: requests }, async (_, i) => {
      await sleep(i * 2) // requests arrive over time, not all at once
      try {
        await work(engine, i, holdMs)
      } catch (e) {
        failed++
        console.log(`  request ${i} failed: ${(e as Error).message}`)
      }
    }),
  )
  const elapsed = performance.now() - started
  sample()
  clearInterval(timer)
  const s = engine.pool.stats()
  console.log(
    `  ${requests} requests in ${elapsed.toFixed(0)} ms (${failed} failed); connections opened: ${s.created}, ` +
      `mean wait for a connection: ${s.acquireTimeMean.toFixed(2)} ms, longest: ${s.acquireTimeMax.toFixed(1)} ms`,
  )
}

async function createVisitTable(engine: Engine<DB>): Promise<void> {
  await engine.db.schema
    .createTable('visit')
    .ifNotExists()
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('ms', 'integer', (c) => c.notNull())
    .execute()
}

async function poolDemo(): Promise<void> {
  heading('2a. A burst of 12 requests on the in-memory engine (one connection, checkouts queue up)')
  const memory = createEngine<DB>('sqlite://', { poolTimeout: 5_000 })
  await createVisitTable(memory)
  await burst(memory, 12, 4, writeVisit)
  await memory.dispose()

  heading('2b. A burst of 20 reading requests on a QueuePool: poolSize 3, maxOverflow 4 (a SQLite file)')
  console.log('  Watch "Current Overflow" climb from -3 as overflow connections open, and fall back')
  console.log('  as they are closed on return: idle connections never exceed poolSize.')
  const dir = mkdtempSync(join(tmpdir(), 'athanor-demo-'))
  const engine = createEngine<DB>(`sqlite:///${join(dir, 'demo.db')}`, {
    poolClass: 'queue',
    poolSize: 3,
    maxOverflow: 4,
    poolTimeout: 5_000,
  })
  await createVisitTable(engine)
  await burst(engine, 20, 25, readVisits)
  await sleep(10)
  console.log(`  after the burst: ${engine.pool.status()}`)
  await engine.dispose()
  rmSync(dir, { recursive: true, force: true })
}

const started = performance.now()
await echoDemo()
await poolDemo()
heading('3. A unit of work on the in-memory engine')
await runSessionDemo()
console.log(`\ndone in ${(performance.now() - started).toFixed(0)} ms`)
