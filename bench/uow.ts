/**
 * The unit-of-work benchmark (issue 4) on local PostgreSQL: 1 000 authors x
 * 10 books (11 000 new objects) inserted in one flush, loaded and retitled,
 * loaded and deleted, by a hand-written batched Kysely version, MikroORM 6.6,
 * TypeORM 0.3 and athanor's session, interleaved in one run (median of 5
 * runs after a warm-up, fresh tables per run). Then loading all 11 000 rows,
 * and the heap each library keeps per loaded object.
 *
 * ```sh
 * npx tsx bench/uow.ts
 * BENCH_QUICK=1 npx tsx bench/uow.ts     # one timed run
 * ```
 */
import pg from 'pg'
import { PG_URL, QUICK, pgConfig, pgReachable } from './support/config.js'
import { withPgBenchLock } from './support/bench-lock.js'
import { isMain } from './support/main.js'
import { retainedBytes } from './support/memory.js'
import { formatAdvantage, lowerIsBetter, type BenchReport, type Comparison } from './support/report.js'
import { median, range, timeWallAndCpu, type Timing } from './support/stats.js'
import { formatNumber, printTable } from './support/table.js'
import type { Loaded } from './support/athanor.js'
import { kyselyContender } from './support/uow-kysely.js'
import { mikroOrmContender } from './support/uow-mikroorm.js'
import { typeOrmContender } from './support/uow-typeorm.js'
import { AUTHORS, BOOKS_PER_AUTHOR, OBJECTS, RUNS, TITLE_SUFFIX, WARMUP_RUNS, authorsToCreate, type UowContender } from './support/uow-workload.js'

const WORKLOADS = ['insert', 'update', 'delete', 'load'] as const
type Workload = (typeof WORKLOADS)[number]

const WORKLOAD_TITLES: Record<Workload, string> = {
  insert: '(a) insert all, one flush + commit',
  update: '(b) load all + retitle every book + flush + commit',
  delete: '(c) load all + delete all + commit',
  load: `load all ${formatNumber(OBJECTS)} rows as objects`,
}

const HAND_WRITTEN = 'hand-written Kysely'
const ATHANOR = 'athanor session'
const MEMORY_SAMPLES = QUICK ? 1 : 3
/** `BENCH_UOW_LIBS=kysely,athanor` measures some libraries only (kysely, mikroorm, typeorm, athanor). */
const LIBS = process.env.BENCH_UOW_LIBS?.split(',').map((s) => s.trim().toLowerCase())
const wanted = (lib: string) => LIBS === undefined || LIBS.includes(lib)

/**
 * Runs the workload for every library that loads, checks each library really
 * did the work, prints medians and ratios, and returns athanor's advantages.
 *
 * ```ts
 * const report = await runUowBench()
 * ```
 */
export async function runUowBench(): Promise<BenchReport> {
  const skipped: string[] = []
  console.log(
    `\n== unit of work: ${formatNumber(AUTHORS)} authors x ${BOOKS_PER_AUTHOR} books (${formatNumber(OBJECTS)} objects) on PostgreSQL, ` +
      `median of ${RUNS} run(s) after ${WARMUP_RUNS} warm-up run(s) ==`,
  )
  if (!(await pgReachable())) {
    skipped.push(`unit of work: PostgreSQL not reachable at ${PG_URL}`)
    console.log(`  SKIPPED: ${skipped[0]}`)
    return { name: 'uow', comparisons: [], skipped }
  }

  const contenders: UowContender[] = []
  if (wanted('kysely')) contenders.push(kyselyContender())
  for (const [name, make] of [
    ['mikroorm', mikroOrmContender],
    ['typeorm', typeOrmContender],
  ] as const) {
    if (!wanted(name)) continue
    try {
      contenders.push(await make())
    } catch (error) {
      skipped.push(`${name}: could not start (${error instanceof Error ? error.message : String(error)})`)
    }
  }
  if (wanted('athanor')) {
    const athanor = await loadAthanor()
    if (athanor.ok) contenders.push(athanor.value)
    else skipped.push(`athanor session: ${athanor.reason}`)
  }

  const admin = new pg.Client(pgConfig)
  await admin.connect()
  try {
    return await withPgBenchLock(admin, 'uow', async () => {
      try {
        const times = await timeRuns(contenders, admin)
        const memory = await measureMemory(contenders)
        const comparisons = printResults(contenders, times, memory)
        for (const reason of skipped) console.log(`  SKIPPED: ${reason}`)
        return { name: 'uow', comparisons, skipped }
      } finally {
        for (const c of contenders) await c.close().catch((error) => console.error(`  closing ${c.name}:`, error))
      }
    })
  } finally {
    await admin.end()
  }
}

