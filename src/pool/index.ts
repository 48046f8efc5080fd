/**
 * The pool layer's public API: pools over any resource, knowing nothing of SQL.
 *
 * ```ts
 * import { QueuePool } from './pool/index.js'
 * const pool = new QueuePool({ open: async () => conn, close: async () => {} }, { poolSize: 5 })
 * ```
 */
export type {
  ConnectionBudgetReport,
  DisposeOptions,
  InvalidateOptions,
  Pool,
  PoolClassName,
  PoolDriver,
  PoolEventMap,
  PoolEventName,
  PooledConnection,
  PoolFactory,
  PoolOptions,
  PoolResize,
  PoolStats,
  ResetMode,
  ResolvedPoolOptions,
} from './types.js'
export {
  AssertionPoolError,
  AthanorError,
  ConnectTimeoutError,
  PoolCloseError,
  PoolConnectError,
  PoolDisposedError,
  PoolOptionError,
  PoolPingError,
  PoolReleaseError,
  PoolResetError,
  PoolTimeoutError,
  SameContextCheckoutError,
} from './errors.js'
export { DEFAULT_POOL_OPTIONS, POOL_OPTION_NAMES, resolvePoolOptions } from './options.js'
export { BasePool } from './base-pool.js'
export { QueuePool } from './queue-pool.js'
export { SingleConnectionPool } from './single-connection-pool.js'
export { NullPool } from './null-pool.js'
export { StaticPool } from './static-pool.js'
export { AssertionPool } from './assertion-pool.js'
export { createPool } from './create-pool.js'
