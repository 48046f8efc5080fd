import type { Pool } from '../pool/types.js'

/**
 * What a metrics exporter hears from a pool, in milliseconds: how long each
 * open took, how long each caller waited for a connection, and how long each
 * checkout held it.
 *
 * ```ts
 * const timings: PoolTimings = { opened: (ms) => hist.observe(ms / 1000), waited: () => {}, used: () => {} }
 * ```
 */
export interface PoolTimings {
  opened(ms: number): void
  waited(ms: number): void
  used(ms: number): void
}

/**
 * Feeds `timings` from `pool`'s events; returns the function that stops it.
 * Use time runs from `checkout` to `checkin`; checkouts of one shared
 * connection (StaticPool) are returned oldest first, as the pool does.
 *
 * ```ts
 * const stop = watchPoolTimings(engine.pool, timings)
 * stop()
 * ```
 */
export function watchPoolTimings(pool: Pool<unknown>, timings: PoolTimings): () => void {
  // Keyed by the connection object; a primitive connection (a generic pool's number) gets no use time.
  const outSince = new WeakMap<object, number[]>()
  const onConnect = (_c: unknown, openMs: number): void => timings.opened(openMs)
  const onCheckout = (c: unknown, waitedMs: number): void => {
    timings.waited(waitedMs)
    if (!isObject(c)) return
    const list = outSince.get(c)
    if (list === undefined) outSince.set(c, [performance.now()])
    else list.push(performance.now())
  }
  const onCheckin = (c: unknown): void => {
    if (!isObject(c)) return
    const since = outSince.get(c)?.shift()
    if (since !== undefined) timings.used(performance.now() - since)
  }
  const onClose = (c: unknown): void => {
    if (isObject(c)) outSince.delete(c)
  }
  pool.on('connect', onConnect).on('checkout', onCheckout).on('checkin', onCheckin).on('close', onClose)
  return () => {
    pool.off('connect', onConnect).off('checkout', onCheckout).off('checkin', onCheckin).off('close', onClose)
  }
}

function isObject(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function'
}
