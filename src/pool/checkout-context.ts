import { AsyncLocalStorage } from 'node:async_hooks'

/**
 * Where a checkout came from, for telling a deadlock from a wait: a mark per
 * synchronous stretch of code that called into athanor, linked to the mark
 * of the code it descends from (async context, carried by AsyncLocalStorage).
 *
 * A checkout held by a mark that is a strict ancestor of the caller's can
 * only be given back by code that runs after the caller's wait ends, when
 * the pool has one connection: that wait would last the whole `poolTimeout`.
 * A checkout from the same stretch (`Promise.all` of two sessions) or from
 * an unrelated context (another request) is waited for as usual.
 *
 * Used only by single-connection pools (in-memory databases): the first
 * mark turns AsyncLocalStorage on, which costs every promise a little.
 */
export class CheckoutContext {
  /** Marks between this one and the root of its chain. */
  readonly depth: number
  readonly parent: CheckoutContext | undefined

  constructor(
    /** The synchronous stretch that made the mark. */
    readonly segment: object,
    parent: CheckoutContext | undefined,
  ) {
    // A long sequence of awaited calls makes a long chain: it is cut, so old marks can be
    // collected. A holder more than MAX_DEPTH calls back is then not seen: its waiter times out as before.
    const cut = parent !== undefined && parent.depth >= MAX_DEPTH
    this.parent = cut ? undefined : parent
    this.depth = parent === undefined || cut ? 0 : parent.depth + 1
  }

  /** Where this context first checked a connection out: captured then, formatted only if read. */
  private origin: Error | undefined = undefined

  /** Records where this context checks out (once: a stack capture costs microseconds). */
  checkingOut(caller: Function): void {
    if (this.origin !== undefined) return
    const limit = Error.stackTraceLimit
    // One capture, from the caller up (the constructor's own would be a second).
    Error.stackTraceLimit = 0
    const origin = new Error('checked out at')
    Error.stackTraceLimit = ORIGIN_FRAMES
    Error.captureStackTrace(origin, caller)
    Error.stackTraceLimit = limit
    this.origin = origin
  }

  /** The stack of that checkout (V8 adds the awaiting callers as `at async` frames). */
  get stack(): string {
    return (this.origin?.stack ?? '').replace(/^Error: checked out at\n?/, '')
  }

  /** True when `this` is a strict ancestor of `other`. */
  encloses(other: CheckoutContext): boolean {
    for (let c = other.parent; c !== undefined; c = c.parent) if (c === this) return true
    return false
  }
}

/** Longest chain of marks kept (see CheckoutContext). */
const MAX_DEPTH = 256

const storage = new AsyncLocalStorage<CheckoutContext>()

/**
 * The current synchronous stretch: the same object until the microtask queue
 * next runs. (A stretch may share its object with a few microtasks queued
 * before it ends: that can hide a deadlock, which then times out as before,
 * never invent one.)
 */
let segment: object | null = null
const endSegment = (): void => {
  segment = null
}
function currentSegment(): object {
  if (segment === null) {
    segment = {}
    queueMicrotask(endSegment)
  }
  return segment
}

/** Calls from athanor's own code deep in an operation take the operation's mark rather than make one. */
let adopting = 0

/**
 * The caller's mark: its own, made now if this stretch has none yet (a user's
 * call into athanor), or, inside {@link adoptCheckoutContext}, the mark the
 * operation inherited.
 *
 * ```ts
 * const here = enterCheckoutContext()
 * ```
 */
export function enterCheckoutContext(): CheckoutContext {
  const m = storage.getStore()
  if (adopting > 0 && m !== undefined) return m
  const s = currentSegment()
  if (m !== undefined && m.segment === s) return m
  const n = new CheckoutContext(s, m)
  storage.enterWith(n)
  return n
}

/** Frames kept of the stack where a mark was made. */
const ORIGIN_FRAMES = 16

/**
 * Runs `fn` (synchronously) so that a checkout it starts counts as part of
 * the operation that called it: athanor's session and `engine.db` check out
 * deep inside an operation the user started earlier.
 *
 * ```ts
 * const p = adoptCheckoutContext(() => engine.connect())
 * ```
 */
export function adoptCheckoutContext<T>(fn: () => T): T {
  adopting++
  try {
    return fn()
  } finally {
    adopting--
  }
}

/** {@link adoptCheckoutContext} without a closure, for hot paths: `adoptBegin(); try { ... } finally { adoptEnd() }`. */
export function adoptBegin(): void {
  adopting++
}

/** Ends {@link adoptBegin}. */
export function adoptEnd(): void {
  adopting--
}
