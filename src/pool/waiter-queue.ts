import { Deque } from './deque.js'
import type { Waiter } from './waiter.js'

const now = (): number => performance.now()

/**
 * The FIFO queue of callers waiting for a connection, with their timeouts.
 *
 * Every waiter has the same timeout, so queue order is deadline order and ONE
 * timer, armed for the head's deadline, serves the whole queue: no timer per
 * waiter, and serving the head leaves the timer alone (it re-arms itself for
 * the new head when it fires early). The timer is unref'ed while the queue is
 * empty, so an idle pool never keeps the process alive.
 *
 * A waiter that joins a non-empty queue may be pushed unstamped; it is stamped
 * at the queue's next clock read ({@link stampAll} at every 8th join, the
 * timer, or the end of the event-loop turn), which is never before it joined:
 * its deadline can be late by at most that turn, never early. A handoff to a
 * waiter still unstamped costs no clock read.
 *
 * ```ts
 * const q = new WaiterQueue(30_000, (w) => w.reject(new Error('timed out')))
 * q.push(waiter)
 * const head = q.shift()
 * ```
 */
export class WaiterQueue {
  private readonly items = new Deque<Waiter>()
  private timer: ReturnType<typeof setTimeout> | undefined = undefined
  private timerAt = 0
  private timerRef = false
  /** Waiters at the back not yet stamped with a start time. */
  private unstamped = 0
  private stampScheduled = false
  private readonly stampTask = (): void => {
    this.stampScheduled = false
    if (this.unstamped > 0) this.stampAll(now())
  }

  constructor(
    /** Called for each waiter whose deadline passed, after it left the queue. */
    private readonly expire: (waiter: Waiter) => void,
  ) {}

  get length(): number {
    return this.items.length
  }

  /** True when a joining waiter must be stamped now rather than later. */
  mustStamp(): boolean {
    return this.items.length === 0 || this.timer === undefined || this.unstamped >= 7
  }

  /** Stamps the unstamped waiters at the back with `t` (a clock read made now). */
  stampAll(t: number): void {
    for (let i = this.items.length - 1, n = this.unstamped; n > 0; i--, n--) this.items.at(i)!.stamp(t)
    this.unstamped = 0
  }

  /** Queues a new waiter at the back. */
  push(w: Waiter): void {
    this.items.push(w)
    if (w.start < 0) {
      // A timer is armed for an earlier waiter: its firing stamps this one at the latest.
      this.unstamped++
      if (!this.timerRef) {
        this.timer!.ref()
        this.timerRef = true
      }
      if (!this.stampScheduled) {
        this.stampScheduled = true
        setImmediate(this.stampTask)
      }
      return
    }
    this.watch(w.deadline)
  }

  /**
   * Puts back a (stamped) waiter whose connection failed its pre-ping: at the
   * front, or where its deadline belongs if it started after the head.
   */
  pushRetry(w: Waiter): void {
    if ((this.items.peek()?.deadline ?? Infinity) >= w.deadline) this.items.unshift(w)
    else {
      // Rare: keep the queue in deadline order (unstamped waiters, deadline Infinity, stay last).
      const all = this.items.drain()
      let i = 0
      while (i < all.length && all[i].deadline < w.deadline) i++
      all.splice(i, 0, w)
      for (const x of all) this.items.push(x)
    }
    this.watch(w.deadline)
  }

  /** Takes the longest waiter. */
  shift(): Waiter | undefined {
    const w = this.items.shift()
    if (w === undefined) return undefined
    if (w.start < 0) this.unstamped--
    if (this.items.length === 0 && this.timer !== undefined && this.timerRef) {
      // Nobody waits: the timer must not keep the process alive.
      this.timer.unref()
      this.timerRef = false
    }
    return w
  }

  /** Empties the queue and stops the timer (dispose). */
  drain(): Waiter[] {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    this.unstamped = 0
    return this.items.drain()
  }

  /** Makes sure the timer fires no later than `deadline`. */
  private watch(deadline: number): void {
    if (this.timer === undefined) this.arm(deadline)
    else if (deadline < this.timerAt) {
      clearTimeout(this.timer)
      this.arm(deadline)
    } else if (!this.timerRef) {
      this.timer.ref()
      this.timerRef = true
    }
  }

  private arm(deadline: number): void {
    this.timerAt = deadline
    this.timerRef = true
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, deadline - now()))
  }

  private onTimer(): void {
    this.timer = undefined
    // Never early: a timer that fires a little before the deadline is re-armed.
    const t = now()
    if (this.unstamped > 0) this.stampAll(t)
    for (let w = this.items.peek(); w !== undefined && w.deadline <= t; w = this.items.peek()) {
      this.items.shift()
      this.expire(w)
    }
    // An expire callback may have queued a new waiter (and armed a timer) meanwhile.
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    const head = this.items.peek()
    if (head !== undefined) this.arm(head.deadline)
  }
}
