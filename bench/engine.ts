/**
 * The engine benchmark (issue 3): `SELECT 1` throughput through athanor's
 * `engine.db` beside raw pg.Pool, Kysely on pg.Pool and Knex on PostgreSQL,
 * beside mysql2's own pool and Kysely on mysql2 on MariaDB, and a batched
 * insert of 100 000 rows with `engine.insertMany` beside a hand-written
 * multi-row Kysely loop. All in one run, interleaved, medians of rounds.
 *
 * ```sh
 * npx tsx bench/engine.ts            # full: 5 rounds of 2 s
 * BENCH_QUICK=1 npx tsx bench/engine.ts
 * ```
 */
import knex from 'knex'
import { Kysely, MysqlDialect, PostgresDialect, sql } from 'kysely'
import mysql from 'mysql2'
import mysqlPromise from 'mysql2/promise'
import pg from 'pg'
import { loadEngine, type EngineModule } from './support/athanor.js'
import { MYSQL_URL, PG_URL, QUICK, mysqlConfig, mysqlReachable, pgConfig, pgReachable } from './support/config.js'
import { formatAdvantage, higherIsBetter, lowerIsBetter, type BenchReport, type Comparison } from './support/report.js'
import { median, range, timeMs } from './support/stats.js'
import { formatNumber, printTable } from './support/table.js'
import { interleavedRounds, type Contender, type ThroughputResult } from './support/throughput.js'
import { isMain } from './support/main.js'
import { withMysqlBenchLock, withPgBenchLock } from './support/bench-lock.js'

const POOL_SIZE = 10
const CONCURRENCY = 32
/** Overridable for a noisy machine: more, shorter rounds pair the libraries more closely. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 2 : 5))
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? (QUICK ? 500 : 2000))
const WARMUP_MS = QUICK ? 100 : 300
const INSERT_ROWS = QUICK ? 20_000 : 100_000
const INSERT_ROUNDS = QUICK ? 1 : 5
const ROWS_PER_STATEMENT = 1000

const ATHANOR_DB = 'athanor engine.db'

/** One name on both servers; the file name prefixes it so test files never collide with it. */
const INSERT_TABLE = 'bench_engine_insert'

/** The table both insert contenders fill: three columns besides the generated key. */
type InsertRow = {
  n: number
  name: string
  amount: number
}
interface InsertDB {
  bench_engine_insert: InsertRow
}

/**
 * Runs every part whose server is reachable, prints each figure beside the
 * peers', and returns athanor's advantages for the summary.
 *
 * ```ts
 * const report = await runEngineBench()
 * ```
 */
export async function runEngineBench(): Promise<BenchReport> {
  const comparisons: Comparison[] = []
  const skipped: string[] = []
  const athanor = await loadEngine()
  if (!athanor.ok) skipped.push(`athanor engine: not loadable (${athanor.reason}); peers measured alone`)
  const engineModule = athanor.ok ? athanor.value : undefined
  const pgUp = await pgReachable()
  const mysqlUp = await mysqlReachable()

  console.log(`\n== engine: SELECT 1, ${CONCURRENCY} concurrent callers, pool of ${POOL_SIZE}, ${ROUNDS} rounds of ${DURATION_MS} ms (median) ==`)
  if (pgUp) comparisons.push(...(await selectOnePostgres(engineModule)))
  else skipped.push(`PostgreSQL SELECT 1 and insert: server not reachable at ${PG_URL}`)
  if (mysqlUp) comparisons.push(...(await selectOneMysql(engineModule)))
  else skipped.push(`MariaDB SELECT 1 and insert: server not reachable at ${MYSQL_URL}`)

  console.log(`\n== engine: batched insert of ${formatNumber(INSERT_ROWS)} rows x 3 columns, ${INSERT_ROUNDS} round(s) (median) ==`)
  if (pgUp) comparisons.push(...(await withPgLock(() => insertPostgres(engineModule))))
  if (mysqlUp) comparisons.push(...(await withMysqlLock(() => insertMysql(engineModule))))
  for (const reason of skipped) console.log(`  SKIPPED: ${reason}`)
  return { name: 'engine', comparisons, skipped }
}

// ---------------------------------------------------------------- SELECT 1

