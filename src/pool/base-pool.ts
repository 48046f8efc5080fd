import type { ConnectionRecord } from './connection-record.js'
import {
  ConnectTimeoutError,
  PoolCloseError,
  PoolConnectError,
  PoolOptionError,
  PoolReleaseError,
  PoolTimeoutError,
  describeError,
} from './errors.js'
import { PoolEvents } from './events.js'
import { resolvePoolOptions } from './options.js'
import { handleOf, isObject, type CheckoutHandle, type RecordOwner } from './pooled-connection.js'
import type {
  DisposeOptions,
  InvalidateOptions,
  Pool,
  PoolDriver,
  PoolEventMap,
  PoolEventName,
  PooledConnection,
  PoolOptions,
  PoolResize,
  PoolStats,
  ResolvedPoolOptions,
} from './types.js'

/**
 * What every pool class shares: resolved options, the driver, events, the
 * public `release`/`invalidate` of the stand-ins `acquire()` hands out, and
 * the careful wrappers around the driver's `open` (with `connectTimeout`,
 * and retries while the server says it is full) and `close` (never throws).
 * Subclasses own the checkout logic.
 *
 * ```ts
 * class MyPool<C> extends BasePool<C> { ... }
 * ```
 */
export abstract class BasePool<C> implements Pool<C>, RecordOwner<C> {
  readonly options: ResolvedPoolOptions
  /** @internal */
  readonly events = new PoolEvents<C>()
  protected readonly driver: PoolDriver<C>
  protected givenOptions: PoolOptions
  protected disposed = false
  /** Closes in flight, awaited by `dispose()`. */
  private readonly closing = new Set<Promise<void>>()
  // The counters `stats()` reports; each pool class keeps them up to date.
  protected created = 0
  protected closedCount = 0
  protected invalidatedCount = 0
  protected connectErrors = 0
  protected acquires = 0

  constructor(driver: PoolDriver<C>, options: PoolOptions = {}) {
    if (driver === null || typeof driver !== 'object' || typeof driver.open !== 'function' || typeof driver.close !== 'function') {
      throw new PoolOptionError('invalid pool driver: expected an object with open() and close() functions', 'driver', driver)
    }
    this.options = resolvePoolOptions(options)
    this.driver = driver
    this.givenOptions = options
  }

  abstract acquire(): Promise<C>
  abstract checkout(): Promise<PooledConnection<C>>
  /**
   * @internal The engine's checkout: the connection itself, with no stand-in
   * (the engine keeps track of its own checkouts). Give it back with
   * {@link releaseDirect}.
   */
  abstract acquireDirect(): Promise<C>
  /**
   * @internal Returns a connection from {@link acquireDirect}. Throws
   * {@link PoolReleaseError} at once for a connection that is not checked
   * out; the promise resolves when the connection is back in the pool (its
   * reset done), so `checkedOut()` no longer counts it.
   */
  abstract releaseDirect(connection: C): Promise<void>
  /** @internal Invalidates a connection from {@link acquireDirect}. */
  abstract invalidateDirect(connection: C, error?: unknown, options?: InvalidateOptions): void
  /** @internal A handle's release. */
  abstract releaseRecord(record: ConnectionRecord<C>, checkoutId: number): void
  /** @internal A handle's invalidation. */
  abstract invalidateCheckout(record: ConnectionRecord<C>, checkoutId: number, error: unknown, soft: boolean): void
  abstract invalidateAll(): void
  abstract status(): string
  abstract size(): number
  abstract checkedIn(): number
  abstract checkedOut(): number
  abstract overflow(): number
  abstract stats(): PoolStats
  abstract dispose(options?: DisposeOptions): Promise<void>

  /** Returns what `acquire()` gave; see {@link Pool.release}. */
  release(connection: C): void {
    const handle = handleOf<C>(connection)
    if (handle !== undefined && handle.owner === this && !handle.released) {
      handle.released = true
      this.releaseRecord(handle.record, handle.checkoutId)
    } else if (this.ownHandle(connection, 'release') === undefined) void this.releaseDirect(connection)
  }

  /** Invalidates what `acquire()` gave; see {@link Pool.invalidate}. */
  invalidate(connection: C, error?: unknown, options?: InvalidateOptions): void {
    const handle = this.ownHandle(connection, 'invalidate')
    if (handle === undefined) this.invalidateDirect(connection, error, options)
    else handle.invalidate(error, options)
  }

