/**
 * Session per request for Hono (4): a middleware and an error handler.
 *
 * ```ts
 * import { Hono } from 'hono'
 * import { createEngine, scopedSession, sessionmaker } from 'athanor'
 * import { errorHandler, sessionMiddleware } from 'athanor/hono'
 *
 * const db = scopedSession(sessionmaker({ bind: createEngine('sqlite://') }))
 * const app = new Hono()
 * app.use(sessionMiddleware(db))
 * app.onError(errorHandler())
 * app.get('/authors', async (c) => c.json(await db.current.db.selectFrom('author').selectAll().execute()))
 * ```
 */
import type { Context, ErrorHandler, MiddlewareHandler } from 'hono'
import { type HttpErrorOptions, type HttpErrorResponse, httpErrorFor } from './http-error.js'
import { commitOnSuccess, logServerErrors, type SessionPerRequestOptions } from './options.js'
import { openRequestUnit, type RequestScope } from './request-unit.js'

export { type HttpErrorBody, type HttpErrorOptions, type HttpErrorResponse, httpErrorFor } from './http-error.js'
export type { SessionPerRequestOptions } from './options.js'

function answerResponse(answer: HttpErrorResponse): Response {
  return new Response(JSON.stringify(answer.body), {
    status: answer.status,
    headers: { ...answer.headers, 'content-type': 'application/json; charset=utf-8' },
  })
}

/**
 * One Session per request as `scoped.current`. After the handler, the
 * session commits when it did not throw (`c.error` unset) and the status is
 * below 400 (see `commitOn`), and rolls back otherwise; the answer leaves
 * only then. A failed commit replaces the answer with {@link httpErrorFor}'s.
 * When the client goes away (the request's `signal` aborts, as
 * `@hono/node-server` does on a closed connection), the scope ends at once:
 * the session rolls back and its connection returns.
 *
 * ```ts
 * import { Hono } from 'hono'
 * import { createEngine, scopedSession, sessionmaker } from 'athanor'
 * import { sessionMiddleware } from 'athanor/hono'
 *
 * const db = scopedSession(sessionmaker({ bind: createEngine('sqlite://') }))
 * const app = new Hono()
 * app.use('/api/*', sessionMiddleware(db, { commitOn: (status) => status < 300 }))
 * ```
 */
export function sessionMiddleware(scoped: RequestScope, options: SessionPerRequestOptions = {}): MiddlewareHandler {
  const commitOn = options.commitOn ?? commitOnSuccess
  const onError = options.onError ?? logServerErrors
  return async (c: Context, next) => {
    let handled!: Promise<void>
    const unit = openRequestUnit(scoped, () => {
      handled = next()
    })
    const signal = c.req.raw.signal
    const abandon = () => unit.end()
    if (signal.aborted) abandon()
    else signal.addEventListener('abort', abandon, { once: true })
    try {
      await handled
      const commit = c.error === undefined && commitOn(c.res.status)
      try {
        await unit.settle(commit)
      } catch (error) {
        const answer = httpErrorFor(error, options)
        onError(error, answer)
        // A failed rollback loses nothing (nothing was committed): answer as meant.
        if (commit) {
          c.res = undefined
          c.res = answerResponse(answer)
        }
      }
    } finally {
      signal.removeEventListener('abort', abandon)
      unit.end()
      await unit.done
    }
  }
}

/**
 * For `app.onError`: athanor's errors (and errors Hono has no answer for)
 * get {@link httpErrorFor}'s answer; an error with its own response
 * (`HTTPException`) keeps it.
 *
 * ```ts
 * import { Hono } from 'hono'
 * import { errorHandler } from 'athanor/hono'
 *
 * const app = new Hono()
 * app.onError(errorHandler({ retryAfter: 2 }))
 * ```
 */
export function errorHandler(options: HttpErrorOptions & Pick<SessionPerRequestOptions, 'onError'> = {}): ErrorHandler {
  const onError = options.onError ?? logServerErrors
  return (error) => {
    const answer = httpErrorFor(error, options)
    const own = (error as { getResponse?: unknown }).getResponse
    if (answer.source === undefined && typeof own === 'function') return (own as () => Response).call(error)
    onError(error, answer)
    return answerResponse(answer)
  }
}