async function selectOnePostgres(athanor: EngineModule | undefined): Promise<Comparison[]> {
  const contenders: Contender[] = [
    {
      name: 'raw pg.Pool',
      async open() {
        const pool = new pg.Pool({ ...pgConfig, max: POOL_SIZE })
        return { call: () => pool.query('SELECT 1'), close: () => pool.end() }
      },
    },
    {
      name: 'Kysely on pg.Pool',
      async open() {
        const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ ...pgConfig, max: POOL_SIZE }) }) })
        return { call: () => sql`SELECT 1`.execute(db), close: () => db.destroy() }
      },
    },
    {
      name: 'Knex (pg)',
      async open() {
        const k = knex({ client: 'pg', connection: pgConfig, pool: { min: 0, max: POOL_SIZE } })
        return { call: () => k.raw('SELECT 1'), close: () => k.destroy() }
      },
    },
  ]
  if (athanor) {
    contenders.push({
      name: ATHANOR_DB,
      async open() {
        const engine = athanor.createEngine<unknown>(PG_URL, { poolSize: POOL_SIZE, maxOverflow: 0 })
        return { call: () => sql`SELECT 1`.execute(engine.db), close: () => engine.dispose() }
      },
    })
  }
  const results = await interleavedRounds(contenders, roundsOptions('PostgreSQL'))
  printThroughput('SELECT 1 on PostgreSQL', results)
  return compareThroughput('SELECT 1 on PostgreSQL', results, [
    ['raw pg.Pool', 0.97],
    ['Kysely on pg.Pool', 1.0],
    ['Knex (pg)', undefined],
  ])
}

async function selectOneMysql(athanor: EngineModule | undefined): Promise<Comparison[]> {
  const poolOptions = { ...mysqlConfig, connectionLimit: POOL_SIZE }
  const contenders: Contender[] = [
    {
      name: 'mysql2 pool (promise)',
      async open() {
        const pool = mysqlPromise.createPool(poolOptions)
        return { call: () => pool.query('SELECT 1'), close: () => pool.end() }
      },
    },
    {
      name: 'mysql2 pool (callback)',
      async open() {
        const pool = mysql.createPool(poolOptions)
        const call = () =>
          new Promise<unknown>((resolve, reject) => pool.query('SELECT 1', (error, rows) => (error ? reject(error) : resolve(rows))))
        return { call, close: () => new Promise<void>((resolve) => pool.end(() => resolve())) }
      },
    },
    {
      name: 'Kysely on mysql2 pool',
      async open() {
        const db = new Kysely<unknown>({ dialect: new MysqlDialect({ pool: mysql.createPool(poolOptions) }) })
        return { call: () => sql`SELECT 1`.execute(db), close: () => db.destroy() }
      },
    },
  ]
  if (athanor) {
    contenders.push({
      name: ATHANOR_DB,
      async open() {
        const engine = athanor.createEngine<unknown>(MYSQL_URL, { poolSize: POOL_SIZE, maxOverflow: 0 })
        return { call: () => sql`SELECT 1`.execute(engine.db), close: () => engine.dispose() }
      },
    })
  }
  const results = await interleavedRounds(contenders, roundsOptions('MariaDB'))
  printThroughput('SELECT 1 on MariaDB', results)
  // The issue compares with "mysql2's own pool": its faster API is the bar.
  const promise = median(results.get('mysql2 pool (promise)')!.map((r) => r.perSecond))
  const callback = median(results.get('mysql2 pool (callback)')!.map((r) => r.perSecond))
  const fastest = promise >= callback ? 'mysql2 pool (promise)' : 'mysql2 pool (callback)'
  return compareThroughput('SELECT 1 on MariaDB', results, [
    [fastest, 0.97],
    ['Kysely on mysql2 pool', 1.0],
  ])
}

function roundsOptions(server: string) {
  return {
    rounds: ROUNDS,
    durationMs: DURATION_MS,
    warmupMs: WARMUP_MS,
    firstWarmupMs: QUICK ? 500 : 1500,
    concurrency: CONCURRENCY,
    onResult: (round: number, name: string, r: ThroughputResult) =>
      process.stdout.write(`  ${server} round ${round + 1}: ${name} ${formatNumber(r.perSecond)} q/s, ${r.cpuUsPerCall.toFixed(1)} cpu µs/q\n`),
  }
}

/**
 * Per-library medians, and athanor's ratio two ways: of the medians (the
 * headline), and the median of the per-round ratios (each round's turns are
 * seconds apart, so this one shrugs off load that drifts during the run).
 * Also the client CPU per query, and athanor's advantage on it.
 */
