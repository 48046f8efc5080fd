/**
 * Session per request for Express (4 and 5) and anything connect-style.
 *
 * ```ts
 * import express from 'express'
 * import { createEngine, scopedSession, sessionmaker } from 'athanor'
 * import { errorHandler, sessionMiddleware } from 'athanor/express'
 *
 * const db = scopedSession(sessionmaker({ bind: createEngine('sqlite://') }))
 * const app = express()
 * app.use(sessionMiddleware(db))
 * app.post('/authors', async (req, res) => {
 *   db.current.add(new Author({ name: req.body.name }))
 *   await db.current.flush()
 *   res.status(201).json({ ok: true }) // committed before this is sent
 * })
 * app.use(errorHandler())
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { type HttpErrorOptions, type HttpErrorResponse, httpErrorFor } from './http-error.js'
import { commitOnSuccess, logServerErrors, type SessionPerRequestOptions } from './options.js'
import { openRequestUnit, type RequestScope } from './request-unit.js'

export { type HttpErrorBody, type HttpErrorOptions, type HttpErrorResponse, httpErrorFor } from './http-error.js'
export type { SessionPerRequestOptions } from './options.js'

/**
 * A connect-style middleware.
 *
 * ```ts
 * import type { Middleware } from 'athanor/express'
 *
 * export const noop: Middleware = (_req, _res, next) => next()
 * ```
 */
export type Middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void

/**
 * A connect-style error middleware (four parameters, as Express requires).
 *
 * ```ts
 * import type { ErrorMiddleware } from 'athanor/express'
 *
 * export const pass: ErrorMiddleware = (error, _req, _res, next) => next(error)
 * ```
 */
export type ErrorMiddleware = (error: unknown, req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void

type End = ServerResponse['end']

/** Answers `answer` as JSON, replacing whatever the handler had set but not sent. */
function sendAnswer(res: ServerResponse, answer: HttpErrorResponse): void {
  for (const name of res.getHeaderNames()) res.removeHeader(name)
  res.writeHead(answer.status, { ...answer.headers, 'content-type': 'application/json; charset=utf-8' })
  res.end(JSON.stringify(answer.body))
}

/**
 * One Session per request: every handler after it sees the request's
 * Session as `scoped.current`. When the handler answers (its `res.end`, which
 * `res.json`/`res.send` call), the session commits first if the status is
 * below 400 (see `commitOn`) and rolls back otherwise (an error that reached
 * the error handler answers 4xx/5xx, so it rolls back); only then is the
 * answer sent. A failed commit answers with {@link httpErrorFor}'s mapping
 * instead, or, when the headers were already sent (a streamed body), destroys
 * the connection so the client cannot take a cut answer for a success. When
 * the client goes away first, the scope ends at once: the session rolls back
 * and its connection returns, and later statements of the handler fail with
 * `SessionClosedError`.
 *
 * ```ts
 * import express from 'express'
 * import { createEngine, scopedSession, sessionmaker } from 'athanor'
 * import { errorHandler, sessionMiddleware } from 'athanor/express'
 *
 * const db = scopedSession(sessionmaker({ bind: createEngine('sqlite://') }))
 * const app = express()
 * app.use(sessionMiddleware(db))
 * app.get('/n', async (_req, res) => {
 *   res.json(await db.current.db.selectFrom('author').selectAll().execute())
 * })
 * app.use(errorHandler())
 * ```
 */
export function sessionMiddleware(scoped: RequestScope, options: SessionPerRequestOptions = {}): Middleware {
  const commitOn = options.commitOn ?? commitOnSuccess
  const onError = options.onError ?? logServerErrors
  return (_req, res, next) => {
    const unit = openRequestUnit(scoped, () => next())
    const end = () => unit.end()
    res.once('finish', end)
    res.once('close', end)

    const realEnd: End = res.end
    let ending = false
    // Holds the answer back until the session has committed or rolled back.
    res.end = function holdEnd(this: ServerResponse, ...args: unknown[]): ServerResponse {
      if (ending) return (realEnd as (...a: unknown[]) => ServerResponse).apply(res, args)
      ending = true
      const release = () => {
        res.end = realEnd
        ;(realEnd as (...a: unknown[]) => ServerResponse).apply(res, args)
      }
      const commit = commitOn(res.statusCode)
      unit.settle(commit).then(release, (error: unknown) => {
        res.end = realEnd
        if (!commit) {
          // A failed rollback loses nothing (nothing was committed): answer as the handler meant.
          onError(error, httpErrorFor(error, options))
          release()
          return
        }
        const answer = httpErrorFor(error, options)
        onError(error, answer)
        if (res.headersSent) res.destroy(error instanceof Error ? error : undefined)
        else sendAnswer(res, answer)
      })
      return res
    } as End
  }
}

/**
 * The Express error middleware: answers athanor's errors (and any error
 * without an HTTP status of its own) with {@link httpErrorFor}'s mapping;
 * an error that carries a 4xx `status`/`statusCode` (a body parser's 400,
 * `http-errors`) goes on to the next error handler. Register it last.
 *
 * ```ts
 * import express from 'express'
 * import { errorHandler } from 'athanor/express'
 *
 * const app = express()
 * app.use(errorHandler({ retryAfter: 2, onError: (e, answer) => console.error(answer.status, e) }))
 * ```
 */
export function errorHandler(options: HttpErrorOptions & Pick<SessionPerRequestOptions, 'onError'> = {}): ErrorMiddleware {
  const onError = options.onError ?? logServerErrors
  // Four parameters: Express recognises error middleware by its arity.
  return (error: unknown, _req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => {
    const answer = httpErrorFor(error, options)
    if (answer.source === undefined && ownClientStatus(error) !== undefined) return next(error)
    onError(error, answer)
    if (res.headersSent || res.destroyed) {
      res.destroy()
      return
    }
    sendAnswer(res, answer)
  }
}

/** The 4xx status an error carries itself (`http-errors`, body parsers), if any. */
function ownClientStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const e = error as { status?: unknown; statusCode?: unknown }
  const status = typeof e.status === 'number' ? e.status : e.statusCode
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined
}
