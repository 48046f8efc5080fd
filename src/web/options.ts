import type { HttpErrorOptions, HttpErrorResponse } from './http-error.js'

/**
 * Options common to the framework integrations.
 *
 * ```ts
 * import { createEngine, scopedSession, sessionmaker } from 'athanor'
 * import { sessionMiddleware } from 'athanor/express'
 *
 * const db = scopedSession(sessionmaker({ bind: createEngine('sqlite://') }))
 * export const middleware = sessionMiddleware(db, { commitOn: (status) => status < 300 })
 * ```
 */
export interface SessionPerRequestOptions extends HttpErrorOptions {
  /**
   * Whether an answer with this status commits the request's session (when
   * the handler did not throw). Default: `status < 400`, so a handler that
   * answers 4xx or 5xx without throwing rolls back too.
   */
  readonly commitOn?: (status: number) => boolean
  /**
   * Called with an error that was answered (the handler's, or a failed
   * commit's) and its answer: log it here. Default: 5xx errors go to
   * `console.error` (Fastify: `request.log.error`).
   */
  readonly onError?: (error: unknown, answer: HttpErrorResponse) => void
}

/**
 * The default {@link SessionPerRequestOptions.commitOn}: 1xx-3xx commit, 4xx and 5xx roll back.
 *
 * ```ts
 * import { commitOnSuccess } from 'athanor/http'
 *
 * commitOnSuccess(201) // true
 * commitOnSuccess(422) // false
 * ```
 */
export function commitOnSuccess(status: number): boolean {
  return status < 400
}

/**
 * The default {@link SessionPerRequestOptions.onError}: server errors are logged, client errors are not.
 *
 * ```ts
 * import { httpErrorFor, logServerErrors } from 'athanor/http'
 *
 * const error = new Error('boom')
 * logServerErrors(error, httpErrorFor(error)) // console.error, as it is a 500
 * ```
 */
export function logServerErrors(error: unknown, answer: HttpErrorResponse): void {
  if (answer.status >= 500) console.error('athanor: request failed:', error)
}
