/**
 * Small helpers the reliability scenarios share: catching process-level
 * failures, timing, and the one-line figures each scenario prints.
 *
 * ```ts
 * const crashes = watchProcessFailures()
 * // ... the scenario ...
 * expect(crashes.stop()).toEqual([])
 * report('restart', { outageErrors: 12, recoveryMs: 140 })
 * ```
 */
import { ConnectTimeoutError, PoolConnectError } from '../../src/pool/index.js'

/** What {@link watchProcessFailures} saw so far. */
export interface ProcessFailureWatch {
  readonly failures: readonly string[]
  /** Stops watching and returns what was seen. */
  stop(): string[]
}

/**
 * Records every `unhandledRejection` and `uncaughtException` from now on.
 * A scenario asserts the list is empty: a dropped connection must never
 * surface outside the promise of whoever used it.
 *
 * ```ts
 * const w = watchProcessFailures(); await storm(); expect(w.stop()).toEqual([])
 * ```
 */
export function watchProcessFailures(): ProcessFailureWatch {
  const failures: string[] = []
  const onRejection = (reason: unknown): void => {
    failures.push(`unhandledRejection: ${describeError(reason)}`)
  }
  const onException = (error: unknown): void => {
    failures.push(`uncaughtException: ${describeError(error)}`)
  }
  process.on('unhandledRejection', onRejection)
  process.on('uncaughtException', onException)
  return {
    failures,
    stop() {
      process.off('unhandledRejection', onRejection)
      process.off('uncaughtException', onException)
      return [...failures]
    },
  }
}

/**
 * `Name(code): message` for any thrown value, for assertion messages.
 *
 * ```ts
 * expect(e, describeError(e)).toBeInstanceOf(DisconnectError)
 * ```
 */
export function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code
    return `${e.constructor.name}${code !== undefined ? `(${String(code)})` : ''}: ${e.message}`
  }
  return `non-Error ${typeof e}: ${String(e)}`
}

/**
 * Resolves after `ms`.
 *
 * ```ts
 * await sleep(20)
 * ```
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/**
 * A monotonic clock in milliseconds (`performance.now()`).
 *
 * ```ts
 * const t0 = now(); await work(); const ms = now() - t0
 * ```
 */
export function now(): number {
  return performance.now()
}

/**
 * Prints one `RELIABILITY:` summary line: the figures the README quotes.
 *
 * ```ts
 * report('exhaustion', { callers: 1000, served: 120, maxLateMs: 3.2 })
 * // RELIABILITY: exhaustion callers=1000 served=120 maxLateMs=3.2
 * ```
 */
export function report(scenario: string, figures: Record<string, number | string | boolean>): void {
  const parts = Object.entries(figures).map(([k, v]) => `${k}=${typeof v === 'number' ? round(v) : v}`)
  console.log(`RELIABILITY: ${scenario} ${parts.join(' ')}`)
}

function round(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1)
}

/**
 * Counts values by a key, for error-kind summaries.
 *
 * ```ts
 * countBy(errors, (e) => e.code) // { DB_DISCONNECT: 12, POOL_CONNECT: 3 }
 * ```
 */
export function countBy<T>(items: readonly T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const it of items) out[key(it)] = (out[key(it)] ?? 0) + 1
  return out
}

/**
 * A URL with `application_name` (PostgreSQL) added to its query, so
 * `terminatePg` and `pgBackends` find this scenario's sessions and no other.
 *
 * ```ts
 * withAppName(PG_URL, 'kill_storm') // postgresql://postgres@127.0.0.1:5432/test?application_name=kill_storm
 * ```
 */
export function withAppName(url: string, applicationName: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}application_name=${encodeURIComponent(applicationName)}`
}

/**
 * `name` made unique to this test process, for table names, application
 * names and MariaDB users: two runs of the suite at once (a developer and CI
 * on one machine) must not drop each other's tables or kill each other's
 * sessions.
 *
 * ```ts
 * const APP = scoped('kill_storm_pg') // 'kill_storm_pg_48213'
 * ```
 */
export function scoped(name: string): string {
  return `${name}_${process.pid}`
}

/**
 * Resolves once `done()` is true, checking every `intervalMs`: a scenario's
 * next step waits for progress (N requests served, a fault seen), never for a
 * fixed time. Rejects after `timeoutMs` with `what` in the message: a
 * scenario that makes no progress fails instead of hanging.
 *
 * ```ts
 * await until(() => served >= 64, '64 requests served before the restart')
 * ```
 */
export async function until(done: () => boolean, what: string, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 20_000
  const deadline = now() + timeoutMs
  while (!done()) {
    if (now() > deadline) throw new Error(`no progress within ${timeoutMs} ms: waiting for ${what}`)
    await sleep(options.intervalMs ?? 5)
  }
}

/**
 * True for the error a checkout gets when opening a connection took longer
 * than its limit (`connectTimeout`, or `poolTimeout` while the open was still
 * under way): on a healthy network that is the machine being slow, not a fault.
 *
 * ```ts
 * if (isSlowOpen(e)) retry()
 * ```
 */
export function isSlowOpen(e: unknown): boolean {
  return e instanceof PoolConnectError && e.cause instanceof ConnectTimeoutError
}

/**
 * Runs `fn`, again after a slow open ({@link isSlowOpen}) up to `attempts`
 * times in all; any other error is thrown at once. For the set-up steps of a
 * scenario that need working connections on a healthy network: an open that
 * outlives a short `poolTimeout` on a loaded machine still lands in the pool,
 * and the next attempt gets it.
 *
 * ```ts
 * const conn = await retrySlowOpen(() => engine.connect())
 * ```
 */
export async function retrySlowOpen<T>(fn: () => Promise<T>, attempts = 20): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn()
    } catch (e) {
      if (i >= attempts || !isSlowOpen(e)) throw e
    }
  }
}

/**
 * Opens `n` connections on `engine` (a slow open is retried, see
 * {@link retrySlowOpen}) and returns them to the pool: set-up for a scenario
 * whose own short `poolTimeout` is about waiting for a busy pool, not about
 * how long this machine takes to open a connection.
 *
 * ```ts
 * await warm(engine, POOL_SIZE) // then assert on checkouts served from the pool
 * ```
 */
export async function warm(engine: { connect(): Promise<{ close(): Promise<void> }> }, n: number): Promise<void> {
  const conns = await Promise.all(Array.from({ length: n }, () => retrySlowOpen(() => engine.connect())))
  for (const c of conns) await c.close()
}
