import { BasePool } from './base-pool.js'
import { ClosedWhileHeld } from './closed-while-held.js'
import { ConnectionRecord, RecordState } from './connection-record.js'
import { PoolDisposedError, PoolReleaseError } from './errors.js'
import { CheckoutHandle, standIn } from './pooled-connection.js'
import type { DisposeOptions, InvalidateOptions, PooledConnection, PoolStats } from './types.js'

const RESOLVED: Promise<void> = Promise.resolve()

/**
 * No pooling: every checkout opens a connection and every release closes it
 * (SQLAlchemy's NullPool). For serverless functions, and for external poolers
 * such as PgBouncer that do the pooling already.
 *
 * ```ts
 * const pool = new NullPool(driver)
 * const c = await pool.acquire()   // a new connection
 * pool.release(c)                  // closed
 * ```
 */
export class NullPool<C> extends BasePool<C> {
  private readonly held = new Map<C, ConnectionRecord<C>>()
  private readonly closedWhileHeld = new ClosedWhileHeld<C>()
  private pending = 0
  private seq = 0
  private drained: (() => void) | undefined = undefined

  acquire(): Promise<C> {
    return this.open().then((rec) => standIn(new CheckoutHandle(this, rec, rec.checkoutId)))
  }

  checkout(): Promise<PooledConnection<C>> {
    return this.open().then((rec) => new CheckoutHandle(this, rec, rec.checkoutId))
  }

  /** @internal */
  acquireDirect(): Promise<C> {
    return this.open().then((rec) => rec.connection)
  }

  private async open(): Promise<ConnectionRecord<C>> {
    if (this.disposed) throw new PoolDisposedError(`${this.label()} has been disposed`)
    this.pending++
    // Every checkout opens a connection: one clock read is nothing beside it.
    const start = performance.now()
    let connection: C
    try {
      connection = await this.openPatiently()
    } catch (error) {
      this.connectErrors++
      throw error
    } finally {
      this.pending--
    }
    this.created++
    const opened = performance.now()
    if (this.events.has('connect')) this.events.emit('connect', connection, opened - start)
    if (this.disposed) {
      this.close(connection)
      throw new PoolDisposedError(`${this.label()} has been disposed`)
    }
    const rec = new ConnectionRecord(connection, this.seq++, performance.now(), Infinity)
    rec.state = RecordState.Out
    rec.uses = 1
    rec.checkoutId = 1
    this.held.set(connection, rec)
    this.acquires++
    if (this.events.has('checkout')) this.events.emit('checkout', connection, performance.now() - start)
    return rec
  }

  /** @internal */
  releaseDirect(connection: C): Promise<void> {
    const rec = this.held.get(connection)
    if (rec === undefined && this.closedWhileHeld.take(connection)) return RESOLVED // released after its invalidation
    if (rec === undefined) throw new PoolReleaseError(`${this.label()}: release() of a connection this pool does not hold (released twice?)`)
    this.releaseRecord(rec, rec.checkoutId)
    return RESOLVED
  }

  /** @internal */
  releaseRecord(rec: ConnectionRecord<C>, _checkoutId: number): void {
    if (this.held.get(rec.connection) !== rec) {
      if (rec.state === RecordState.Closed && this.closedWhileHeld.take(rec.connection)) return
      throw new PoolReleaseError(`${this.label()}: this checkout was already released`)
    }
    this.held.delete(rec.connection)
    if (this.events.has('checkin')) this.events.emit('checkin', rec.connection)
    // No reset: closing ends whatever transaction was open.
    if (rec.state !== RecordState.Closed) this.close(rec.connection)
    this.checkDrained()
  }

  /** @internal */
  invalidateDirect(connection: C, error?: unknown, options?: InvalidateOptions): void {
    const rec = this.held.get(connection)
    if (rec === undefined && this.closedWhileHeld.has(connection)) return // already invalidated
    if (rec === undefined) throw new PoolReleaseError(`${this.label()}: invalidate() of a connection that is not checked out from this pool`)
    this.invalidateCheckout(rec, rec.checkoutId, error, options?.soft === true)
  }

  /** @internal */
  invalidateCheckout(rec: ConnectionRecord<C>, _checkoutId: number, error: unknown, soft: boolean): void {
    if (rec.state === RecordState.Closed || this.held.get(rec.connection) !== rec) return
    this.invalidatedCount++
    if (this.events.has('invalidate')) this.events.emit('invalidate', rec.connection, error, soft)
    // Soft: it is closed on return anyway.
    if (!soft) {
      // Closed and forgotten now: a holder that never releases it leaks nothing.
      rec.state = RecordState.Closed
      this.held.delete(rec.connection)
      this.closedWhileHeld.add(rec.connection)
      this.close(rec.connection)
      this.checkDrained()
    }
  }

  /** Nothing is kept, so nothing can be stale. */
  invalidateAll(): void {}

  private close(connection: C): void {
    this.closedCount++
    if (this.events.has('close')) this.events.emit('close', connection)
    this.closeConnection(connection)
  }

  async dispose(options: DisposeOptions = {}): Promise<void> {
    this.disposed = true
    if (options.close === false) return
    if (this.held.size > 0 || this.pending > 0) {
      const drained = new Promise<void>((resolve) => (this.drained = resolve))
      await this.drainWithin(drained, options.timeout, () => {
        for (const rec of this.held.values()) this.invalidateCheckout(rec, rec.checkoutId, undefined, false)
      })
    }
    await this.closesSettled()
  }

  private checkDrained(): void {
    if (this.disposed && this.held.size === 0 && this.drained !== undefined) {
      this.drained()
      this.drained = undefined
    }
  }

  /** `'NullPool'`, as SQLAlchemy says. */
  status(): string {
    return 'NullPool'
  }

  size(): number {
    return 0
  }

  checkedIn(): number {
    return 0
  }

  checkedOut(): number {
    return this.held.size
  }

  overflow(): number {
    return 0
  }

  stats(): PoolStats {
    return this.unqueuedStats(this.held.size, 0, this.pending)
  }
}
