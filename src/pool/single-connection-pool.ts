import { type CheckoutContext, enterCheckoutContext } from './checkout-context.js'
import type { ConnectionRecord } from './connection-record.js'
import { SameContextCheckoutError } from './errors.js'
import { QueuePool } from './queue-pool.js'
import { PoolOptionError } from './errors.js'
import type { InvalidateOptions, PoolDriver, PoolOptions, PoolResize } from './types.js'

/**
 * One real connection, handed to one caller at a time; the others wait in a
 * FIFO queue for at most `poolTimeout` (poolClass `'single'`). In-memory
 * databases use it: their data lives in that one connection, so it is never
 * recycled, idled out or replaced on use count, and two transactions never
 * interleave on it.
 *
 * An engine's checkout that could only be served after the caller itself
 * moves on (the holder's async context encloses the caller's: a test that
 * opens a second session before closing the first) fails at once with
 * {@link SameContextCheckoutError}, naming where the holder was called from,
 * instead of waiting `poolTimeout`. Callers from other contexts queue.
 * (`acquire()` and `checkout()`, the pool's own API, queue as any pool does:
 * code using the pool directly may well start a checkout it awaits only after
 * releasing the first.)
 *
 * ```ts
 * const pool = new SingleConnectionPool(sqliteDriver, { poolTimeout: 5_000 })
 * const a = await pool.acquire()
 * const b = pool.acquire() // waits until `a` is released
 * ```
 */
export class SingleConnectionPool<C> extends QueuePool<C> {
  /** The async context that holds the connection (the user's call that led to its checkout). */
  private holder: CheckoutContext | undefined = undefined

  constructor(driver: PoolDriver<C>, options: PoolOptions = {}) {
    super(driver, {
      ...options,
      poolSize: 1,
      maxOverflow: 0,
      poolRecycle: -1,
      poolRecycleJitter: undefined,
      idleTimeout: -1,
      maxUses: -1,
      minIdle: Math.min(options.minIdle ?? 0, 1),
    })
  }

  /** One connection is the point of this pool: it has no size to change. */
  override resize(sizes: PoolResize): void {
    throw new PoolOptionError(`${this.label()} cannot resize: it holds one connection by design; only QueuePool (poolClass 'queue') has a size to change`, 'resize', sizes)
  }

  /** @internal */
  override acquireDirect(): Promise<C> {
    // A disposed pool says so, whoever holds what.
    if (this.disposed) return super.acquireDirect()
    const who = this.claim(this.acquireDirect)
    return who instanceof Error ? Promise.reject(who) : this.hold(super.acquireDirect(), who)
  }

  /** The caller's context (the would-be holder), or the error when waiting would deadlock. */
  private claim(caller: Function): CheckoutContext | SameContextCheckoutError {
    const context = enterCheckoutContext()
    const held = this.holder
    if (held !== undefined && held.encloses(context)) return this.deadlock(held, caller)
    context.checkingOut(caller)
    return context
  }

  private deadlock(held: CheckoutContext, caller: Function): SameContextCheckoutError {
    const stack = held.stack
    const error = new SameContextCheckoutError(
      `${this.label()}: this checkout would wait for the pool's only connection, held by code this caller runs after ` +
        '(an in-memory database has one connection: close the first Session or Connection before opening another, ' +
        `or run them from separate tasks). The holder checked it out at:\n${stack}`,
      stack,
    )
    Error.captureStackTrace(error, caller)
    return error
  }

  private hold<T>(p: Promise<T>, who: CheckoutContext): Promise<T> {
    return p.then((c) => {
      this.holder = who
      return c
    })
  }

  /** @internal */
  override releaseDirect(connection: C): Promise<void> {
    // After the release: a stale one throws, and the holder keeps its claim.
    const done = super.releaseDirect(connection)
    this.holder = undefined
    return done
  }

  /** @internal */
  override releaseRecord(rec: ConnectionRecord<C>, checkoutId: number): void {
    super.releaseRecord(rec, checkoutId)
    this.holder = undefined
  }

  /** @internal */
  override invalidateDirect(connection: C, error?: unknown, options?: InvalidateOptions): void {
    if (options?.soft !== true) this.holder = undefined
    super.invalidateDirect(connection, error, options)
  }

  /** @internal */
  override invalidateCheckout(rec: ConnectionRecord<C>, checkoutId: number, error: unknown, soft: boolean): void {
    if (!soft) this.holder = undefined
    super.invalidateCheckout(rec, checkoutId, error, soft)
  }
}
