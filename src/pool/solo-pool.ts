import { BasePool, captureStack } from './base-pool.js'
import { ConnectionRecord, RecordState } from './connection-record.js'
import { PoolDisposedError, PoolReleaseError, PoolResetError, describeError } from './errors.js'
import { CheckoutHandle, standIn } from './pooled-connection.js'
import type { DisposeOptions, InvalidateOptions, PooledConnection, PoolStats } from './types.js'

const RESOLVED: Promise<void> = Promise.resolve()

/**
 * The machinery of the pools that keep exactly one connection (StaticPool,
 * AssertionPool): open it on first use, reset it when its last holder returns
 * it, reopen it after an invalidation.
 *
 * ```ts
 * class MyOnePool<C> extends SoloPool<C> {}
 * ```
 */
export abstract class SoloPool<C> extends BasePool<C> {
  protected record: ConnectionRecord<C> | undefined = undefined
  private opening: Promise<ConnectionRecord<C>> | undefined = undefined
  /** A reset (or close) in flight: the next checkout waits for it. */
  private settling: Promise<void> | undefined = undefined
  /** Checkout ids not yet released. */
  protected readonly holders = new Map<number, string | undefined>()
  /** Checkouts whose connection was invalidated: done, but a release of them is still welcome. */
  private readonly invalidatedIds = new Map<number, C>()
  private checkoutSeq = 0
  private seq = 0
  private drained: (() => void) | undefined = undefined

  /** Called before each checkout; throws to refuse it. */
  protected abstract admit(): void

  /** Whether to record the caller's stack at checkout. */
  protected abstract wantsStack(): boolean

  /** {@inheritDoc Pool.acquire} */
  acquire(): Promise<C> {
    return this.take(this.acquire).then((id) => standIn(new CheckoutHandle(this, this.record!, id)))
  }

  /** {@inheritDoc Pool.checkout} */
  checkout(): Promise<PooledConnection<C>> {
    return this.take(this.checkout).then((id) => new CheckoutHandle(this, this.record!, id))
  }

  /** @internal */
  acquireDirect(): Promise<C> {
    return this.take(this.acquireDirect).then(() => this.record!.connection)
  }

  private async take(caller: Function): Promise<number> {
    const stack = this.wantsStack() ? captureStack(caller) : undefined
    // The wait is measured only for a checkout listener (a clock read per checkout otherwise).
    const start = this.events.has('checkout') ? performance.now() : 0
    if (this.disposed) throw new PoolDisposedError(`${this.label()} has been disposed`)
    this.admit()
    while (this.settling !== undefined) await this.settling
    const rec = await this.connection()
    if (this.disposed) throw new PoolDisposedError(`${this.label()} has been disposed`)
    this.admit()
    const id = ++this.checkoutSeq
    rec.state = RecordState.Out
    rec.uses++
    rec.checkoutId = id
    this.holders.set(id, stack)
    this.acquires++
    if (this.events.has('checkout')) this.events.emit('checkout', rec.connection, start === 0 ? 0 : performance.now() - start)
    return id
  }

  private connection(): Promise<ConnectionRecord<C>> {
    if (this.record !== undefined && this.record.state !== RecordState.Closed) return Promise.resolve(this.record)
    const start = performance.now()
    this.opening ??= this.openPatiently().then(
      (connection) => {
        this.opening = undefined
        this.created++
        const opened = performance.now()
        const rec = new ConnectionRecord(connection, this.seq++, opened, Infinity)
        this.record = rec
        if (this.events.has('connect')) this.events.emit('connect', connection, opened - start)
        return rec
      },
      (error: unknown) => {
        this.opening = undefined
        this.connectErrors++
        throw error
      },
    )
    return this.opening
  }

  /** @internal */
  releaseDirect(connection: C): Promise<void> {
    for (const [id, c] of this.invalidatedIds) {
      if (c !== connection) continue
      // Released after its invalidation.
      this.invalidatedIds.delete(id)
      return RESOLVED
    }
    const rec = this.record
    if (rec === undefined || rec.connection !== connection || this.holders.size === 0) {
      throw new PoolReleaseError(`${this.label()}: release() of a connection that is not checked out from this pool (released twice?)`)
    }
    // Without a handle we cannot tell concurrent holders apart: release the oldest checkout.
    this.releaseRecord(rec, this.holders.keys().next().value as number)
    // The last holder's return starts the reset: back in the pool when it has finished.
    return this.settling ?? RESOLVED
  }

