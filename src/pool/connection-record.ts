/**
 * Where a connection record is in its life. `Returning` covers the reset on
 * return: the connection is neither idle nor held, and nobody may have it.
 */
export const enum RecordState {
  Idle = 0,
  Out = 1,
  Returning = 2,
  Closed = 3,
}

/**
 * The pool's bookkeeping for one open connection, alive as long as the
 * connection is (SQLAlchemy's `_ConnectionRecord`). Internal: users see a
 * {@link PooledConnection} per checkout instead.
 *
 * ```ts
 * const rec = new ConnectionRecord(conn, 1, performance.now(), 3_600_000 - jitter)
 * rec.expired(performance.now()) // false for an hour
 * ```
 */
export class ConnectionRecord<C> {
  state: RecordState = RecordState.Idle
  /** Times checked out. */
  uses = 0
  /** Soft-invalidated: close on return, do not hand out again. */
  soft = false
  /** A closed record still held by a caller: its release only forgets it. */
  closedWhileOut = false
  /** `performance.now()` when last checked in (kept only when idleTimeout is on). */
  idleSince = 0
  /** Increments per checkout, so a stale {@link PooledConnection} cannot release a later checkout. */
  checkoutId = 0
  /** `performance.now()` at checkout and the checkout's stack (leak detection only). */
  checkoutAt = 0
  stack: string | undefined = undefined
  leakTimer: ReturnType<typeof setTimeout> | undefined = undefined
  /** When the connection was opened, `Date.now()` ms. */
  readonly openedAt = Date.now()
  private infoMap: Map<string, unknown> | undefined = undefined
  /** The connection's methods bound to it, for the stand-ins `acquire()` hands out. */
  private boundMethods: Map<PropertyKey, BoundMethod> | undefined = undefined

  constructor(
    readonly connection: C,
    /** Opening order; records with `seq` below the pool's stale mark are stale. */
    readonly seq: number,
    /** `performance.now()` when opened. */
    readonly openedMono: number,
    /** `performance.now()` after which the connection is recycled at checkout; Infinity for never. */
    readonly recycleAt: number,
  ) {}

  /** Per-connection storage (SQLAlchemy's `.info`), created on first use. */
  get info(): Map<string, unknown> {
    return (this.infoMap ??= new Map())
  }

  expired(now: number): boolean {
    return now >= this.recycleAt
  }

  /**
   * `method` bound to the connection, made once per method: a stand-in's
   * `c.query === c.query` holds, and a call costs no allocation. A frozen
   * property must be answered as is (a Proxy invariant).
   */
  bound(target: object, key: PropertyKey, method: AnyFunction): AnyFunction {
    const cache = (this.boundMethods ??= new Map())
    const hit = cache.get(key)
    if (hit !== undefined && hit.method === method) return hit.bound
    const own = Object.getOwnPropertyDescriptor(target, key)
    const frozen = own !== undefined && own.configurable === false && own.writable === false
    const bound = frozen ? method : method.bind(target)
    cache.set(key, { method, bound })
    return bound
  }
}

type AnyFunction = (...args: unknown[]) => unknown

interface BoundMethod {
  readonly method: AnyFunction
  readonly bound: AnyFunction
}
