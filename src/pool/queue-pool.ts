import { BasePool, captureStack } from './base-pool.js'
import { ClosedWhileHeld } from './closed-while-held.js'
import { ConnectionRecord, RecordState } from './connection-record.js'
import { Deque } from './deque.js'
import { EVENT_BITS } from './events.js'
import {
  ConnectTimeoutError,
  PoolConnectError,
  PoolDisposedError,
  PoolPingError,
  PoolReleaseError,
  PoolResetError,
  PoolTimeoutError,
  describeError,
} from './errors.js'
import { CheckoutHandle, standIn } from './pooled-connection.js'
import type {
  DisposeOptions,
  InvalidateOptions,
  PoolDriver,
  PooledConnection,
  PoolOptions,
  PoolResize,
  PoolStats,
  ResetMode,
} from './types.js'
import { Waiter, Want } from './waiter.js'
import { WaiterQueue } from './waiter-queue.js'

const now = (): number => performance.now()

/** The waiter a promise executor binds to: one shared executor, no closure per checkout. */
let binding: Waiter
function bindWaiter(resolve: (value: unknown) => void, reject: (error: unknown) => void): void {
  binding.resolve = resolve
  binding.reject = reject
}
const CHECKOUT = EVENT_BITS.checkout
const CHECKIN = EVENT_BITS.checkin
const RESOLVED: Promise<void> = Promise.resolve()

/**
 * SQLAlchemy's QueuePool: up to `poolSize` connections kept open, up to
 * `maxOverflow` more under load (closed on return), callers beyond that wait
 * FIFO for at most `poolTimeout` ms.
 *
 * ```ts
 * const pool = new QueuePool(
 *   { open: () => pg.connect(), close: (c) => c.end() },
 *   { poolSize: 5, maxOverflow: 10, poolTimeout: 30_000 },
 * )
 * const c = await pool.acquire()
 * try { await c.query('SELECT 1') } finally { pool.release(c) }
 * ```
 */
export class QueuePool<C> extends BasePool<C> {
  private readonly records = new Map<C, ConnectionRecord<C>>()
  private readonly closedWhileHeld = new ClosedWhileHeld<C>()
  private readonly idle: Deque<ConnectionRecord<C>>
  private readonly waiters = new WaiterQueue((w) => this.timeoutWaiter(w))
  /** Most connections open at once (Infinity when `maxOverflow` is -1); `resize()` changes it. */
  private capacity: number
  /** Most idle connections kept (Infinity when `poolSize` is 0, as in SQLAlchemy); `resize()` changes it. */
  private idleCap: number
  private readonly lifo: boolean
  /** No pre-ping, recycle or leak detection: checkout from idle needs no waiter and no clock. */
  private readonly fast: boolean
  private readonly resetMode: ResetMode | null
  private readonly timeout: number
  /** The driver's ping when `poolPrePing` is on. */
  private readonly prePing: ((connection: C) => Promise<boolean> | boolean) | undefined
  private readonly recycle: boolean
  private readonly maxUses: number

  /** Live connections: idle, held, or being reset. */
  private openCount = 0
  /** `open()` calls in flight. */
  private pending = 0
  private nextSeq = 0
  /** Records with `seq` below this are stale (replaced at checkout). */
  private staleBefore = 0
  private checkoutSeq = 0
  private forget = false

  private fillTimer: ReturnType<typeof setTimeout> | undefined = undefined
  private idleTimer: ReturnType<typeof setTimeout> | undefined = undefined

  private consecutiveFailures = 0
  private backoffUntil = 0
  private lastConnectError: unknown = undefined
  /** The last failed open was refused as temporary (the server is full): back-pressure, not an outage. */
  private lastOpenRefused = false

  private drainedResolve: (() => void) | undefined = undefined

  private timeouts = 0
  private acquireTimeTotal = 0
  private acquireTimeMax = 0

