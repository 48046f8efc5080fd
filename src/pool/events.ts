import type { PoolEventMap, PoolEventName } from './types.js'

type Listener = (...args: never[]) => void
// Listeners are stored untyped; `on`/`off` keep the public signatures typed.
const asListener = (l: unknown): Listener => l as Listener

/**
 * The pool's event emitter. Cheap when nobody listens (callers check
 * `has(event)` before building arguments), and safe: a listener that throws
 * never breaks the pool; its error goes to the `error` listeners, or nowhere.
 *
 * ```ts
 * const events = new PoolEvents<Conn>()
 * events.on('connect', (c, ms) => console.log('opened', c, 'in', ms, 'ms'))
 * if (events.has('connect')) events.emit('connect', conn, openMs)
 * ```
 */
export class PoolEvents<C> {
  private readonly listeners = new Map<PoolEventName, Listener[]>()
  /** Bit per event with at least one listener (see {@link EVENT_BITS}): one integer test on the hot path. */
  mask = 0

  on<E extends PoolEventName>(event: E, listener: (...args: PoolEventMap<C>[E]) => void): void {
    const list = this.listeners.get(event) ?? []
    // Copy on write: an emit in progress keeps iterating its own snapshot.
    this.listeners.set(event, [...list, asListener(listener)])
    this.mask |= bit(event)
  }

  off<E extends PoolEventName>(event: E, listener: (...args: PoolEventMap<C>[E]) => void): void {
    const list = this.listeners.get(event)
    if (list === undefined) return
    const i = list.indexOf(asListener(listener))
    if (i < 0) return
    const next = [...list.slice(0, i), ...list.slice(i + 1)]
    if (next.length === 0) {
      this.listeners.delete(event)
      this.mask &= ~bit(event)
    } else this.listeners.set(event, next)
  }

  /** True when `event` has a listener. */
  has(event: PoolEventName): boolean {
    return (this.mask & bit(event)) !== 0
  }

  emit<E extends PoolEventName>(event: E, ...args: PoolEventMap<C>[E]): void {
    const list = this.listeners.get(event)
    if (list === undefined) return
    for (const listener of list) {
      try {
        ;(listener as (...a: unknown[]) => void)(...args)
      } catch (error) {
        // A failing error listener is swallowed: there is nowhere left to report it.
        if (event !== 'error') this.emit('error', error)
      }
    }
  }

  /** Reports a background error to `error` listeners, or swallows it when there are none. */
  error(error: unknown): void {
    if (this.has('error')) this.emit('error', error)
  }

  /** Copies every listener into `target` (for `recreate()`). */
  copyTo(target: PoolEvents<C>): void {
    for (const [event, list] of this.listeners) {
      for (const listener of list) target.on(event, listener as never)
    }
  }
}

/** Each event's bit in {@link PoolEvents.mask}. */
export const EVENT_BITS: Readonly<Record<PoolEventName, number>> = {
  connect: 1,
  checkout: 2,
  checkin: 4,
  reset: 8,
  invalidate: 16,
  close: 32,
  timeout: 64,
  leak: 128,
  error: 256,
  budget: 512,
}

function bit(event: PoolEventName): number {
  return EVENT_BITS[event] ?? 0
}
