/**
 * `athanor/http`: what the framework integrations share, for any other
 * framework or a bare `node:http` server: the error mapper and the
 * request unit of work.
 *
 * ```ts
 * import { httpErrorFor } from 'athanor/http'
 *
 * export const answer = httpErrorFor(new Error('boom')) // { status: 500, body: { error: 'INTERNAL_ERROR', ... } }
 * ```
 */
export {
  HTTP_STATUS_BY_CODE,
  type HttpErrorBody,
  type HttpErrorOptions,
  type HttpErrorResponse,
  httpErrorFor,
  isMappedError,
} from './http-error.js'
export { commitOnSuccess, logServerErrors, type SessionPerRequestOptions } from './options.js'
export { openRequestUnit, type RequestScope, type RequestUnit } from './request-unit.js'