  constructor(driver: PoolDriver<C>, options: PoolOptions = {}) {
    super(driver, options)
    const o = this.options
    this.capacity = o.maxOverflow === -1 ? Infinity : o.poolSize + o.maxOverflow
    this.idleCap = o.poolSize === 0 ? Infinity : o.poolSize
    this.idle = new Deque(Math.min(this.capacity, 64))
    this.lifo = o.poolUseLifo
    this.fast = !o.poolPrePing && o.poolRecycle <= 0 && o.leakDetectionThreshold <= 0
    this.resetMode = o.poolResetOnReturn
    this.timeout = o.poolTimeout
    this.prePing = o.poolPrePing && driver.ping !== undefined ? driver.ping.bind(driver) : undefined
    this.recycle = o.poolRecycle > 0
    this.maxUses = o.maxUses
    if (o.minIdle > 0) this.fill()
  }

  // ---- checkout ----------------------------------------------------------------------------

  acquire(): Promise<C> {
    if (this.fast && this.idle.length !== 0) {
      const rec = this.takeIdleFast()
      if (rec !== undefined) return Promise.resolve(standIn(new CheckoutHandle(this, rec, rec.checkoutId)))
    }
    return this.slowAcquire(Want.StandIn) as Promise<C>
  }

  checkout(): Promise<PooledConnection<C>> {
    if (this.fast && this.idle.length !== 0) {
      const rec = this.takeIdleFast()
      if (rec !== undefined) return Promise.resolve(new CheckoutHandle(this, rec, rec.checkoutId))
    }
    return this.slowAcquire(Want.Handle) as Promise<PooledConnection<C>>
  }

  /** @internal */
  acquireDirect(): Promise<C> {
    if (this.fast && this.idle.length !== 0) {
      const rec = this.takeIdleFast()
      if (rec !== undefined) return Promise.resolve(rec.connection)
    }
    return this.slowAcquire(Want.Direct) as Promise<C>
  }

  /** The hot path: an idle connection, no checks needing a clock. */
  private takeIdleFast(): ConnectionRecord<C> | undefined {
    for (;;) {
      const rec = this.lifo ? this.idle.pop() : this.idle.shift()
      if (rec === undefined) return undefined
      if (rec.seq < this.staleBefore) {
        this.closeRecord(rec)
        continue
      }
      rec.state = RecordState.Out
      rec.uses++
      rec.checkoutId = ++this.checkoutSeq
      this.acquires++
      if ((this.events.mask & CHECKOUT) !== 0) this.events.emit('checkout', rec.connection, 0)
      return rec
    }
  }

  private slowAcquire(want: Want): Promise<unknown> {
    if (this.disposed) return Promise.reject(new PoolDisposedError(`${this.label()} has been disposed`))
    const w = new Waiter(this.timeout, want)
    // Joining a non-empty queue (saturation, the hot case) the start is stamped at the
    // queue's next clock read: a wait costs at most one clock read.
    if (this.idle.length !== 0 || this.waiters.mustStamp()) {
      const t = now()
      this.waiters.stampAll(t)
      w.stamp(t)
    }
    if (this.options.leakDetectionThreshold > 0) {
      w.stack = captureStack(want === Want.Handle ? this.checkout : want === Want.StandIn ? this.acquire : this.acquireDirect)
    }
    binding = w
    const promise = new Promise<unknown>(bindWaiter)
    this.seek(w, false)
    return promise
  }

  /** Serves `w` from the idle connections, or queues it (and opens one if there is room). */
  private seek(w: Waiter, retry: boolean): void {
    while (this.idle.length !== 0) {
      const rec = (this.lifo ? this.idle.pop() : this.idle.shift())!
      if (this.unusable(rec)) {
        this.closeRecord(rec)
        continue
      }
      this.serve(w, rec, false)
      return
    }
    if (retry) {
      const t = now()
      if (w.start < 0) w.stamp(t)
      if (t >= w.deadline) {
        this.timeoutWaiter(w)
        return
      }
    }
    if (retry) this.waiters.pushRetry(w)
    else this.waiters.push(w)
    this.fill()
  }

