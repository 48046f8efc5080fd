/**
 * Runs `fn` as a task of its own (as another request would), not as part of
 * the caller's async context: on an in-memory engine a checkout it makes is
 * then waited for by the caller's later checkouts, instead of being refused
 * as a same-context deadlock (SameContextCheckoutError).
 *
 * ```ts
 * const held = await inAnotherTask(() => engine.connect())
 * const waiting = engine.connect() // queues behind `held`
 * ```
 */
export function inAnotherTask<T>(fn: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => setImmediate(() => fn().then(resolve, reject)))
}