/** Written as a variable so a broken or missing session layer skips athanor instead of stopping the peers. */
const ATHANOR_MODULE = './support/uow-athanor.js'

async function loadAthanor(): Promise<Loaded<UowContender>> {
  try {
    const mod = (await import(ATHANOR_MODULE)) as typeof import('./support/uow-athanor.js')
    return { ok: true, value: mod.athanorContender() }
  } catch (error) {
    return { ok: false, reason: `could not load src/session (${(error instanceof Error ? error.message : String(error)).split('\n')[0]})` }
  }
}

/** Per library, per workload: wall-clock and CPU milliseconds of each timed run. */
type Times = Map<string, Record<Workload, { wall: number[]; cpu: number[] }>>

async function timeRuns(contenders: readonly UowContender[], admin: pg.Client): Promise<Times> {
  const empty = () => ({ wall: [] as number[], cpu: [] as number[] })
  const times: Times = new Map(contenders.map((c) => [c.name, { insert: empty(), update: empty(), delete: empty(), load: empty() }]))
  const input = authorsToCreate()
  for (let run = 1 - WARMUP_RUNS; run <= RUNS; run++) {
    const label = run <= 0 ? 'warm-up' : `run ${run}`
    for (let i = 0; i < contenders.length; i++) {
      const c = contenders[(((i + run) % contenders.length) + contenders.length) % contenders.length]
      await c.reset()
      const insert = await timeWallAndCpu(() => c.insert(input))
      await expectCounts(admin, c, AUTHORS, AUTHORS * BOOKS_PER_AUTHOR, 0)
      const update = await timeWallAndCpu(() => c.update())
      await expectCounts(admin, c, AUTHORS, AUTHORS * BOOKS_PER_AUTHOR, AUTHORS * BOOKS_PER_AUTHOR)
      let loaded = 0
      const load = await timeWallAndCpu(async () => {
        const result = await c.load()
        loaded = result.objects
        await result.release()
      })
      if (loaded !== OBJECTS) throw new Error(`${c.name} loaded ${loaded} objects, expected ${OBJECTS}`)
      const remove = await timeWallAndCpu(() => c.remove())
      await expectCounts(admin, c, 0, 0, 0)
      const step = (name: string, t: Timing) => `${name} ${formatNumber(t.wallMs).padStart(6)} ms (cpu ${formatNumber(t.cpuMs).padStart(6)})`
      console.log(`  ${label}: ${c.name.padEnd(20)} ${step('insert', insert)}  ${step('update', update)}  ${step('delete', remove)}  ${step('load', load)}`)
      if (run <= 0) continue
      const t = times.get(c.name)!
      for (const [w, timing] of [['insert', insert], ['update', update], ['delete', remove], ['load', load]] as const) {
        t[w].wall.push(timing.wallMs)
        t[w].cpu.push(timing.cpuMs)
      }
    }
  }
  return times
}