  /** Stale (older than an invalidation) or past its recycle time. */
  private unusable(rec: ConnectionRecord<C>): boolean {
    return rec.seq < this.staleBefore || rec.soft || (this.recycle && rec.expired(now()))
  }

  /** Hands `rec` to `w`, pre-pinging it first when asked (never a fresh connection). */
  private serve(w: Waiter, rec: ConnectionRecord<C>, fresh: boolean): void {
    const ping = this.prePing
    if (fresh || ping === undefined) {
      this.deliver(w, rec)
      return
    }
    rec.state = RecordState.Returning
    if (w.start < 0) w.stamp(now())
    let result: Promise<boolean> | boolean
    try {
      result = ping(rec.connection)
    } catch (error) {
      this.pinged(w, rec, false, error)
      return
    }
    if (typeof result === 'boolean') this.pinged(w, rec, result, undefined)
    else this.awaitPing(w, rec, result)
  }

  /**
   * An asynchronous pre-ping has two separate bounds. Its own,
   * `poolPrePingTimeout`: past it the connection counts as dead (a ping on a
   * half-open socket can hang). And the caller's deadline: past it the caller
   * gets a PoolTimeoutError, and the connection, still pinging, is neither
   * the caller's nor condemned; the ping's answer decides what becomes of it.
   */
  private awaitPing(w: Waiter, rec: ConnectionRecord<C>, pinging: Promise<boolean>): void {
    const limit = this.options.poolPrePingTimeout
    let waiter: Waiter | undefined = w
    let done = false
    let callerTimer: ReturnType<typeof setTimeout> | undefined
    const finish = (alive: boolean, error: unknown): void => {
      if (done) return
      done = true
      clearTimeout(pingTimer)
      if (callerTimer !== undefined) clearTimeout(callerTimer)
      this.pinged(waiter, rec, alive, error)
    }
    const pingTimer = setTimeout(
      () => finish(false, new ConnectTimeoutError(`pre-ping did not answer within poolPrePingTimeout ${limit} ms`)),
      limit,
    )
    const left = w.deadline - now()
    if (left < limit) {
      callerTimer = setTimeout(() => {
        callerTimer = undefined
        const x = waiter
        waiter = undefined
        if (x !== undefined && !done) this.timeoutWaiter(x, true)
      }, Math.max(0, left))
    }
    Promise.resolve(pinging).then(
      (alive) => finish(alive === true, undefined),
      (error: unknown) => finish(false, error),
    )
  }

  /**
   * A pre-ping's answer. Alive: to the caller, or, when the caller's wait
   * ended meanwhile, back to the pool. Dead: condemned (with every older
   * connection), and the caller tries again on another.
   */
  private pinged(w: Waiter | undefined, rec: ConnectionRecord<C>, alive: boolean, error: unknown): void {
    if (rec.state === RecordState.Closed) {
      // Force-closed by dispose() while pinging.
      if (w !== undefined) w.reject(new PoolDisposedError(`${this.label()} has been disposed`))
      return
    }
    if (alive) {
      if (w !== undefined) this.deliver(w, rec)
      else this.place(rec)
      return
    }
    const cause =
      error instanceof ConnectTimeoutError
        ? error
        : new PoolPingError(
            error === undefined ? 'pre-ping found the connection dead' : `pre-ping failed: ${describeError(error)}`,
            { cause: error },
          )
    this.invalidateRecord(rec, cause, false)
    if (w === undefined) return
    w.lastError = cause
    if (this.disposed) w.reject(new PoolDisposedError(`${this.label()} has been disposed`))
    else this.seek(w, true)
  }

