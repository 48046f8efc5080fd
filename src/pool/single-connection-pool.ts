import { QueuePool } from './queue-pool.js'
import { PoolOptionError } from './errors.js'
import type { PoolDriver, PoolOptions, PoolResize } from './types.js'

/**
 * One real connection, handed to one caller at a time; the others wait in a
 * FIFO queue for at most `poolTimeout` (poolClass `'single'`). In-memory
 * databases use it: their data lives in that one connection, so it is never
 * recycled, idled out or replaced on use count, and two transactions never
 * interleave on it.
 *
 * ```ts
 * const pool = new SingleConnectionPool(sqliteDriver, { poolTimeout: 5_000 })
 * const a = await pool.acquire()
 * const b = pool.acquire() // waits until `a` is released
 * ```
 */
export class SingleConnectionPool<C> extends QueuePool<C> {
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
}