/** Fails the benchmark when a library did not do the work it was timed on. */
async function expectCounts(admin: pg.Client, c: UowContender, authors: number, books: number, retitled: number): Promise<void> {
  const { rows } = await admin.query<{ authors: string; books: string; retitled: string }>(
    `SELECT (SELECT count(*) FROM ${c.prefix}_author) AS authors, (SELECT count(*) FROM ${c.prefix}_book) AS books, ` +
      `(SELECT count(*) FROM ${c.prefix}_book WHERE title LIKE $1) AS retitled`,
    [`%${TITLE_SUFFIX}`],
  )
  const got = rows[0]
  if (Number(got.authors) !== authors || Number(got.books) !== books || Number(got.retitled) !== retitled) {
    throw new Error(
      `${c.name} left ${got.authors} authors, ${got.books} books, ${got.retitled} retitled; expected ${authors}, ${books}, ${retitled}`,
    )
  }
}

/** Heap bytes per loaded object each library keeps while its objects are alive (median of samples). */
async function measureMemory(contenders: readonly UowContender[]): Promise<Map<string, number>> {
  const input = authorsToCreate()
  const perObject = new Map<string, number>()
  for (const c of contenders) {
    await c.reset()
    await c.insert(input)
    const samples: number[] = []
    for (let i = 0; i < MEMORY_SAMPLES; i++) {
      const { bytes, value } = await retainedBytes(() => c.load())
      samples.push(bytes / value.objects)
      await value.release()
    }
    await c.reset()
    perObject.set(c.name, median(samples))
  }
  return perObject
}

function printResults(contenders: readonly UowContender[], times: Times, memory: Map<string, number>): Comparison[] {
  const names = contenders.map((c) => c.name)
  const wall = (n: string, w: Workload) => median(times.get(n)![w].wall)
  const cpu = (n: string, w: Workload) => median(times.get(n)![w].cpu)

  const rows: string[][] = [['workload (median wall ms)', ...names]]
  for (const w of WORKLOADS) rows.push([WORKLOAD_TITLES[w], ...names.map((n) => formatNumber(wall(n, w)))])
  rows.push(['heap per loaded object (bytes)', ...names.map((n) => formatNumber(memory.get(n)!))])
  console.log()
  printTable(rows)

  const detail = [['wall min..max ms / median cpu ms', ...names]]
  for (const w of WORKLOADS) {
    detail.push([w, ...names.map((n) => `${range(times.get(n)![w].wall).map((v) => formatNumber(v)).join('..')} / cpu ${formatNumber(cpu(n, w))}`)])
  }
  console.log()
  printTable(detail)

  if (!times.has(ATHANOR)) return []
  const peers = names.filter((n) => n !== ATHANOR)
  const comparisons: Comparison[] = []
  const ratios = [['athanor advantage (wall; cpu)', ...peers]]
  for (const w of WORKLOADS) {
    const row: string[] = [w]
    for (const n of peers) {
      const advantage = lowerIsBetter(wall(ATHANOR, w), wall(n, w))
      // Goals: >= 0.9x hand-written on each workload; loading within 2x of the raw rows.
      const goal = n === HAND_WRITTEN ? (w === 'load' ? 0.5 : 0.9) : undefined
      comparisons.push({ workload: `uow ${w}`, peer: n, advantage, ...(goal === undefined ? {} : { goal }) })
      row.push(`${formatAdvantage(advantage, goal)}; cpu ${lowerIsBetter(cpu(ATHANOR, w), cpu(n, w)).toFixed(2)}x`)
    }
    ratios.push(row)
  }
  const memoryRow = ['heap per object']
  for (const n of peers) {
    const advantage = lowerIsBetter(memory.get(ATHANOR)!, memory.get(n)!)
    comparisons.push({ workload: 'uow heap per object', peer: n, advantage })
    memoryRow.push(formatAdvantage(advantage))
  }
  ratios.push(memoryRow)
  console.log()
  printTable(ratios)
  return comparisons
}

if (isMain(import.meta.url)) {
  await runUowBench()
}