  /**
   * The live handle behind a stand-in of this pool; `undefined` for a
   * primitive connection (handed out as is). Anything else is refused.
   */
  private ownHandle(connection: C, what: string): CheckoutHandle<C> | undefined {
    const handle = handleOf<C>(connection)
    if (handle !== undefined && handle.owner === this && !handle.released) return handle
    if (handle === undefined && !isObject(connection)) return undefined
    throw new PoolReleaseError(
      `${this.label()}: ${what}() of ${
        handle === undefined
          ? 'an object this pool does not hold (a stranger, or the bare connection behind a checkout): pass what acquire() returned'
          : handle.owner !== this
            ? 'a connection checked out from another pool'
            : 'a checkout that was already released (released twice, or a stale reference kept from an earlier checkout)'
      }`,
    )
  }

  /** True once `dispose()` has been called. */
  get isDisposed(): boolean {
    return this.disposed
  }

  on<E extends PoolEventName>(event: E, listener: (...args: PoolEventMap<C>[E]) => void): this {
    this.events.on(event, listener)
    return this
  }

  off<E extends PoolEventName>(event: E, listener: (...args: PoolEventMap<C>[E]) => void): this {
    this.events.off(event, listener)
    return this
  }

  /** Only QueuePool resizes; see {@link Pool.resize}. */
  resize(sizes: PoolResize): void {
    void sizes
    throw new PoolOptionError(`${this.label()} cannot resize: only QueuePool (poolClass 'queue') has a size to change`, 'resize', sizes)
  }

  /**
   * Checks a resize and makes it the pool's options (and `recreate()`'s):
   * throws {@link PoolOptionError} for anything but integer `poolSize` and
   * `maxOverflow` that `resolvePoolOptions` would accept with the other options.
   */
  protected resizedOptions(sizes: PoolResize): ResolvedPoolOptions {
    if (sizes === null || typeof sizes !== 'object') {
      throw new PoolOptionError(`resize() takes { poolSize?, maxOverflow? }, got ${sizes === null ? 'null' : typeof sizes}`, 'resize', sizes)
    }
    const extra = Object.keys(sizes).find((k) => k !== 'poolSize' && k !== 'maxOverflow')
    if (extra !== undefined) {
      throw new PoolOptionError(`resize() changes poolSize and maxOverflow only, not "${extra}"`, extra, (sizes as Record<string, unknown>)[extra])
    }
    const given: PoolOptions = { ...this.givenOptions }
    if (sizes.poolSize !== undefined) (given as { poolSize?: number }).poolSize = sizes.poolSize
    if (sizes.maxOverflow !== undefined) (given as { maxOverflow?: number }).maxOverflow = sizes.maxOverflow
    const resolved = resolvePoolOptions(given)
    this.givenOptions = given
    // `options` is read-only to users; the pool itself replaces it whole.
    ;(this as { options: ResolvedPoolOptions }).options = resolved
    return resolved
  }

  /** A new pool of the same class, driver and options, with this pool's listeners. */
  recreate(): Pool<C> {
    const Ctor = this.constructor as new (driver: PoolDriver<C>, options: PoolOptions) => BasePool<C>
    const pool = new Ctor(this.driver, this.givenOptions)
    this.events.copyTo(pool.events)
    return pool
  }

  /** `stats()` for a pool that never queues callers nor times checkouts (NullPool, the one-connection pools). */
  protected unqueuedStats(open: number, idle: number, pending: number): PoolStats {
    return {
      open,
      idle,
      inUse: open - idle,
      waiting: 0,
      pending,
      created: this.created,
      closed: this.closedCount,
      invalidated: this.invalidatedCount,
      timeouts: 0,
      connectErrors: this.connectErrors,
      acquires: this.acquires,
      acquireTimeMean: 0,
      acquireTimeMax: 0,
    }
  }

  /** The pool's name for messages: `QueuePool` or `QueuePool "name"`. */
  protected label(): string {
    return this.options.name === '' ? this.constructor.name : `${this.constructor.name} "${this.options.name}"`
  }

  /**
   * Opens one connection within `connectTimeout`. Rejects with a
   * {@link PoolConnectError} carrying the driver's error (or a
   * {@link ConnectTimeoutError}); a connection that arrives too late is closed.
   */
  protected openConnection(): Promise<C> {
    return new Promise<C>((resolve, reject) => {
      let done = false
      const ms = this.options.connectTimeout
      const timer = setTimeout(() => {
        done = true
        reject(new PoolConnectError(`could not open a connection within connectTimeout ${ms} ms`, {
          cause: new ConnectTimeoutError(`open() did not finish within ${ms} ms`),
        }))
      }, ms)
      let opening: Promise<C>
      try {
        opening = Promise.resolve(this.driver.open())
      } catch (error) {
        opening = Promise.reject(error)
      }
      opening.then(
        (connection) => {
          if (done) return this.closeConnection(connection)
          done = true
          clearTimeout(timer)
          resolve(connection)
        },
        (error: unknown) => {
          if (done) return
          done = true
          clearTimeout(timer)
          reject(new PoolConnectError(`could not open a connection: ${describeError(error)}`, { cause: error }))
        },
      )
    })
  }