  /** @internal */
  releaseRecord(rec: ConnectionRecord<C>, checkoutId: number): void {
    if (!this.holders.delete(checkoutId)) {
      if (this.invalidatedIds.delete(checkoutId)) return
      throw new PoolReleaseError(`${this.label()}: this checkout was already released`)
    }
    if (this.events.has('checkin')) this.events.emit('checkin', rec.connection)
    if (this.holders.size > 0 || rec !== this.record || rec.state === RecordState.Closed) {
      this.checkDrained()
      return
    }
    rec.state = RecordState.Idle
    if (this.disposed || rec.soft) {
      this.closeRecord(rec)
      return
    }
    const mode = this.options.poolResetOnReturn
    const reset = this.driver.reset
    if (mode === null || reset === undefined) return
    if (this.events.has('reset')) this.events.emit('reset', rec.connection, mode)
    const failed = (error: unknown): void => {
      this.events.error(new PoolResetError(`resetting a returned connection failed; it was closed: ${describeError(error)}`, { cause: error }))
      this.closeRecord(rec)
    }
    let result: Promise<void> | void
    try {
      result = reset.call(this.driver, rec.connection, mode)
    } catch (error) {
      failed(error)
      return
    }
    if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
      const settling: Promise<void> = Promise.resolve(result).then(
        () => {
          if (this.settling === settling) this.settling = undefined
        },
        (error: unknown) => {
          if (this.settling === settling) this.settling = undefined
          failed(error)
        },
      )
      this.settling = settling
    }
  }

  /** @internal */
  invalidateDirect(connection: C, error?: unknown, options?: InvalidateOptions): void {
    const rec = this.record
    if (rec === undefined || rec.connection !== connection || this.holders.size === 0) {
      throw new PoolReleaseError(`${this.label()}: invalidate() of a connection that is not checked out from this pool`)
    }
    this.invalidateCheckout(rec, this.holders.keys().next().value as number, error, options?.soft === true)
  }

  /** @internal */
  invalidateCheckout(rec: ConnectionRecord<C>, checkoutId: number, error: unknown, soft: boolean): void {
    if (!this.holders.has(checkoutId) || rec.state === RecordState.Closed) return
    this.invalidatedCount++
    if (this.events.has('invalidate')) this.events.emit('invalidate', rec.connection, error, soft)
    if (soft) {
      rec.soft = true
      return
    }
    // This checkout is over: a holder that never releases it blocks nobody.
    this.holders.delete(checkoutId)
    this.invalidatedIds.set(checkoutId, rec.connection)
    // Bounded: callers that never release an invalidated checkout must not grow it forever.
    if (this.invalidatedIds.size > 64) this.invalidatedIds.delete(this.invalidatedIds.keys().next().value as number)
    this.closeRecord(rec)
  }

  /** The connection is replaced at the next checkout after its holders return it. */
  invalidateAll(): void {
    const rec = this.record
    if (rec === undefined || rec.state === RecordState.Closed) return
    if (this.holders.size > 0) rec.soft = true
    else this.closeRecord(rec)
  }

  private closeRecord(rec: ConnectionRecord<C>): void {
    if (rec.state === RecordState.Closed) return
    rec.state = RecordState.Closed
    this.closedCount++
    if (this.events.has('close')) this.events.emit('close', rec.connection)
    if (!(this.disposed && this.forgetting)) this.closeConnection(rec.connection)
    this.checkDrained()
  }

  private forgetting = false

  /** {@inheritDoc Pool.dispose} */
  async dispose(options: DisposeOptions = {}): Promise<void> {
    this.disposed = true
    this.forgetting = options.close === false
    const rec = this.record
    if (this.forgetting) {
      if (rec !== undefined && this.holders.size === 0) rec.state = RecordState.Closed
      return
    }
    if (this.opening !== undefined) await this.opening.then((r) => (this.holders.size === 0 ? this.closeRecord(r) : undefined), () => {})
    const current = this.record
    if (current !== undefined && this.holders.size === 0) this.closeRecord(current)
    if (current !== undefined && current.state !== RecordState.Closed) {
      const drained = new Promise<void>((resolve) => (this.drained = resolve))
      await this.drainWithin(drained, options.timeout, () => this.closeRecord(current))
    }
    await this.closesSettled()
  }

  private checkDrained(): void {
    const rec = this.record
    if (this.drained !== undefined && (rec === undefined || rec.state === RecordState.Closed)) {
      this.drained()
      this.drained = undefined
    }
  }

  /** {@inheritDoc Pool.status} */
  status(): string {
    return this.constructor.name
  }

  /** {@inheritDoc Pool.size} */
  size(): number {
    return 1
  }

  /** {@inheritDoc Pool.checkedIn} */
  checkedIn(): number {
    const rec = this.record
    return rec !== undefined && rec.state !== RecordState.Closed && this.holders.size === 0 ? 1 : 0
  }

  /** {@inheritDoc Pool.checkedOut} */
  checkedOut(): number {
    return this.holders.size
  }

  /** {@inheritDoc Pool.overflow} */
  overflow(): number {
    return 0
  }

  /** {@inheritDoc Pool.stats} */
  stats(): PoolStats {
    const open = this.record !== undefined && this.record.state !== RecordState.Closed ? 1 : 0
    return this.unqueuedStats(open, this.checkedIn(), this.opening === undefined ? 0 : 1)
  }
}