function printThroughput(title: string, results: Map<string, ThroughputResult[]>): void {
  const qps = (name: string) => results.get(name)!.map((r) => r.perSecond)
  const cpu = (name: string) => median(results.get(name)!.map((r) => r.cpuUsPerCall))
  const athanor = results.has(ATHANOR_DB) ? qps(ATHANOR_DB) : undefined
  const rows = [['library', 'median q/s', 'min..max q/s', 'athanor / library', 'paired per round', 'cpu µs/q', 'athanor cpu']]
  for (const name of results.keys()) {
    const figures = qps(name)
    const [lo, hi] = range(figures)
    const ratio = athanor ? `${higherIsBetter(median(athanor), median(figures)).toFixed(2)}x` : '-'
    const paired = athanor ? `${pairedRatio(athanor, figures).toFixed(2)}x` : '-'
    const cpuRatio = athanor ? `${lowerIsBetter(cpu(ATHANOR_DB), cpu(name)).toFixed(2)}x` : '-'
    rows.push([name, formatNumber(median(figures)), `${formatNumber(lo)}..${formatNumber(hi)}`, ratio, paired, cpu(name).toFixed(1), cpuRatio])
  }
  console.log(`\n${title}`)
  printTable(rows)
}

/** Median over rounds of `a[round] / b[round]`. */
function pairedRatio(a: readonly number[], b: readonly number[]): number {
  return median(a.map((x, i) => x / b[i]))
}

function compareThroughput(
  workload: string,
  results: Map<string, ThroughputResult[]>,
  peers: readonly (readonly [string, number | undefined])[],
): Comparison[] {
  const qps = (name: string) => median(results.get(name)!.map((r) => r.perSecond))
  if (!results.has(ATHANOR_DB)) return []
  const comparisons: Comparison[] = []
  for (const [peer, goal] of peers) {
    const advantage = higherIsBetter(qps(ATHANOR_DB), qps(peer))
    comparisons.push({ workload, peer, advantage, ...(goal === undefined ? {} : { goal }) })
    console.log(`  athanor vs ${peer}: ${formatAdvantage(advantage, goal)}`)
  }
  return comparisons
}

// ---------------------------------------------------------------- batched insert

/** Holds the 'engine' benchmark lock on PostgreSQL while `fn` uses the insert table. */
async function withPgLock<T>(fn: () => Promise<T>): Promise<T> {
  const client = new pg.Client(pgConfig)
  await client.connect()
  try {
    return await withPgBenchLock(client, 'engine', fn)
  } finally {
    await client.end()
  }
}

/** Holds the 'engine' benchmark lock on MariaDB while `fn` uses the insert table. */
async function withMysqlLock<T>(fn: () => Promise<T>): Promise<T> {
  const connection = await mysqlPromise.createConnection(mysqlConfig)
  try {
    return await withMysqlBenchLock(connection, 'engine', fn)
  } finally {
    await connection.end()
  }
}

function insertRows(count: number): InsertRow[] {
  return Array.from({ length: count }, (_, i) => ({ n: i, name: `row number ${i}`, amount: i * 0.25 }))
}

/** A hand-written multi-row INSERT loop, as a Kysely user writes it: one transaction, 1 000 rows a statement. */
async function kyselyInsertLoop(db: Kysely<InsertDB>, rows: readonly InsertRow[]): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      await trx.insertInto('bench_engine_insert').values(rows.slice(i, i + ROWS_PER_STATEMENT)).execute()
    }
  })
}

interface InsertContender {
  readonly name: string
  run(rows: readonly InsertRow[]): Promise<void>
}

async function insertRounds(
  server: string,
  contenders: readonly InsertContender[],
  truncate: () => Promise<unknown>,
): Promise<Map<string, number[]>> {
  const rows = insertRows(INSERT_ROWS)
  const warmup = rows.slice(0, 5000)
  const results = new Map<string, number[]>(contenders.map((c) => [c.name, []]))
  for (const contender of contenders) {
    await truncate()
    await contender.run(warmup)
  }
  for (let round = 0; round < INSERT_ROUNDS; round++) {
    for (let i = 0; i < contenders.length; i++) {
      const contender = contenders[(i + round) % contenders.length]
      await truncate()
      const ms = await timeMs(() => contender.run(rows))
      results.get(contender.name)!.push(ms)
      console.log(`  ${server} insert round ${round + 1}: ${contender.name} ${formatNumber(ms)} ms`)
    }
  }
  await truncate()
  return results
}

