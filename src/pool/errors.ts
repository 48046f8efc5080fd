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
 * No connection became free within `poolTimeout`: the pool is exhausted.
 * The message carries the pool's state; the properties carry it too.
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
  ) {
    super('POOL_TIMEOUT', message)
  }
}

/** A connection could not be opened: the database is unreachable or refused it. `cause` is the driver's error. */
export class PoolConnectError extends AthanorError {
  constructor(message: string, options: { cause: unknown }) {
    super('POOL_CONNECT', message, options)
  }
}

/** The pool was disposed: checkouts are refused and waiters rejected. */
export class PoolDisposedError extends AthanorError {
  constructor(message = 'the pool has been disposed') {
    super('POOL_DISPOSED', message)
  }
}

/** A connection was released twice, or does not belong to this pool. */
export class PoolReleaseError extends AthanorError {
  constructor(message: string) {
    super('POOL_RELEASE', message)
  }
}

/** An option has a bad value or an unknown name. */
export class PoolOptionError extends AthanorError {
  constructor(message: string) {
    super('POOL_OPTION', message)
  }
}

/** AssertionPool: a second connection was checked out while one is held. */
export class AssertionPoolError extends AthanorError {
  constructor(message: string) {
    super('POOL_ASSERTION', message)
  }
}