  /** Whether the driver calls this `open()` failure temporary: the server is at its connection limit. */
  protected isTemporary(error: unknown): boolean {
    const test = this.driver.isTemporaryOpenError
    if (test === undefined) return false
    try {
      return test.call(this.driver, error) === true
    } catch {
      return false
    }
  }

  /**
   * The error of a caller whose `poolTimeout` ran out while the server kept
   * refusing new connections for being full.
   */
  protected refusedError(cause: unknown, state: PoolTimeoutError['state']): PoolTimeoutError {
    return new PoolTimeoutError(
      `${this.label()} could not get a connection within poolTimeout ${state.timeout} ms: the database is at its connection limit ` +
        `and refused new connections (${describeError(cause)}); opens were retried and no connection was returned in time ` +
        `(checked out: ${state.checkedOut}, waiting: ${state.waiting})`,
      state,
      { cause },
    )
  }

  /**
   * Opens one connection for a pool that cannot wait for a returned one
   * (NullPool, the one-connection pools): an open the server refused as
   * temporary is retried, with the back-off, until `poolTimeout`.
   */
  protected async openPatiently(): Promise<C> {
    const o = this.options
    const deadline = performance.now() + o.poolTimeout
    let delay = o.connectBackoff
    for (;;) {
      try {
        return await this.openConnection()
      } catch (error) {
        const cause = error instanceof PoolConnectError ? error.cause : error
        if (!this.isTemporary(cause) || this.disposed) throw error
        const left = deadline - performance.now()
        if (left <= 0) {
          const state = { poolSize: o.poolSize, maxOverflow: o.maxOverflow, timeout: o.poolTimeout, checkedOut: this.checkedOut(), waiting: 0 }
          throw this.refusedError(cause, state)
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(delay, left)))
        delay = Math.min(Math.max(delay * 2, 1), o.connectBackoffMax)
      }
    }
  }

  /** Closes a connection; a failure goes to the `error` event, never to a caller. */
  protected closeConnection(connection: C): void {
    let result: Promise<void> | void
    try {
      result = this.driver.close(connection)
    } catch (error) {
      this.events.error(new PoolCloseError(`closing a connection failed: ${describeError(error)}`, { cause: error }))
      return
    }
    if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
      const p: Promise<void> = Promise.resolve(result).then(
        () => void this.closing.delete(p),
        (error: unknown) => {
          this.closing.delete(p)
          this.events.error(new PoolCloseError(`closing a connection failed: ${describeError(error)}`, { cause: error }))
        },
      )
      this.closing.add(p)
    }
  }

  /**
   * `dispose()`'s wait for the checked-out connections: resolves with
   * `drained`, or after `timeoutMs` (when given) once `force` has closed what
   * is still held.
   */
  protected async drainWithin(drained: Promise<void>, timeoutMs: number | undefined, force: () => void): Promise<void> {
    if (timeoutMs === undefined) return drained
    let timer: ReturnType<typeof setTimeout> | undefined
    const forced = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        force()
        resolve()
      }, timeoutMs)
    })
    await Promise.race([drained, forced])
    clearTimeout(timer)
  }

  /**
   * Resolves when every close started so far has finished, or after `limit`
   * ms (default `connectTimeout`): a driver whose close hangs (a socket the
   * server already dropped) must not hang `dispose()`.
   */
  protected async closesSettled(limitMs: number = this.options.connectTimeout): Promise<void> {
    if (this.closing.size === 0) return
    let timer: ReturnType<typeof setTimeout> | undefined
    const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, limitMs)))
    const all = (async () => {
      while (this.closing.size > 0) await Promise.all([...this.closing])
    })()
    await Promise.race([all, limit])
    clearTimeout(timer)
  }
}

/** The stack of whoever called into the pool, without the pool's own frames. */
export function captureStack(above: Function): string {
  const holder: { stack?: string } = {}
  // Through Session -> Kysely -> engine -> pool the caller's own frame is deep:
  // Node's default of 10 frames would cut it off, so the report could not name it.
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 50
  Error.captureStackTrace(holder, above)
  Error.stackTraceLimit = limit
  return (holder.stack ?? '').replace(/^Error\n?/, '')
}
