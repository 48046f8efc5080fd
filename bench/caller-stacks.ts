/**
 * What giving errors the caller's frames costs per statement: `SELECT 1`
 * through `engine.db` on PostgreSQL, CPU µs per statement (this process:
 * user + system), as shipped (errors always get the caller's frames); then
 * the wrapper that gives them alone, on an already-settled promise (no I/O),
 * against a bare await: its cost, which the round trip's noise would hide.
 * Run alone: `npx tsx bench/caller-stacks.ts`.
 */
import { sql } from 'kysely'
import { createEngine } from '../src/index.js'
import { withCallerStack } from '../src/engine/caller-stack.js'

const URL = process.env.PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/test'
const STATEMENTS = Number(process.env.STATEMENTS ?? 20_000)
const ROUNDS = Number(process.env.ROUNDS ?? 5)
/** Statements in flight at once (a server's request handlers). */
const CONCURRENCY = 8

async function cpuPerStatement(): Promise<number> {
  const engine = createEngine<Record<string, never>>(URL, { poolSize: CONCURRENCY })
  const query = sql<{ one: number }>`SELECT 1 AS one`
  const worker = async (n: number) => {
    for (let i = 0; i < n; i++) await query.execute(engine.db)
  }
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, () => worker(500)))
    const start = process.cpuUsage()
    await Promise.all(Array.from({ length: CONCURRENCY }, () => worker(STATEMENTS / CONCURRENCY)))
    const used = process.cpuUsage(start)
    return (used.user + used.system) / STATEMENTS
  } finally {
    await engine.dispose()
  }
}

const shipped: number[] = []
for (let round = 0; round < ROUNDS; round++) shipped.push(await cpuPerStatement())
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const fmt = (xs: number[]) => `median ${median(xs).toFixed(2)} µs (rounds: ${xs.map((x) => x.toFixed(2)).join(', ')})`
console.log(`SELECT 1 through engine.db on PostgreSQL, CPU per statement, ${STATEMENTS} statements x ${ROUNDS} rounds`)
console.log(`  engine.db            ${fmt(shipped)}`)

/** The wrapper alone: awaiting a settled promise through it or not, ns per statement. */
async function wrapperNs(wrapped: boolean, n: number): Promise<number> {
  const value = { rows: [] }
  const start = process.cpuUsage()
  for (let i = 0; i < n; i++) {
    const pending = Promise.resolve(value)
    await (wrapped ? withCallerStack(pending) : pending)
  }
  const used = process.cpuUsage(start)
  return ((used.user + used.system) * 1000) / n
}
const bare: number[] = []
const wrapped: number[] = []
for (let round = 0; round < ROUNDS * 2; round++) {
  bare.push(await wrapperNs(false, 1_000_000))
  wrapped.push(await wrapperNs(true, 1_000_000))
}
console.log(`The wrapper alone (settled promise, no I/O), CPU ns per statement:`)
console.log(`  bare await           median ${median(bare).toFixed(0)} ns`)
console.log(`  withCallerStack      median ${median(wrapped).toFixed(0)} ns`)
console.log(`  cost of the wrapper  ${(median(wrapped) - median(bare)).toFixed(0)} ns per statement`)
console.log(`  share of a statement ${(((median(wrapped) - median(bare)) / 1000 / median(shipped)) * 100).toFixed(2)} %`)
