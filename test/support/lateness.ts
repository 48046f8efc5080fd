/**
 * How late this process's event loop runs timers, measured over the same
 * window as a timing assertion, so the assertion can allow for a busy
 * scheduler explicitly and still fail when the library itself is slow.
 *
 * A library timer (poolTimeout, connectTimeout, a dispose deadline) fires
 * late by however long the loop was stalled around its due time: by another
 * callback, GC, or the OS running other processes on a loaded machine. The
 * probe arms a short timer again and again across the window and records
 * how late each one fired. A stall that delays a library timer delays the
 * probe too; at worst it started just after a probe tick, so
 * `maxMs + intervalMs` bounds how late any one timer in the window can be.
 *
 * ```ts
 * const loop = probeLateness()
 * const t0 = now(); await expect(engine.connect()).rejects.toThrow(PoolTimeoutError); const ms = now() - t0
 * const lateness = loop.stop()
 * expect(ms).toBeLessThanOrEqual(TIMEOUT + SLACK + lateness.allowanceMs)
 * ```
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'

/** What a {@link LatenessProbe} saw over its window. */
export interface Lateness {
  /** The largest lateness of one probe timer (or of Node's own delay monitor), ms. */
  readonly maxMs: number
  /** How many probe timers fired in the window. */
  readonly ticks: number
  /** The window's length, ms. */
  readonly windowMs: number
  /**
   * What one timer due in the window may have been delayed by the loop alone:
   * `maxMs + intervalMs`. Add it (times the number of timers the measured
   * path waits on one after another) to a time bound.
   */
  readonly allowanceMs: number
}

/** A running probe: read it at any time, stop it at the end of the window. */
export interface LatenessProbe {
  /** The figures so far (the probe keeps running). */
  read(): Lateness
  /** Stops the probe and returns the window's figures. */
  stop(): Lateness
}

/**
 * Starts sampling the event loop's lateness every `intervalMs` (default 5).
 * The probe never keeps the process alive (its timer is unref'd).
 *
 * ```ts
 * const loop = probeLateness()
 * // ... the measured window ...
 * const { allowanceMs } = loop.stop()
 * ```
 */
export function probeLateness(intervalMs = 5): LatenessProbe {
  const start = performance.now()
  let maxMs = 0
  let ticks = 0
  let stopped = false
  let end = 0
  let timer: NodeJS.Timeout | undefined
  let due = start + intervalMs
  // Node's own monitor samples from libuv; the probe samples a JS setTimeout,
  // which is what the library's timers are. The larger of the two is kept.
  const monitor = monitorEventLoopDelay({ resolution: Math.max(1, Math.floor(intervalMs)) })
  monitor.enable()

  const arm = (): void => {
    due = performance.now() + intervalMs
    timer = setTimeout(() => {
      ticks++
      maxMs = Math.max(maxMs, performance.now() - due)
      if (!stopped) arm()
    }, intervalMs)
    timer.unref()
  }
  arm()

  const figures = (): Lateness => {
    // The pending tick may be late already (the stall that delayed the measured
    // timer can end just before this read): count it up to now.
    const pendingMs = stopped ? 0 : performance.now() - due
    const monitorMs = monitor.count > 0 ? monitor.max / 1e6 - Math.max(1, Math.floor(intervalMs)) : 0
    const m = Math.max(0, maxMs, pendingMs, monitorMs)
    return { maxMs: m, ticks, windowMs: (stopped ? end : performance.now()) - start, allowanceMs: m + intervalMs }
  }
  return {
    read: figures,
    stop() {
      if (!stopped) {
        end = performance.now()
        maxMs = Math.max(maxMs, end - due)
        stopped = true
        clearTimeout(timer)
        monitor.disable()
      }
      return figures()
    },
  }
}
