/**
 * Heap measurement with a forced garbage collection, without needing
 * `node --expose-gc` on the command line (`npm run bench` runs plain tsx).
 *
 * ```ts
 * const bytes = await retainedBytes(async () => loadEverything())
 * ```
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

setFlagsFromString('--expose-gc')
const gc = (globalThis.gc ?? runInNewContext('gc')) as () => void

/**
 * Collects garbage until the heap stops shrinking (at most a few passes) and
 * returns the heap bytes in use.
 *
 * ```ts
 * const before = collectGarbage()
 * ```
 */
export function collectGarbage(): number {
  let used = Number.POSITIVE_INFINITY
  for (let i = 0; i < 4; i++) {
    gc()
    const now = process.memoryUsage().heapUsed
    if (now >= used - 1024) return now
    used = now
  }
  return used
}

/**
 * Heap bytes still in use after `fn`'s result is built, while the result is
 * held: what keeping it costs. `release` runs afterwards.
 *
 * ```ts
 * const { bytes, value } = await retainedBytes(() => c.load())
 * ```
 */
export async function retainedBytes<T>(fn: () => Promise<T>): Promise<{ readonly bytes: number; readonly value: T }> {
  const before = collectGarbage()
  const value = await fn()
  const after = collectGarbage()
  return { bytes: after - before, value }
}
