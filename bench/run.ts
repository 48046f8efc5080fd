/**
 * `npm run bench`: the pool, engine and unit-of-work benchmarks in sequence,
 * then one summary of athanor's ratios against every peer measured in this
 * run. A part whose code or server is missing is skipped, and the summary says
 * which and why.
 *
 * ```sh
 * npm run bench
 * BENCH_QUICK=1 npm run bench      # fewer, shorter rounds
 * BENCH_ONLY=engine,uow npm run bench
 * ```
 */
import { QUICK } from './support/config.js'
import { formatAdvantage, type BenchReport, type Comparison } from './support/report.js'
import { printTable } from './support/table.js'

interface Part {
  readonly name: string
  /** Loads the part's module and runs it; a missing module becomes a skip. */
  run(): Promise<BenchReport>
}

const PARTS: readonly Part[] = [
  { name: 'pool', run: () => runPart('pool', './pool.js', ['runPoolBench', 'default']) },
  { name: 'engine', run: () => runPart('engine', './engine.js', ['runEngineBench']) },
  { name: 'uow', run: () => runPart('uow', './uow.js', ['runUowBench']) },
]

/**
 * Imports `specifier` (a variable, so a part not written yet does not stop
 * the type check) and runs the first of `exportNames` it has.
 */
async function runPart(name: string, specifier: string, exportNames: readonly string[]): Promise<BenchReport> {
  let mod: Record<string, unknown>
  try {
    mod = (await import(specifier)) as Record<string, unknown>
  } catch (error) {
    return skippedPart(name, `bench/${name}.ts could not be loaded: ${firstLine(error)}`)
  }
  const fn = exportNames.map((e) => mod[e]).find((f): f is () => Promise<unknown> => typeof f === 'function')
  if (!fn) return skippedPart(name, `bench/${name}.ts exports none of ${exportNames.join(', ')}`)
  const lines: string[] = []
  const log = console.log
  // Keep what the part prints: a part that returns no report may still print its ratios.
  console.log = (...args: unknown[]) => {
    lines.push(args.map(String).join(' '))
    log(...args)
  }
  let result: unknown
  try {
    result = await fn()
  } finally {
    console.log = log
  }
  if (isReport(result)) return result
  const comparisons = name === 'pool' ? parsePoolOutput(lines) : []
  const skipped = comparisons.length > 0 ? [] : [`${name}: ran, but returned no comparisons for the summary (see its output above)`]
  return { name, comparisons, skipped }
}

/**
 * bench/pool.ts prints a table (`tarn  0.70 M  6.44  1.23  7.20`: cycles/s,
 * athanor's throughput ratio, handoff µs, athanor's latency ratio) and a goal
 * line (`athanor / fastest peer: 2.43x (goal >= 2x)`); read its ratios from those.
 */
function parsePoolOutput(lines: readonly string[]): Comparison[] {
  const out: Comparison[] = []
  for (const line of lines.flatMap((l) => l.split('\n'))) {
    const row = /^(.+?)\s+[\d.]+ M\s+([\d.]+)\s+[\d.]+\s+([\d.]+)\s*$/.exec(line)
    if (row && !row[1].startsWith('athanor')) {
      out.push({ workload: 'pool checkout+checkin', peer: row[1].trim(), advantage: Number(row[2]) })
      out.push({ workload: 'pool handoff latency', peer: row[1].trim(), advantage: Number(row[3]) })
    }
    const goal = /athanor \/ fastest peer: ([\d.]+)x \(goal >= ([\d.]+)x\)/.exec(line)
    if (goal) out.push({ workload: 'pool checkout+checkin', peer: 'fastest peer pool', advantage: Number(goal[1]), goal: Number(goal[2]) })
  }
  return out
}

function isReport(value: unknown): value is BenchReport {
  const r = value as Partial<BenchReport> | undefined
  return typeof r === 'object' && r !== null && Array.isArray(r.comparisons) && Array.isArray(r.skipped)
}

function skippedPart(name: string, reason: string): BenchReport {
  console.log(`\n== ${name}: SKIPPED: ${reason} ==`)
  return { name, comparisons: [], skipped: [reason] }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]
}

function printSummary(reports: readonly BenchReport[]): void {
  const rows = [['part', 'workload', 'athanor vs', 'athanor advantage (>1 = better)']]
  const all: Comparison[] = []
  for (const report of reports) {
    for (const c of report.comparisons) {
      rows.push([report.name, c.workload, c.peer, formatAdvantage(c.advantage, c.goal)])
      all.push(c)
    }
  }
  console.log(`\n${'='.repeat(30)} SUMMARY ${'='.repeat(30)}${QUICK ? '  (BENCH_QUICK: indicative only)' : ''}`)
  if (rows.length > 1) printTable(rows)
  else console.log('no athanor figures were measured')
  const goals = all.filter((c) => c.goal !== undefined)
  const missed = goals.filter((c) => c.advantage < c.goal!)
  console.log(`\ngoals: ${goals.length - missed.length} of ${goals.length} met`)
  for (const c of missed) console.log(`  MISSED: ${c.workload} vs ${c.peer}: ${formatAdvantage(c.advantage, c.goal)}`)
  const skipped = reports.flatMap((r) => r.skipped)
  if (skipped.length > 0) {
    console.log('\nskipped:')
    for (const reason of skipped) console.log(`  - ${reason}`)
  }
}

const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim())
const reports: BenchReport[] = []
let failed = false
for (const part of PARTS) {
  if (only && !only.includes(part.name)) continue
  try {
    reports.push(await part.run())
  } catch (error) {
    failed = true
    console.error(`\n== ${part.name}: FAILED ==\n`, error)
    reports.push({ name: part.name, comparisons: [], skipped: [`${part.name}: failed: ${firstLine(error)}`] })
  }
}
printSummary(reports)
// Drivers and ORMs can leave timers behind; the benchmark is over.
process.exit(failed ? 1 : 0)
