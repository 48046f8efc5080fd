/**
 * How hard and how long {@link throughput} drives a call.
 *
 * ```ts
 * const options: ThroughputOptions = { concurrency: 32, durationMs: 2000 }
 * ```
 */
export interface ThroughputOptions {
  /** Callers running at once, each awaiting its call before the next. */
  readonly concurrency: number
  readonly durationMs: number
}

/**
 * Closed-loop throughput: N callers each await one call after another until
 * the time is up (what a web server's request handlers do to a pool).
 * Returns completed calls per second, and this process's CPU time per call
 * (the client's own cost, which moves less than throughput on a busy
 * machine); a failed call fails the measurement.
 *
 * ```ts
 * const { perSecond } = await throughput(() => pool.query('SELECT 1'), { concurrency: 32, durationMs: 2000 })
 * ```
 */
export async function throughput(call: () => Promise<unknown>, options: ThroughputOptions): Promise<ThroughputResult> {
  let done = 0
  const cpu = process.cpuUsage()
  const start = performance.now()
  const deadline = start + options.durationMs
  const caller = async () => {
    while (performance.now() < deadline) {
      await call()
      done++
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, caller))
  const elapsed = performance.now() - start
  const used = process.cpuUsage(cpu)
  return { perSecond: (done * 1000) / elapsed, cpuUsPerCall: (used.user + used.system) / Math.max(1, done) }
}

/** What {@link throughput} measured: `{ perSecond: 25_000, cpuUsPerCall: 38 }`. */
export interface ThroughputResult {
  readonly perSecond: number
  /** Client process CPU microseconds (user + system, all threads) per completed call. */
  readonly cpuUsPerCall: number
}

/**
 * One library under test: `open()` builds its pool (outside the timed window),
 * the returned runner makes one call, and `close()` ends the pool.
 *
 * ```ts
 * const pgPool: Contender = {
 *   name: 'pg.Pool',
 *   async open() {
 *     const pool = new pg.Pool({ max: 10 })
 *     return { call: () => pool.query('SELECT 1'), close: () => pool.end() }
 *   },
 * }
 * ```
 */
export interface Contender {
  readonly name: string
  open(): Promise<Runner>
}

/** An opened contender: one call, and how to close its pool. */
export interface Runner {
  readonly call: () => Promise<unknown>
  close(): Promise<void>
}

/** {@link interleavedRounds}' settings: `{ rounds: 5, durationMs: 2000, warmupMs: 300, concurrency: 32 }`. */
export interface RoundsOptions extends ThroughputOptions {
  readonly rounds: number
  /** Untimed calls before each timed window, to fill the pool and warm the JIT. */
  readonly warmupMs: number
  /** An untimed turn for every contender before the first round. Default `warmupMs`. */
  readonly firstWarmupMs?: number
  /** Called after each contender's window, e.g. to print progress. */
  readonly onResult?: (round: number, name: string, result: ThroughputResult) => void
}

/**
 * Runs every contender once per round, in an order rotated each round so no
 * library always goes first, and returns each one's per-round figures.
 * Each contender's pool is opened and closed around its own window, so only
 * one library holds server connections at a time.
 *
 * ```ts
 * const results = await interleavedRounds([pgPool, kysely], { rounds: 5, durationMs: 2000, warmupMs: 300, concurrency: 32 })
 * median(results.get('pg.Pool')!.map((r) => r.perSecond))
 * ```
 */
export async function interleavedRounds(
  contenders: readonly Contender[],
  options: RoundsOptions,
): Promise<Map<string, ThroughputResult[]>> {
  const results = new Map<string, ThroughputResult[]>(contenders.map((c) => [c.name, []]))
  // An untimed turn each first: the optimizing JIT needs more than one short warm-up to settle.
  for (const contender of contenders) {
    const runner = await contender.open()
    try {
      await throughput(runner.call, { concurrency: options.concurrency, durationMs: options.firstWarmupMs ?? options.warmupMs })
    } finally {
      await runner.close()
    }
  }
  for (let round = 0; round < options.rounds; round++) {
    for (let i = 0; i < contenders.length; i++) {
      const contender = contenders[(i + round) % contenders.length]
      const runner = await contender.open()
      try {
        await throughput(runner.call, { concurrency: options.concurrency, durationMs: options.warmupMs })
        const result = await throughput(runner.call, options)
        results.get(contender.name)!.push(result)
        options.onResult?.(round, contender.name, result)
      } finally {
        await runner.close()
      }
    }
  }
  return results
}