  private deliver(w: Waiter, rec: ConnectionRecord<C>): void {
    if (this.disposed) {
      this.closeRecord(rec)
      w.reject(new PoolDisposedError(`${this.label()} has been disposed`))
      return
    }
    rec.state = RecordState.Out
    rec.uses++
    rec.checkoutId = ++this.checkoutSeq
    this.acquires++
    // A waiter not stamped yet joined during this turn of the event loop (the turn's end
    // stamps the queue): its wait counts as 0, and its handoff costs no clock read, the
    // dearest step of a checkout. A stamped waiter's wait is measured.
    let waited = 0
    if (w.start >= 0 || w.stack !== undefined) {
      const t = now()
      if (w.start < 0) w.stamp(t)
      waited = t - w.start
      this.acquireTimeTotal += waited
      if (waited > this.acquireTimeMax) this.acquireTimeMax = waited
      if (w.stack !== undefined) this.watchLeak(rec, w.stack, t)
    }
    if ((this.events.mask & CHECKOUT) !== 0) this.events.emit('checkout', rec.connection, waited)
    const want = w.want
    if (want === Want.Direct) w.resolve(rec.connection)
    else {
      const handle = new CheckoutHandle(this, rec, rec.checkoutId)
      w.resolve(want === Want.Handle ? handle : standIn(handle))
    }
  }

  private watchLeak(rec: ConnectionRecord<C>, stack: string, t: number): void {
    rec.stack = stack
    rec.checkoutAt = t
    const threshold = this.options.leakDetectionThreshold
    const id = rec.checkoutId
    rec.leakTimer = setTimeout(() => {
      rec.leakTimer = undefined
      if (rec.state === RecordState.Out && rec.checkoutId === id) {
        this.events.emit('leak', rec.connection, now() - rec.checkoutAt, stack)
      }
    }, threshold)
    // A leak warning must not keep the process alive.
    rec.leakTimer.unref?.()
  }

  // ---- waiters ----------------------------------------------------------------------------

  private timeoutWaiter(w: Waiter, duringPing = false): void {
    this.timeouts++
    // A timer's stack says nothing about the caller, and hundreds of waiters
    // may time out in one go: build the errors without capturing stacks.
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    let error: Error
    try {
      error = this.timeoutError(w, duringPing)
    } finally {
      Error.stackTraceLimit = limit
    }
    error.stack = `${error.name}: ${error.message}`
    if (this.events.has('timeout')) this.events.emit('timeout', now() - w.start, this.status())
    w.reject(error)
  }

  /**
   * "Pool exhausted" when every slot holds a live connection, when the
   * database refused new ones for being full, or when the caller's wait ended
   * during a pre-ping; otherwise the caller got nothing because opens failed
   * or hung: "database unreachable".
   */
  private timeoutError(w: Waiter, duringPing: boolean): Error {
    const t = this.timeout
    const o = this.options
    const state = {
      poolSize: o.poolSize,
      maxOverflow: o.maxOverflow,
      timeout: t,
      checkedOut: this.checkedOut(),
      waiting: this.waiters.length + 1,
    }
    if (this.lastOpenRefused && this.consecutiveFailures > 0) return this.refusedError(this.lastConnectError, state)
    if (duringPing) {
      return new PoolTimeoutError(
        `${this.label()} could not get a connection within poolTimeout ${t} ms: the connection it was given was still ` +
          `being pre-pinged (poolPrePingTimeout ${o.poolPrePingTimeout} ms); it stays in the pool ` +
          `(checked out: ${state.checkedOut}, waiting: ${state.waiting})`,
        state,
      )
    }
    if (w.lastError !== undefined || this.openCount < this.capacity) {
      const cause =
        w.lastError ??
        (this.consecutiveFailures > 0 && this.lastConnectError !== undefined
          ? this.lastConnectError
          : new ConnectTimeoutError(`no connection was opened within poolTimeout ${t} ms`))
      return new PoolConnectError(
        `${this.label()} could not get a connection within poolTimeout ${t} ms: ${describeError(cause)}`,
        { cause },
      )
    }
    let message =
      `${this.label()} limit of size ${state.poolSize} overflow ${state.maxOverflow} reached, ` +
      `connection timed out, timeout ${t} ms (checked out: ${state.checkedOut}, waiting: ${state.waiting})`
    if (o.leakDetectionThreshold > 0) message += this.holders()
    return new PoolTimeoutError(message, state)
  }