function printInsert(title: string, results: Map<string, number[]>, athanorName: string, peer: string): Comparison[] {
  const athanor = results.get(athanorName)
  const rows = [['library', 'median ms', 'min..max ms', 'rows/s', 'athanor speed / library']]
  for (const [name, figures] of results) {
    const [lo, hi] = range(figures)
    const ratio = athanor ? `${lowerIsBetter(median(athanor), median(figures)).toFixed(2)}x` : '-'
    rows.push([name, formatNumber(median(figures)), `${formatNumber(lo)}..${formatNumber(hi)}`, formatNumber((INSERT_ROWS * 1000) / median(figures)), ratio])
  }
  console.log(`\n${title}`)
  printTable(rows)
  if (!athanor) return []
  const advantage = lowerIsBetter(median(athanor), median(results.get(peer)!))
  console.log(`  athanor vs ${peer}: ${formatAdvantage(advantage)}`)
  return [{ workload: title, peer, advantage }]
}

async function insertPostgres(athanor: EngineModule | undefined): Promise<Comparison[]> {
  const db = new Kysely<InsertDB>({ dialect: new PostgresDialect({ pool: new pg.Pool({ ...pgConfig, max: 2 }) }) })
  const engine = athanor?.createEngine<InsertDB>(PG_URL, { poolSize: 2, maxOverflow: 0 })
  try {
    await sql`DROP TABLE IF EXISTS ${sql.table(INSERT_TABLE)}`.execute(db)
    await sql`CREATE TABLE ${sql.table(INSERT_TABLE)} (id serial PRIMARY KEY, n integer NOT NULL, name text NOT NULL, amount double precision NOT NULL)`.execute(db)
    const contenders: InsertContender[] = [{ name: 'hand-written Kysely loop', run: (rows) => kyselyInsertLoop(db, rows) }]
    if (engine) contenders.push({ name: 'athanor engine.insertMany', run: (rows) => engine.insertMany(INSERT_TABLE, rows).then(() => undefined) })
    const results = await insertRounds('PostgreSQL', contenders, () => sql`TRUNCATE ${sql.table(INSERT_TABLE)} RESTART IDENTITY`.execute(db))
    return printInsert(`Insert ${formatNumber(INSERT_ROWS)} rows on PostgreSQL`, results, 'athanor engine.insertMany', 'hand-written Kysely loop')
  } finally {
    await sql`DROP TABLE IF EXISTS ${sql.table(INSERT_TABLE)}`.execute(db).catch(() => undefined)
    await db.destroy()
    await engine?.dispose()
  }
}

async function insertMysql(athanor: EngineModule | undefined): Promise<Comparison[]> {
  const db = new Kysely<InsertDB>({ dialect: new MysqlDialect({ pool: mysql.createPool({ ...mysqlConfig, connectionLimit: 2 }) }) })
  const engine = athanor?.createEngine<InsertDB>(MYSQL_URL, { poolSize: 2, maxOverflow: 0 })
  try {
    await sql`DROP TABLE IF EXISTS ${sql.table(INSERT_TABLE)}`.execute(db)
    await sql`CREATE TABLE ${sql.table(INSERT_TABLE)} (id int AUTO_INCREMENT PRIMARY KEY, n int NOT NULL, name varchar(100) NOT NULL, amount double NOT NULL)`.execute(db)
    const contenders: InsertContender[] = [{ name: 'hand-written Kysely loop', run: (rows) => kyselyInsertLoop(db, rows) }]
    if (engine) contenders.push({ name: 'athanor engine.insertMany', run: (rows) => engine.insertMany(INSERT_TABLE, rows).then(() => undefined) })
    const results = await insertRounds('MariaDB', contenders, () => sql`TRUNCATE TABLE ${sql.table(INSERT_TABLE)}`.execute(db))
    return printInsert(`Insert ${formatNumber(INSERT_ROWS)} rows on MariaDB`, results, 'athanor engine.insertMany', 'hand-written Kysely loop')
  } finally {
    await sql`DROP TABLE IF EXISTS ${sql.table(INSERT_TABLE)}`.execute(db).catch(() => undefined)
    await db.destroy()
    await engine?.dispose()
  }
}

// Run directly: `npx tsx bench/engine.ts`.
if (isMain(import.meta.url)) {
  await runEngineBench()
}
