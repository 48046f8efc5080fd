import { BasePool } from './base-pool.js'
import { adoptBegin, adoptEnd } from './checkout-context.js'
import { PoolReleaseError } from './errors.js'
import type { InvalidateOptions, Pool, PooledConnection } from './types.js'

/**
 * The engine's way into a pool (internal): the connection object itself,
 * without the per-checkout stand-in `acquire()` hands out. The engine keeps
 * track of its own checkouts (one release each, none after an invalidation),
 * so it needs no stand-in, and its statement path allocates none.
 *
 * Every built-in pool answers through its own fast path; a pool of the
 * user's own (a `poolClass` factory) through `checkout()` handles.
 *
 * ```ts
 * const c = await acquireDirect(pool)
 * try { await c.run('SELECT 1') } finally { await releaseDirect(pool, c) }
 * ```
 */
export function acquireDirect<C>(pool: Pool<C>): Promise<C> {
  return pool instanceof BasePool ? (pool as BasePool<C>).acquireDirect() : handlesOf(pool).acquire()
}

/**
 * {@link acquireDirect} from deep inside an operation the user started
 * earlier (a statement of `engine.db`, a session's first statement): the
 * checkout belongs to that operation's async context (see checkout-context.ts).
 *
 * ```ts
 * const c = await acquireDirectInOperation(pool)
 * ```
 */
export function acquireDirectInOperation<C>(pool: Pool<C>): Promise<C> {
  adoptBegin()
  try {
    return acquireDirect(pool)
  } finally {
    adoptEnd()
  }
}

/**
 * Returns a connection from {@link acquireDirect}. Throws
 * {@link PoolReleaseError} at once for one that is not checked out; the
 * promise resolves once it is back in the pool (after its reset).
 *
 * ```ts
 * await releaseDirect(pool, c) // pool.checkedOut() no longer counts c
 * ```
 */
export function releaseDirect<C>(pool: Pool<C>, connection: C): Promise<void> {
  return pool instanceof BasePool ? (pool as BasePool<C>).releaseDirect(connection) : handlesOf(pool).release(connection)
}

/**
 * Invalidates a connection from {@link acquireDirect}.
 *
 * ```ts
 * invalidateDirect(pool, c, error) // closed; older connections replaced at checkout
 * ```
 */
export function invalidateDirect<C>(pool: Pool<C>, connection: C, error?: unknown, options?: InvalidateOptions): void {
  if (pool instanceof BasePool) (pool as BasePool<C>).invalidateDirect(connection, error, options)
  else handlesOf(pool).invalidate(connection, error, options)
}

const RESOLVED: Promise<void> = Promise.resolve()

/** A foreign pool's checkouts, by connection. */
class Handles<C> {
  private readonly held = new Map<C, PooledConnection<C>>()

  constructor(private readonly pool: Pool<C>) {}

  async acquire(): Promise<C> {
    const handle = await this.pool.checkout()
    this.held.set(handle.connection, handle)
    return handle.connection
  }

  release(connection: C): Promise<void> {
    const handle = this.take(connection, 'release')
    handle.release()
    return RESOLVED
  }

  invalidate(connection: C, error: unknown, options: InvalidateOptions | undefined): void {
    const handle = options?.soft === true ? this.held.get(connection) : this.take(connection, 'invalidate')
    if (handle === undefined) throw notHeld('invalidate')
    handle.invalidate(error, options)
  }

  private take(connection: C, what: string): PooledConnection<C> {
    const handle = this.held.get(connection)
    if (handle === undefined) throw notHeld(what)
    this.held.delete(connection)
    return handle
  }
}

function notHeld(what: string): PoolReleaseError {
  return new PoolReleaseError(`${what}() of a connection that is not checked out from this pool`)
}

const handles = new WeakMap<object, Handles<unknown>>()

function handlesOf<C>(pool: Pool<C>): Handles<C> {
  let h = handles.get(pool) as Handles<C> | undefined
  if (h === undefined) {
    h = new Handles(pool)
    handles.set(pool, h as Handles<unknown>)
  }
  return h
}
