/**
 * The caller's frames on a statement's error. A driver builds its error in
 * its socket callback, so the stack ends in `TCP.onStreamRead` and never names
 * the line that issued the statement. An `Error` made when the statement
 * fails, inside an async function the caller awaits, holds the caller's
 * frames: V8 adds the awaiting async functions to its stack.
 */

/** Errors already given a caller's frames: an error shared by several callers keeps the first one's. */
const EXTENDED = new WeakSet<object>()

/**
 * Appends the frames of `site` (an `Error` made in the caller's await chain)
 * to `error`'s stack, under a `--- issued at:` line, and returns
 * `error`. Anything that is not an `Error`, or already has caller frames, is
 * returned as is.
 *
 * ```ts
 * try { return await run(query) } catch (error) { throw withCallerFrames(error, new Error()) }
 * ```
 */
export function withCallerFrames(error: unknown, site: Error): unknown {
  if (!(error instanceof Error) || EXTENDED.has(error)) return error
  const own = error.stack
  const caller = site.stack
  if (typeof own !== 'string' || caller === undefined) return error
  EXTENDED.add(error)
  // Drop the site's first line (`Error`) and its own frame (the capturing method).
  const at = caller.indexOf('\n    at ', caller.indexOf('\n') + 1)
  if (at < 0) return error
  error.stack = `${own}\n    --- issued at:${caller.slice(at)}`
  return error
}

/**
 * Settles as `pending` does; on failure the error gets the frames of the
 * async functions awaiting this one (the caller's), as Kysely's own drivers
 * add them. The `Error` holding them is made only on failure, and V8 fills
 * it from the await chain, not from the synchronous Kysely layers between.
 *
 * ```ts
 * return withCallerStack(runner.runStatement(query))
 * ```
 */
export async function withCallerStack<T>(pending: Promise<T>): Promise<T> {
  try {
    return await pending
  } catch (error) {
    // A driver that fails at once (SQLite) rejects before Kysely's callers have
    // chained their awaits (`return promise` in an async function takes two
    // ticks to link): let the chain form, or V8 sees only its first links.
    for (let tick = 0; tick < LINKING_TICKS; tick++) await undefined
    throw withCallerFrames(error, callerSite())
  }
}

/** Microtask turns for the awaiting chain to link (two per `return promise` in Kysely's providers). */
const LINKING_TICKS = 4

/** Frames kept of the caller's chain: Kysely's transaction layers alone take ten (V8's default limit). */
const CALLER_FRAMES = 40

/**
 * An `Error` holding the current await chain, deep enough to reach past
 * Kysely's layers: what {@link withCallerFrames} appends.
 *
 * ```ts
 * catch (error) { throw withCallerFrames(error, callerSite()) }
 * ```
 */
export function callerSite(): Error {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = Math.max(limit, CALLER_FRAMES)
  try {
    return new Error()
  } finally {
    Error.stackTraceLimit = limit
  }
}
