import { AssertionPool } from './assertion-pool.js'
import { PoolOptionError } from './errors.js'
import { NullPool } from './null-pool.js'
import { QueuePool } from './queue-pool.js'
import { SingleConnectionPool } from './single-connection-pool.js'
import { StaticPool } from './static-pool.js'
import type { Pool, PoolClassName, PoolDriver, PoolFactory, PoolOptions } from './types.js'

const POOL_CLASSES: Readonly<Record<PoolClassName, new <C>(driver: PoolDriver<C>, options: PoolOptions) => Pool<C>>> = {
  queue: QueuePool,
  null: NullPool,
  static: StaticPool,
  assertion: AssertionPool,
  single: SingleConnectionPool,
}

/**
 * Builds a pool from a `poolClass` name or factory. An unknown name is a
 * {@link PoolOptionError}.
 *
 * ```ts
 * const pool = createPool('queue', driver, { poolSize: 5 })
 * const mine = createPool((driver, options) => new QueuePool(driver, { ...options, poolUseLifo: true }), driver, {})
 * ```
 */
export function createPool<C>(poolClass: PoolClassName | PoolFactory, driver: PoolDriver<C>, options: PoolOptions = {}): Pool<C> {
  if (typeof poolClass === 'function') return poolClass(driver, options)
  const Ctor = typeof poolClass === 'string' && Object.hasOwn(POOL_CLASSES, poolClass) ? POOL_CLASSES[poolClass] : undefined
  if (Ctor === undefined) {
    throw new PoolOptionError(
      `invalid pool option poolClass: expected one of ${Object.keys(POOL_CLASSES).map((k) => `'${k}'`).join(', ')} or a factory, got ${typeof poolClass === 'string' ? JSON.stringify(poolClass) : String(poolClass)}`,
      'poolClass',
      poolClass,
    )
  }
  return new Ctor(driver, options)
}