  /** The checkout stacks of whoever holds connections (leak detection on). */
  private holders(): string {
    const t = now()
    const lines: string[] = []
    for (const rec of this.records.values()) {
      if (rec.state !== RecordState.Out || rec.stack === undefined) continue
      lines.push(`  held for ${Math.round(t - rec.checkoutAt)} ms, checked out at:\n${indent(rec.stack)}`)
    }
    return lines.length === 0 ? '' : `\nconnections held:\n${lines.join('\n')}`
  }

  // ---- checkin -----------------------------------------------------------------------------

  /** @internal */
  releaseDirect(connection: C): Promise<void> {
    const rec = this.records.get(connection)
    if (rec === undefined && this.closedWhileHeld.take(connection)) return RESOLVED // released after its invalidation
    if (rec === undefined || rec.state !== RecordState.Out) {
      throw new PoolReleaseError(
        rec === undefined
          ? `${this.label()}: release() of a connection this pool does not hold (released twice, or from another pool)`
          : `${this.label()}: release() of a connection that is not checked out (released twice?)`,
      )
    }
    return this.checkinOut(rec) ?? RESOLVED
  }

  /** @internal Release through a {@link PooledConnection}. */
  releaseRecord(rec: ConnectionRecord<C>, checkoutId: number): void {
    if (rec.checkoutId !== checkoutId || (rec.state !== RecordState.Out && !rec.closedWhileOut)) {
      throw new PoolReleaseError(`${this.label()}: this checkout was already released`)
    }
    this.checkinOut(rec)
  }

