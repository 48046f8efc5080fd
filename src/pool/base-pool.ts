import { ConnectTimeoutError, PoolCloseError, PoolConnectError, PoolOptionError, describeError } from './errors.js'
import { PoolEvents } from './events.js'
import { resolvePoolOptions } from './options.js'
import type {
  DisposeOptions,
  InvalidateOptions,
  Pool,
  PoolDriver,
  PoolEventMap,
  PoolEventName,
  PooledConnection,
  PoolOptions,
  PoolStats,
  ResolvedPoolOptions,
} from './types.js'

/**
 * What every pool class shares: resolved options, the driver, events, and the
 * careful wrappers around the driver's `open` (with `connectTimeout`) and
 * `close` (never throws). Subclasses own the checkout logic.
 *
 * ```ts
 * class MyPool<C> extends BasePool<C> { ... }
 * ```
 */
export abstract class BasePool<C> implements Pool<C> {
  readonly options: ResolvedPoolOptions
  /** @internal */
  readonly events = new PoolEvents<C>()
  protected readonly driver: PoolDriver<C>
  protected readonly givenOptions: PoolOptions
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
  abstract release(connection: C): void
  abstract checkout(): Promise<PooledConnection<C>>
  abstract invalidate(connection: C, error?: unknown, options?: InvalidateOptions): void
  abstract invalidateAll(): void
  abstract status(): string
  abstract size(): number
  abstract checkedIn(): number
  abstract checkedOut(): number
  abstract overflow(): number
  abstract stats(): PoolStats
  abstract dispose(options?: DisposeOptions): Promise<void>

  on<E extends PoolEventName>(event: E, listener: (...args: PoolEventMap<C>[E]) => void): this {
    this.events.on(event, listener)
    return this
  }

  off<E extends PoolEventName>(event: E, listener: (...args: PoolEventMap<C>[E]) => void): this {
    this.events.off(event, listener)
    return this
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
