import type { ConnectionRecord } from './connection-record.js'
import { PoolReleaseError } from './errors.js'
import type { InvalidateOptions, PooledConnection } from './types.js'

/** What a checkout handle needs from its pool. */
export interface RecordOwner<C> {
  releaseRecord(record: ConnectionRecord<C>, checkoutId: number): void
  invalidateCheckout(record: ConnectionRecord<C>, checkoutId: number, error: unknown, soft: boolean): void
}

/**
 * One checkout of one connection (SQLAlchemy's "connection fairy"). Holds the
 * checkout's id, so a handle kept after its release can never release or
 * invalidate a later checkout of the same connection.
 *
 * ```ts
 * const pc = await pool.checkout()
 * try { await pc.connection.query('SELECT 1') } finally { pc.release() }
 * ```
 */
export class CheckoutHandle<C> implements PooledConnection<C> {
  private released = false

  constructor(
    private readonly owner: RecordOwner<C>,
    private readonly record: ConnectionRecord<C>,
    private readonly checkoutId: number,
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
}
