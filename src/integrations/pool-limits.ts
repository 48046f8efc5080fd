import { NullPool } from '../pool/null-pool.js'
import { SoloPool } from '../pool/solo-pool.js'
import type { Pool } from '../pool/types.js'

/**
 * The connection limits a pool works within, for gauges: `max` is how many
 * connections it may hold open at once (`undefined`: no limit, as NullPool or
 * `maxOverflow: -1`), `idleMax` how many it keeps open when idle, `idleMin`
 * how many it keeps open at least.
 *
 * ```ts
 * poolLimits(engine.pool) // { max: 15, idleMax: 5, idleMin: 0 }
 * ```
 */
export interface PoolLimits {
  readonly max: number | undefined
  readonly idleMax: number | undefined
  readonly idleMin: number
}

/**
 * Reads {@link PoolLimits} from a pool's class and resolved options.
 *
 * ```ts
 * const { max } = poolLimits(engine.pool)
 * ```
 */
export function poolLimits(pool: Pool<unknown>): PoolLimits {
  const o = pool.options
  // StaticPool, AssertionPool: one connection, however many holders.
  if (pool instanceof SoloPool) return { max: 1, idleMax: 1, idleMin: Math.min(o.minIdle, 1) }
  // NullPool keeps nothing idle and opens one connection per checkout.
  if (pool instanceof NullPool) return { max: undefined, idleMax: 0, idleMin: 0 }
  const idleMax = o.poolSize > 0 ? o.poolSize : undefined
  const max = o.poolSize > 0 && o.maxOverflow >= 0 ? o.poolSize + o.maxOverflow : undefined
  return { max, idleMax, idleMin: o.minIdle }
}
