import type { ConnectionRecord } from './connection-record.js'
import { PoolReleaseError } from './errors.js'
import type { InvalidateOptions, PooledConnection } from './types.js'

/** What a checkout handle needs from its pool. */
export interface RecordOwner<C> {
  releaseRecord(record: ConnectionRecord<C>, checkoutId: number): void
  invalidateCheckout(record: ConnectionRecord<C>, checkoutId: number, error: unknown, soft: boolean): void
}

/** How a stand-in answers to its pool; no other code can read it. */
const HANDLE: unique symbol = Symbol('athanor.checkout')

/**
 * One checkout of one connection (SQLAlchemy's "connection fairy"). Holds the
 * checkout's id, so a handle kept after its release can never release or
 * invalidate a later checkout of the same connection.
 *
 * It is also the Proxy handler of the stand-in `acquire()` hands out
 * ({@link standIn}): reads, writes and calls go to the connection while the
 * checkout lasts; once it is released, calling its methods throws
 * {@link PoolReleaseError} (data stays readable and writable: a log line, a test's `c.closed`).
 *
 * ```ts
 * const pc = await pool.checkout()
 * try { await pc.connection.query('SELECT 1') } finally { pc.release() }
 * ```
 */
export class CheckoutHandle<C> implements PooledConnection<C>, ProxyHandler<object> {
  released = false

  constructor(
    readonly owner: RecordOwner<C>,
    readonly record: ConnectionRecord<C>,
    readonly checkoutId: number,
  ) {}

  get connection(): C {
    return this.record.connection
  }

  get info(): Map<string, unknown> {
    return this.record.info
  }

  get openedAt(): number {
    return this.record.openedAt
  }

  release(): void {
    if (this.released) throw new PoolReleaseError('this checkout was already released')
    this.released = true
    this.owner.releaseRecord(this.record, this.checkoutId)
  }

  invalidate(error?: unknown, options?: InvalidateOptions): void {
    if (this.released) throw new PoolReleaseError('cannot invalidate a checkout that was already released')
    this.owner.invalidateCheckout(this.record, this.checkoutId, error, options?.soft === true)
  }

  // ---- the stand-in's traps ----------------------------------------------------------------
  // The receiver is always the connection itself, and its methods are bound to it: a class
  // with #private fields, or a built-in with internal slots, works through the stand-in.

  get(target: object, key: PropertyKey): unknown {
    if (key === HANDLE) return this
    // A plain keyed read (receiver: the connection), much cheaper than Reflect.get.
    const value: unknown = (target as Record<PropertyKey, unknown>)[key]
    if (typeof value !== 'function') return value
    if (this.released) return deadMethod(key, value)
    return this.record.bound(target, key, value as (...args: unknown[]) => unknown)
  }

  set(target: object, key: PropertyKey, value: unknown): boolean {
    return Reflect.set(target, key, value, target)
  }

  deleteProperty(target: object, key: PropertyKey): boolean {
    return Reflect.deleteProperty(target, key)
  }

  defineProperty(target: object, key: PropertyKey, descriptor: PropertyDescriptor): boolean {
    return Reflect.defineProperty(target, key, descriptor)
  }

  apply(target: object, self: unknown, args: unknown[]): unknown {
    if (this.released) throw usedAfterRelease('call', undefined)
    return Reflect.apply(target as (...a: unknown[]) => unknown, self, args)
  }

  construct(target: object, args: unknown[], newTarget: object): object {
    if (this.released) throw usedAfterRelease('construct', undefined)
    return Reflect.construct(target as new (...a: unknown[]) => object, args, newTarget as new (...a: unknown[]) => object)
  }
}

/**
 * What a released stand-in answers for a method: a function that throws
 * when called. The class (`constructor`) and symbol-keyed members stay as
 * they are: inspection and formatting use them.
 */
function deadMethod(key: PropertyKey, method: unknown): unknown {
  if (key === 'constructor' || typeof key === 'symbol') return method
  if (key === 'then') return undefined // a dead stand-in is not a thenable: `await c` gives c
  return function released(): never {
    throw usedAfterRelease('call', key)
  }
}

function usedAfterRelease(what: string, key: PropertyKey | undefined): PoolReleaseError {
  const name = key === undefined ? '' : ` .${String(key)}`
  return new PoolReleaseError(
    `cannot ${what}${name}: this connection was released to the pool, and a released checkout is dead; acquire() another`,
  )
}

/**
 * What `acquire()` hands out: a Proxy of the connection whose handler is the
 * checkout's handle. A primitive connection cannot be proxied and goes as is.
 *
 * ```ts
 * return standIn(new CheckoutHandle(pool, rec, rec.checkoutId))
 * ```
 */
export function standIn<C>(handle: CheckoutHandle<C>): C {
  const connection = handle.connection
  return isObject(connection) ? (new Proxy(connection, handle) as C) : connection
}

/**
 * The handle behind a stand-in, or `undefined` for anything else (the bare
 * connection, a stranger, a primitive).
 *
 * ```ts
 * const handle = handleOf(c)
 * if (handle === undefined) throw new PoolReleaseError('not from acquire()')
 * ```
 */
export function handleOf<C>(value: unknown): CheckoutHandle<C> | undefined {
  if (!isObject(value)) return undefined
  // Only a stand-in answers to HANDLE (a module-private symbol); the class test keeps
  // out a user's own Proxy that answers every key.
  const handle = (value as { [HANDLE]?: unknown })[HANDLE]
  return handle !== undefined && (handle as object).constructor === CheckoutHandle ? (handle as CheckoutHandle<C>) : undefined
}

/** True for what a Proxy (or a WeakSet) can hold. */
export function isObject(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function'
}
