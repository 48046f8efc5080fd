/**
 * The base of every error athanor throws. `code` is stable across versions:
 * match on it (or on the class), not on the message.
 *
 * ```ts
 * try { await pool.acquire() } catch (e) {
 *   if (e instanceof AthanorError && e.code === 'POOL_TIMEOUT') retryLater()
 * }
 * ```
 */
export class AthanorError extends Error {
  readonly code: string

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/**
 * No connection became free within `poolTimeout`: the pool is exhausted, or
 * the database refused new connections for being at its connection limit
 * (then `cause` is its refusal), or a pre-ping had not answered yet.
 * The message carries the pool's state; `state` carries it too.
 *
 * ```ts
 * catch (e) { if (e instanceof PoolTimeoutError) metrics.exhausted(e.state.checkedOut, e.state.waiting) }
 * ```
 */
export class PoolTimeoutError extends AthanorError {
  constructor(
    message: string,
    readonly state: {
      readonly poolSize: number
      readonly maxOverflow: number
      readonly timeout: number
      readonly checkedOut: number
      readonly waiting: number
    },
    options?: { cause?: unknown },
  ) {
    super('POOL_TIMEOUT', message, options)
  }
}

/**
 * A connection could not be opened: the database is unreachable or refused it.
 * `cause` is the driver's error (or a {@link ConnectTimeoutError}).
 *
 * ```ts
 * try { await pool.acquire() } catch (e) {
 *   if (e instanceof PoolConnectError) log.error('database unreachable', e.cause)
 * }
 * ```
 */
export class PoolConnectError extends AthanorError {
  constructor(message: string, options: { cause: unknown }) {
    super('POOL_CONNECT', message, options)
  }
}

/**
 * An `open()` or `ping()` took longer than allowed. Found as the `cause` of a
 * {@link PoolConnectError}, never thrown to a caller on its own.
 *
 * ```ts
 * if (e instanceof PoolConnectError && e.cause instanceof ConnectTimeoutError) slowNetwork()
 * ```
 */
export class ConnectTimeoutError extends AthanorError {
  constructor(message: string) {
    super('POOL_CONNECT_TIMEOUT', message)
  }
}

/**
 * The pool was disposed: checkouts are refused and waiters rejected.
 *
 * ```ts
 * await pool.dispose()
 * await pool.acquire() // rejects with PoolDisposedError
 * ```
 */
export class PoolDisposedError extends AthanorError {
  constructor(message = 'the pool has been disposed') {
    super('POOL_DISPOSED', message)
  }
}

/**
 * A connection was released twice, or does not belong to this pool. Thrown
 * synchronously by `release()`.
 *
 * ```ts
 * pool.release(c)
 * pool.release(c) // throws PoolReleaseError
 * ```
 */
export class PoolReleaseError extends AthanorError {
  constructor(message: string) {
    super('POOL_RELEASE', message)
  }
}

/**
 * An option has a bad value or an unknown name. `option` and `value` say which.
 *
 * ```ts
 * new QueuePool(driver, { poolSize: -1 }) // PoolOptionError: invalid pool option poolSize: ...
 * ```
 */
export class PoolOptionError extends AthanorError {
  readonly option: string
  readonly value: unknown

  constructor(message: string, option = '', value?: unknown) {
    super('POOL_OPTION', message)
    this.option = option
    this.value = value
  }
}

/**
 * AssertionPool: a second connection was checked out while one is held. The
 * message carries the stack of the first checkout.
 *
 * ```ts
 * const pool = new AssertionPool(driver)
 * await pool.acquire(); await pool.acquire() // rejects with AssertionPoolError
 * ```
 */
export class AssertionPoolError extends AthanorError {
  constructor(message: string) {
    super('POOL_ASSERTION', message)
  }
}

/**
 * A returned connection's reset (rollback/commit) failed; the connection was
 * closed. Reported through the pool's `error` event, with the driver's error as `cause`.
 *
 * ```ts
 * pool.on('error', (e) => { if (e instanceof PoolResetError) log.warn(e.message, e.cause) })
 * ```
 */
export class PoolResetError extends AthanorError {
  constructor(message: string, options: { cause: unknown }) {
    super('POOL_RESET', message, options)
  }
}

/**
 * Closing a connection failed. Reported through the pool's `error` event only.
 *
 * ```ts
 * pool.on('error', (e) => { if (e instanceof PoolCloseError) log.debug(e.message) })
 * ```
 */
export class PoolCloseError extends AthanorError {
  constructor(message: string, options: { cause: unknown }) {
    super('POOL_CLOSE', message, options)
  }
}

/**
 * A pre-ping found a connection dead: the `cause` of the {@link PoolConnectError}
 * a checkout gets when no fresh connection could replace it in time.
 *
 * ```ts
 * if (e instanceof PoolConnectError && e.cause instanceof PoolPingError) databaseDown()
 * ```
 */
export class PoolPingError extends AthanorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('POOL_PING', message, options)
  }
}

/**
 * A short description of any thrown value, for messages.
 *
 * ```ts
 * describeError(new Error('boom')) // 'boom'
 * ```
 */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name
  return String(error)
}

/**
 * A checkout that could never be served: the pool's only connection (an
 * in-memory database) is held by code this caller runs after and waits for,
 * typically a test that opened a second Session, or a second connection,
 * before closing the first. Thrown at once instead of waiting `poolTimeout`.
 * `holderStack` is where the holder checked the connection out.
 *
 * ```ts
 * const s1 = Session(); await s1.get(Author, 1)
 * const s2 = Session(); await s2.get(Author, 2) // SameContextCheckoutError: close s1 first
 * ```
 */
export class SameContextCheckoutError extends AthanorError {
  constructor(
    message: string,
    /** The first holder's checkout stack. */
    readonly holderStack: string,
  ) {
    super('POOL_SAME_CONTEXT_CHECKOUT', message)
  }
}
