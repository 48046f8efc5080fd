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
  const result = await fn()
  return isReport(result) ? result : { name, comparisons: [], skipped: [`${name}: ran, but returned no comparisons for the summary (see its output above)`] }
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
