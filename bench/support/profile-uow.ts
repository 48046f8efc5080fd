/**
 * Runs one library's unit-of-work steps in a loop, for a CPU profile of that
 * library alone (the full benchmark mixes four).
 *
 * ```sh
 * node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/support/profile-uow.ts athanor 5 update,load,delete
 * npx tsx bench/support/cpuprofile-top.ts /tmp/prof/*.cpuprofile
 * # allocations by function, garbage included (what the collector has to clean up):
 * HEAP_PROFILE=/tmp/athanor.heapprofile npx tsx bench/support/profile-uow.ts athanor 3
 * npx tsx bench/support/cpuprofile-top.ts /tmp/athanor.heapprofile
 * ```
 */
import { writeFileSync } from 'node:fs'
import { Session as InspectorSession } from 'node:inspector/promises'
import pg from 'pg'
import { withPgBenchLock } from './bench-lock.js'
import { pgConfig, pgReachable } from './config.js'
import { authorsToCreate, type AuthorInput, type UowContender } from './uow-workload.js'
import { isMain } from './main.js'

/** Runs reset + insert, then the chosen `steps` (update, load, delete), `runs` times on the named contender. */
export async function profileUow(name: string, runs: number, steps: readonly string[]): Promise<void> {
  const c: UowContender =
    name === 'kysely'
      ? (await import('./uow-kysely.js')).kyselyContender()
      : name === 'mikroorm'
        ? await (await import('./uow-mikroorm.js')).mikroOrmContender()
        : name === 'typeorm'
          ? await (await import('./uow-typeorm.js')).typeOrmContender()
          : (await import('./uow-athanor.js')).athanorContender()
  const input = authorsToCreate()
  // Same tables as bench/uow.ts: hold its lock so a concurrent run cannot drop them mid-step.
  const admin = new pg.Client(pgConfig)
  await admin.connect()
  try {
    await withPgBenchLock(admin, 'uow', () => runSteps(c, input, runs, steps))
  } finally {
    await admin.end()
  }
}

async function runSteps(c: UowContender, input: readonly AuthorInput[], runs: number, steps: readonly string[]): Promise<void> {
  try {
    for (let i = 0; i < runs; i++) {
      await c.reset()
      const t0 = performance.now()
      await c.insert(input)
      const t1 = performance.now()
      if (steps.includes('update')) await c.update()
      const t2 = performance.now()
      if (steps.includes('load')) await (await c.load()).release()
      const t3 = performance.now()
      if (steps.includes('delete')) await c.remove()
      const t4 = performance.now()
      console.log(`${c.name}: insert ${(t1 - t0).toFixed(0)} update ${(t2 - t1).toFixed(0)} load ${(t3 - t2).toFixed(0)} delete ${(t4 - t3).toFixed(0)} ms`)
    }
  } finally {
    await c.close()
  }
}

/** Samples every allocation (also those collected since) while `fn` runs, and writes the profile to `file`. */
async function withHeapSampling(file: string | undefined, fn: () => Promise<void>): Promise<void> {
  if (!file) return fn()
  const inspector = new InspectorSession()
  inspector.connect()
  await inspector.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  } as object)
  try {
    await fn()
  } finally {
    const { profile } = await inspector.post('HeapProfiler.stopSampling')
    writeFileSync(file, JSON.stringify(profile))
    inspector.disconnect()
  }
}

if (isMain(import.meta.url)) {
  if (!(await pgReachable())) throw new Error('PostgreSQL is not reachable')
  await withHeapSampling(process.env.HEAP_PROFILE, () => profileUow(process.argv[2] ?? 'athanor', Number(process.argv[3] ?? 5), (process.argv[4] ?? 'update,load,delete').split(',')))
}