  /** Resets and checks in a returned connection; the promise (when the reset is asynchronous) settles once it is back. */
  private checkinOut(rec: ConnectionRecord<C>): Promise<void> | undefined {
    if (rec.closedWhileOut) {
      // Invalidated (or force-closed) while held: already closed and forgotten.
      rec.closedWhileOut = false
      this.closedWhileHeld.take(rec.connection)
      return undefined
    }
    rec.state = RecordState.Returning
    if (rec.leakTimer !== undefined) {
      clearTimeout(rec.leakTimer)
      rec.leakTimer = undefined
    }
    rec.stack = undefined
    const reset = this.driver.reset
    if (this.resetMode !== null && reset !== undefined && !rec.soft && !this.disposed) {
      if (this.events.has('reset')) this.events.emit('reset', rec.connection, this.resetMode)
      let result: Promise<void> | void
      try {
        result = reset.call(this.driver, rec.connection, this.resetMode)
      } catch (error) {
        this.resetFailed(rec, error)
        return undefined
      }
      if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
        // Nobody gets the connection before its reset has finished.
        return (result as Promise<void>).then(
          () => this.checkin(rec),
          (error: unknown) => this.resetFailed(rec, error),
        )
      }
    }
    this.checkin(rec)
    return undefined
  }

  private resetFailed(rec: ConnectionRecord<C>, error: unknown): void {
    this.events.error(new PoolResetError(`resetting a returned connection failed; it was closed: ${describeError(error)}`, { cause: error }))
    this.closeRecord(rec)
  }

  /** A returned (and reset) connection: to the head waiter, to the idle queue, or closed. */
  private checkin(rec: ConnectionRecord<C>): void {
    if (rec.state !== RecordState.Returning) return // closed during its reset
    if ((this.events.mask & CHECKIN) !== 0) this.events.emit('checkin', rec.connection)
    this.place(rec)
  }

  /** A connection nobody holds: to the head waiter, to the idle queue, or closed. */
  private place(rec: ConnectionRecord<C>): void {
    if (this.disposed) {
      if (this.forget) this.forgetRecord(rec)
      else this.closeRecord(rec)
      return
    }
    if (rec.soft || rec.seq < this.staleBefore || (this.maxUses > 0 && rec.uses >= this.maxUses) || this.openCount > this.capacity) {
      // (Over capacity: the pool was shrunk while this one was held.)
      this.closeRecord(rec)
      return
    }
    const w = this.waiters.shift()
    if (w !== undefined) {
      // The handoff: straight to the longest waiter, never through the idle queue.
      if (this.recycle && rec.expired(now())) {
        this.closeRecord(rec)
        this.seek(w, true)
      } else this.serve(w, rec, false)
      return
    }
    this.toIdle(rec)
  }

  private toIdle(rec: ConnectionRecord<C>): void {
    if (this.idle.length >= this.idleCap) {
      this.closeRecord(rec) // overflow: idle never exceeds poolSize
      return
    }
    rec.state = RecordState.Idle
    if (this.options.idleTimeout > 0) {
      rec.idleSince = now()
      if (this.idleTimer === undefined) this.armIdleTimer(this.options.idleTimeout)
    }
    this.idle.push(rec)
  }

  private armIdleTimer(ms: number): void {
    this.idleTimer = setTimeout(() => this.evictIdle(), Math.max(1, ms))
    this.idleTimer.unref()
  }

  /** Closes connections idle longer than `idleTimeout`, oldest first, keeping `minIdle` open. */
  private evictIdle(): void {
    this.idleTimer = undefined
    if (this.disposed) return
    const limit = this.options.idleTimeout
    const t = now() + 1
    // The front of the idle deque is the longest idle in both FIFO and LIFO order.
    for (let rec = this.idle.peek(); rec !== undefined; rec = this.idle.peek()) {
      if (rec.idleSince + limit > t || this.openCount <= this.options.minIdle) break
      this.idle.shift()
      this.closeRecord(rec)
    }
    const next = this.idle.peek()
    if (next !== undefined && this.openCount > this.options.minIdle) this.armIdleTimer(next.idleSince + limit - t + 1)
  }

  // ---- opening -----------------------------------------------------------------------------

  /** Opens what the waiters (and `minIdle`) need, within capacity and the back-off. */
  private fill(): void {
    const room = this.capacity - this.openCount - this.pending
    // Saturated (the common case under load): nothing to open.
    if (room <= 0 || this.disposed) return
    let want = this.waiters.length - this.pending
    const minWant = this.options.minIdle - this.openCount - this.pending
    if (minWant > want) want = minWant
    if (want > room) want = room
    if (want <= 0) return
    if (this.consecutiveFailures > 0) {
      // The database has been failing: one probe at a time, after the back-off.
      if (this.pending > 0) return
      const wait = this.backoffUntil - now()
      if (wait > 0) {
        if (this.fillTimer === undefined) {
          this.fillTimer = setTimeout(() => {
            this.fillTimer = undefined
            this.fill()
          }, wait)
          this.fillTimer.unref()
        }
        return
      }
      want = 1
    }
    for (let i = 0; i < want; i++) this.startOpen()
  }

  private startOpen(): void {
    this.pending++
    // Opening costs a round trip or more: one clock read is nothing beside it.
    const start = now()
    this.openConnection().then(
      (connection) => {
        this.pending--
        this.opened(connection, start)
      },
      (error: PoolConnectError) => {
        this.pending--
        this.openFailed(error)
      },
    )
  }

  private opened(connection: C, start: number): void {
    this.consecutiveFailures = 0
    this.lastConnectError = undefined
    const t = now()
    const o = this.options
    const recycleAt = o.poolRecycle > 0 ? t + o.poolRecycle - Math.random() * o.poolRecycleJitter : Infinity
    const rec = new ConnectionRecord(connection, this.nextSeq++, t, recycleAt)
    rec.state = RecordState.Returning
    this.records.set(connection, rec)
    this.openCount++
    this.created++
    if (this.events.has('connect')) this.events.emit('connect', connection, t - start)
    if (this.disposed || this.openCount > this.capacity) {
      // (Over capacity: the pool was shrunk while this one was opening.)
      this.closeRecord(rec)
      return
    }
    const w = this.waiters.shift()
    if (w !== undefined) this.serve(w, rec, true)
    else this.toIdle(rec)
    this.fill()
  }

  private openFailed(error: PoolConnectError): void {
    this.connectErrors++
    this.consecutiveFailures++
    this.lastConnectError = error.cause
    const refused = this.isTemporary(error.cause)
    this.lastOpenRefused = refused
    const o = this.options
    const delay = Math.min(o.connectBackoff * 2 ** Math.min(this.consecutiveFailures - 1, 30), o.connectBackoffMax)
    this.backoffUntil = now() + delay
    if (this.disposed) {
      this.checkDrained()
      return
    }
    // The caller the open was for fails now, with the driver's error, not at its timeout;
    // unless the server is only full: then it waits on, for a returned connection or a retry.
    const w = refused ? undefined : this.waiters.shift()
    if (w !== undefined) w.reject(error)
    else if (!refused || this.waiters.length === 0) this.events.error(error)
    this.fill()
  }

  // ---- closing and invalidation ------------------------------------------------------------

  private closeRecord(rec: ConnectionRecord<C>): void {
    if (rec.state === RecordState.Closed) return
    if (rec.state === RecordState.Out) {
      rec.closedWhileOut = true
      this.closedWhileHeld.add(rec.connection)
    }
    this.records.delete(rec.connection)
    rec.state = RecordState.Closed
    if (rec.leakTimer !== undefined) {
      clearTimeout(rec.leakTimer)
      rec.leakTimer = undefined
    }
    this.openCount--
    this.closedCount++
    if (this.events.has('close')) this.events.emit('close', rec.connection)
    this.closeConnection(rec.connection)
    if (this.disposed) this.checkDrained()
    else this.fill()
  }

  /** `dispose({ close: false })`: drop a connection without closing it. */
  private forgetRecord(rec: ConnectionRecord<C>): void {
    if (rec.state === RecordState.Closed) return
    rec.state = RecordState.Closed
    this.records.delete(rec.connection)
    this.openCount--
    this.checkDrained()
  }

  /** @internal */
  invalidateDirect(connection: C, error?: unknown, options?: InvalidateOptions): void {
    const rec = this.records.get(connection)
    if (rec === undefined || rec.state !== RecordState.Out) {
      if (rec === undefined && this.closedWhileHeld.has(connection)) return // already invalidated
      throw new PoolReleaseError(`${this.label()}: invalidate() of a connection that is not checked out from this pool`)
    }
    this.invalidateRecord(rec, error, options?.soft === true)
  }

  /** @internal Invalidation through a {@link PooledConnection}. */
  invalidateCheckout(rec: ConnectionRecord<C>, checkoutId: number, error: unknown, soft: boolean): void {
    if (rec.state === RecordState.Out && rec.checkoutId === checkoutId) this.invalidateRecord(rec, error, soft)
  }

  private invalidateRecord(rec: ConnectionRecord<C>, error: unknown, soft: boolean): void {
    if (rec.state === RecordState.Closed) return
    this.invalidatedCount++
    if (this.events.has('invalidate')) this.events.emit('invalidate', rec.connection, error, soft)
    if (soft) {
      rec.soft = true
      return
    }
    // SQLAlchemy: a disconnect means every connection opened until now is suspect.
    // One from an already-stale generation does not condemn the newer ones.
    if (rec.seq >= this.staleBefore) this.staleBefore = this.nextSeq
    this.closeRecord(rec)
  }

  invalidateAll(): void {
    this.staleBefore = this.nextSeq
  }

  // ---- resizing ---------------------------------------------------------------------------

  /**
   * Changes `poolSize` and `maxOverflow` at run time. Growing opens what the
   * waiting callers need at once. Shrinking closes idle connections now
   * (longest idle first) and held ones as they come back; no holder loses
   * its connection, and opens still in flight past the new capacity are
   * closed when they arrive.
   *
   * ```ts
   * pool.resize({ poolSize: 2, maxOverflow: 0 })
   * ```
   */
  override resize(sizes: PoolResize): void {
    if (this.disposed) throw new PoolDisposedError(`${this.label()} has been disposed: it cannot be resized`)
    const o = this.resizedOptions(sizes)
    this.capacity = o.maxOverflow === -1 ? Infinity : o.poolSize + o.maxOverflow
    this.idleCap = o.poolSize === 0 ? Infinity : o.poolSize
    // The front of the idle deque is the longest idle, in FIFO and LIFO order alike.
    while (this.idle.length !== 0 && (this.idle.length > this.idleCap || this.openCount > this.capacity)) {
      this.closeRecord(this.idle.shift()!)
    }
    this.fill()
  }

  // ---- disposal ----------------------------------------------------------------------------

  async dispose(options: DisposeOptions = {}): Promise<void> {
    const close = options.close !== false
    const started = now()
    if (!this.disposed) {
      this.disposed = true
      this.forget = !close
      for (const timer of [this.fillTimer, this.idleTimer]) if (timer !== undefined) clearTimeout(timer)
      this.fillTimer = this.idleTimer = undefined
      for (const w of this.waiters.drain()) w.reject(new PoolDisposedError(`${this.label()} has been disposed`))
      for (const rec of this.idle.drain()) {
        if (close) this.closeRecord(rec)
        else this.forgetRecord(rec)
      }
    }
    if (!close) return
    if (this.openCount + this.pending > 0) {
      const drained = new Promise<void>((resolve) => {
        const previous = this.drainedResolve
        this.drainedResolve = () => {
          previous?.()
          resolve()
        }
      })
      await this.drainWithin(drained, options.timeout, () => {
        for (const rec of [...this.records.values()]) this.closeRecord(rec)
      })
    }
    const left = options.timeout === undefined ? this.options.connectTimeout : options.timeout - (now() - started)
    await this.closesSettled(Math.max(0, left))
  }

  private checkDrained(): void {
    if (this.openCount + this.pending === 0 && this.drainedResolve !== undefined) {
      const resolve = this.drainedResolve
      this.drainedResolve = undefined
      resolve()
    }
  }

  // ---- state -------------------------------------------------------------------------------

  /** SQLAlchemy's status line, e.g. `Pool size: 5  Connections in pool: 1 Current Overflow: -4 Current Checked out connections: 0`. */
  status(): string {
    const line =
      `Pool size: ${this.size()}  Connections in pool: ${this.checkedIn()} ` +
      `Current Overflow: ${this.overflow()} Current Checked out connections: ${this.checkedOut()}`
    return this.options.name === '' ? line : `${this.options.name}: ${line}`
  }

  /** `poolSize`. */
  size(): number {
    return this.options.poolSize
  }

  /** Idle connections. */
  checkedIn(): number {
    return this.idle.length
  }

  /** Connections open (or opening) and not idle, as SQLAlchemy counts them. */
  checkedOut(): number {
    return this.openCount + this.pending - this.idle.length
  }

  /** Open (and opening) connections minus `poolSize`: starts at `-poolSize`. */
  overflow(): number {
    return this.openCount + this.pending - this.options.poolSize
  }

  stats(): PoolStats {
    return {
      open: this.openCount,
      idle: this.idle.length,
      inUse: this.openCount - this.idle.length,
      waiting: this.waiters.length,
      pending: this.pending,
      created: this.created,
      closed: this.closedCount,
      invalidated: this.invalidatedCount,
      timeouts: this.timeouts,
      connectErrors: this.connectErrors,
      acquires: this.acquires,
      acquireTimeMean: this.acquires === 0 ? 0 : this.acquireTimeTotal / this.acquires,
      acquireTimeMax: this.acquireTimeMax,
    }
  }
}

function indent(stack: string): string {
  return stack
    .split('\n')
    .map((l) => `    ${l.trim()}`)
    .join('\n')
}
