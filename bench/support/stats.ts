/**
 * Small statistics for benchmark rounds.
 *
 * ```ts
 * median([3, 1, 2]) // 2
 * ```
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/**
 * Lowest and highest of a list, for showing the spread beside a median.
 *
 * ```ts
 * range([3, 1, 2]) // [1, 3]
 * ```
 */
export function range(values: readonly number[]): readonly [number, number] {
  return [Math.min(...values), Math.max(...values)]
}

/**
 * Milliseconds `fn` took, measured with `performance.now()`.
 *
 * ```ts
 * const ms = await timeMs(() => db.selectFrom('book').selectAll().execute())
 * ```
 */
export async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now()
  await fn()
  return performance.now() - start
}

/** Wall-clock and CPU milliseconds of one call. */
export interface Timing {
  readonly wallMs: number
  /** User + system CPU time of the whole process (all threads: JS, GC, I/O). */
  readonly cpuMs: number
}

/**
 * Wall-clock and process CPU time `fn` took. CPU time is what the library
 * itself cost, and moves less than wall time on a busy machine.
 *
 * ```ts
 * const { wallMs, cpuMs } = await timeWallAndCpu(() => session.commit())
 * ```
 */
export async function timeWallAndCpu(fn: () => Promise<unknown>): Promise<Timing> {
  const cpu = process.cpuUsage()
  const start = performance.now()
  await fn()
  const wallMs = performance.now() - start
  const used = process.cpuUsage(cpu)
  return { wallMs, cpuMs: (used.user + used.system) / 1000 }
}
