/** What a waiter is handed: the connection itself (the engine), a stand-in (`acquire()`), or a handle (`checkout()`). */
export const enum Want {
  Direct = 0,
  StandIn = 1,
  Handle = 2,
}

/**
 * A caller waiting for a connection. The queue is FIFO and every waiter has
 * the same `poolTimeout`, so queue order is deadline order and one timer,
 * armed for the head's deadline, serves the whole queue.
 *
 * A waiter may be queued unstamped (`start` -1, `deadline` Infinity) and
 * stamped at the pool's next clock read, which is never before it was queued:
 * its deadline can only come late, by microseconds under load, never early.
 *
 * ```ts
 * const w = new Waiter(30_000, Want.StandIn)
 * w.stamp(performance.now())
 * ```
 */
export class Waiter {
  /** Receives a `C` or a `PooledConnection<C>`, as `want` says. */
  resolve: (value: unknown) => void = noop
  reject: (error: unknown) => void = noop
  readonly want: Want
  readonly timeout: number
  /** `performance.now()` at (or just after) the start of the checkout; -1 until stamped. */
  start = -1
  deadline = Infinity
  /** Why the last attempt to serve this waiter failed (a failed pre-ping), for its timeout error. */
  lastError: unknown = undefined
  /** Where the checkout was asked for (leak detection only). */
  stack: string | undefined = undefined

  constructor(timeout: number, want: Want) {
    this.timeout = timeout
    this.want = want
  }

  stamp(t: number): void {
    this.start = t
    this.deadline = t + this.timeout
  }
}

function noop(): void {}
