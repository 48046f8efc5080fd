/**
 * What a benchmark hands to `bench/run.ts` for the closing summary.
 *
 * Every comparison is stated as athanor's *advantage* over one peer measured
 * in the same run: `> 1` means athanor did better (more queries per second,
 * less time, less memory), `< 1` worse. A goal is the least advantage the
 * issue asks for (e.g. 0.97 for "at least 0.97x raw pg.Pool").
 *
 * ```ts
 * const c: Comparison = { workload: 'SELECT 1 (pg)', peer: 'pg.Pool', advantage: 1.02, goal: 0.97 }
 * ```
 */
export interface Comparison {
  /** What was measured, e.g. `'SELECT 1 on PostgreSQL'`. */
  readonly workload: string
  /** Whom athanor is compared with, e.g. `'raw pg.Pool'`. */
  readonly peer: string
  /** athanor's figure relative to the peer's; higher is better for athanor. */
  readonly advantage: number
  /** The least `advantage` the issue asks for, when it sets one. */
  readonly goal?: number
}

/**
 * One benchmark's outcome: its comparisons, and what it could not measure.
 *
 * ```ts
 * const r: BenchReport = { name: 'engine', comparisons: [], skipped: ['MariaDB: not reachable'] }
 * ```
 */
export interface BenchReport {
  readonly name: string
  readonly comparisons: readonly Comparison[]
  /** Parts left out, each with the reason. */
  readonly skipped: readonly string[]
}

/**
 * athanor's advantage for a figure where more is better (throughput).
 *
 * ```ts
 * higherIsBetter(27_000, 25_000) // 1.08
 * ```
 */
export function higherIsBetter(athanor: number, peer: number): number {
  return athanor / peer
}

/**
 * athanor's advantage for a figure where less is better (time, memory).
 *
 * ```ts
 * lowerIsBetter(90, 100) // 1.11
 * ```
 */
export function lowerIsBetter(athanor: number, peer: number): number {
  return peer / athanor
}

/**
 * `'1.02x'`, or `'1.02x (goal >= 0.97x: met)'` when a goal is given.
 *
 * ```ts
 * formatAdvantage(0.95, 0.97) // '0.95x (goal >= 0.97x: MISSED)'
 * ```
 */
export function formatAdvantage(advantage: number, goal?: number): string {
  // A third decimal when two would round across the goal (0.897 is not "0.90: MISSED").
  const close = goal !== undefined && Math.abs(advantage - goal) < 0.005
  const x = `${advantage.toFixed(close ? 3 : 2)}x`
  if (goal === undefined) return x
  return `${x} (goal >= ${goal}x: ${advantage >= goal ? 'met' : 'MISSED'})`
}
