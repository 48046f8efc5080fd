import { SoloPool } from './solo-pool.js'

/**
 * One connection, shared by every checkout at the same time (SQLAlchemy's
 * StaticPool). For a resource that is safe to share, or a test that wants
 * every caller on one connection. It is reset when its last holder returns it.
 *
 * ```ts
 * const pool = new StaticPool(driver)
 * const [a, b] = await Promise.all([pool.acquire(), pool.acquire()])
 * a === b // true
 * ```
 */
export class StaticPool<C> extends SoloPool<C> {
  protected admit(): void {}

  protected wantsStack(): boolean {
    return false
  }
}
