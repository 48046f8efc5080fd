import { AssertionPoolError } from './errors.js'
import { SoloPool } from './solo-pool.js'

/**
 * One connection, and an error if a second checkout is attempted while it is
 * held (SQLAlchemy's AssertionPool): proves a code path never uses two
 * connections at once. The error carries the stack of the first checkout.
 *
 * ```ts
 * const pool = new AssertionPool(driver)
 * const c = await pool.acquire()
 * await pool.acquire() // AssertionPoolError: connection is already checked out, at ...
 * ```
 */
export class AssertionPool<C> extends SoloPool<C> {
  protected admit(): void {
    if (this.holders.size === 0) return
    const stack = this.holders.values().next().value
    throw new AssertionPoolError(
      `${this.label()}: a second connection was checked out while one is held; the first was checked out at:\n${stack ?? '(stack unavailable)'}`,
    )
  }

  protected wantsStack(): boolean {
    return true
  }
}
