/**
 * Session per request for Fastify (5): a plugin.
 *
 * ```ts
 * import Fastify from 'fastify'
 * import { createEngine, scopedSession, sessionmaker } from 'athanor'
 * import { sessionPlugin } from 'athanor/fastify'
 *
 * const db = scopedSession(sessionmaker({ bind: createEngine('sqlite://') }))
 * const app = Fastify()
 * await app.register(sessionPlugin, { scoped: db })
 * app.get('/authors', async () => db.current.db.selectFrom('author').selectAll().execute())
 * ```
 */
import type { FastifyError, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify'
import { type HttpErrorResponse, httpErrorFor } from './http-error.js'
import { commitOnSuccess, type SessionPerRequestOptions } from './options.js'
import { openRequestUnit, type RequestScope, type RequestUnit } from './request-unit.js'

export { type HttpErrorBody, type HttpErrorOptions, type HttpErrorResponse, httpErrorFor } from './http-error.js'
export type { SessionPerRequestOptions } from './options.js'

/**
 * Options of {@link sessionPlugin}.
 *
 * ```ts
 * import { createEngine, scopedSession, sessionmaker } from 'athanor'
 * import type { SessionPluginOptions } from 'athanor/fastify'
 *
 * export const options: SessionPluginOptions = {
 *   scoped: scopedSession(sessionmaker({ bind: createEngine('sqlite://') })),
 *   errorHandler: false,
 * }
 * ```
 */
export interface SessionPluginOptions extends SessionPerRequestOptions {
  /** The scoped session whose `current` each request gets. */
  readonly scoped: RequestScope
  /**
   * Install an error handler that answers athanor's errors (and errors
   * without a status of their own) with {@link httpErrorFor}'s mapping.
   * Errors that carry a status (validation: 400) keep Fastify's answer.
   * Default true; false leaves the error handler to you.
   */
  readonly errorHandler?: boolean
}

interface RequestState {
  unit: RequestUnit
  /** The handler (or a hook) threw: the session rolls back whatever the answer. */
  errored: boolean
}

function logToRequest(request: FastifyRequest): (error: unknown, answer: HttpErrorResponse) => void {
  return (error, answer) => {
    if (answer.status >= 500) request.log.error({ err: error }, 'athanor: request failed')
  }
}

const plugin: FastifyPluginCallback<SessionPluginOptions> = (fastify, options, done) => {
  const scoped = options.scoped
  const commitOn = options.commitOn ?? commitOnSuccess
  const states = new WeakMap<FastifyRequest, RequestState>()

  fastify.addHook('onRequest', (request, reply, next) => {
    const state: RequestState = { unit: openRequestUnit(scoped, () => next()), errored: false }
    states.set(request, state)
    // 'close' also comes when the client goes away before the answer: the
    // scope ends then, rolling back and returning the connection at once.
    reply.raw.once('close', () => state.unit.end())
  })

  fastify.addHook('onError', async (request) => {
    const state = states.get(request)
    if (state !== undefined) state.errored = true
  })

  // Before the answer leaves: commit (or roll back). A failed commit throws
  // here, and Fastify answers it through the error handler instead.
  fastify.addHook('onSend', async (request, reply, payload) => {
    const state = states.get(request)
    if (state === undefined) return payload
    const commit = !state.errored && commitOn(reply.statusCode)
    if (commit) {
      await state.unit.settle(true)
    } else {
      // A failed rollback loses nothing (nothing was committed): answer as meant.
      await state.unit.settle(false).catch((error: unknown) => request.log.warn({ err: error }, 'athanor: rollback failed'))
    }
    return payload
  })

  if (options.errorHandler !== false) {
    fastify.setErrorHandler(async (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const answer = httpErrorFor(error, options)
      const own = error.statusCode
      // Fastify's own answer for errors that carry a status (validation, body too large).
      if (answer.source === undefined && typeof own === 'number' && own < 500) throw error
      ;(options.onError ?? logToRequest(request))(error, answer)
      return reply.code(answer.status).headers(answer.headers).type('application/json; charset=utf-8').send(answer.body)
    })
  }
  done()
}

// Not encapsulated (what fastify-plugin does): the hooks apply to every route of the app.
Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'athanor',
})

/**
 * The Fastify plugin: one Session per request as `scoped.current`, committed
 * in `onSend` (before the answer leaves) when the handler did not throw and
 * the status is below 400 (see `commitOn`), rolled back otherwise. A failed
 * commit is answered through the error handler. The request's scope ends
 * when the response closes, also when the client goes away mid-request: the
 * session rolls back and its connection returns at once. With
 * `errorHandler` (the default) athanor's errors get {@link httpErrorFor}'s
 * answers.
 *
 * ```ts
 * import Fastify from 'fastify'
 * import { createEngine, scopedSession, sessionmaker } from 'athanor'
 * import { sessionPlugin } from 'athanor/fastify'
 *
 * const db = scopedSession(sessionmaker({ bind: createEngine('sqlite://') }))
 * const app = Fastify()
 * await app.register(sessionPlugin, { scoped: db, retryAfter: 2 })
 * ```
 */
export const sessionPlugin: FastifyPluginCallback<SessionPluginOptions> = plugin

export default sessionPlugin
