/**
 * What an HTTP API answers for an error athanor threw: a status, headers and
 * a JSON body that never carries SQL, parameter values or a stack.
 *
 * Errors are recognised by their stable `code` (not `instanceof`), on the
 * error itself or anywhere along its `cause` chain: a flush that failed on a
 * unique key throws a `FlushError` whose cause is the `IntegrityError`, and it
 * still answers 409. Matching codes also works when the ESM and the CommonJS
 * build of athanor are both loaded in one process.
 */

/**
 * The JSON body of an error answer.
 *
 * ```ts
 * import type { HttpErrorBody } from 'athanor/http'
 *
 * export const body: HttpErrorBody = { error: 'DB_INTEGRITY', message: 'unique constraint "author_name_key" violated', constraint: 'author_name_key' }
 * ```
 */
export interface HttpErrorBody {
  /** A stable code: athanor's error code (`'DB_INTEGRITY'`, ...) or `'INTERNAL_ERROR'`. */
  readonly error: string
  /** A short message for the client, written by athanor: never the database's text. */
  readonly message: string
  /** IntegrityError: the constraint's name, when the database named it. */
  readonly constraint?: string
  /** IntegrityError: `'unique'`, `'foreignKey'`, `'notNull'` or `'check'`, when known. */
  readonly kind?: string
  /** IntegrityError: the columns at fault, when the database named them. */
  readonly columns?: readonly string[]
}

/**
 * An HTTP answer for an error: what {@link httpErrorFor} returns.
 *
 * ```ts
 * import { type HttpErrorResponse, httpErrorFor } from 'athanor/http'
 *
 * export const answer: HttpErrorResponse = httpErrorFor(new Error('boom')) // status 500
 * ```
 */
export interface HttpErrorResponse {
  readonly status: number
  /** Extra headers (`Retry-After` on 503). */
  readonly headers: Readonly<Record<string, string>>
  readonly body: HttpErrorBody
  /** The athanor error that decided the answer (the error or one of its causes); undefined for a 500 of an unknown error. */
  readonly source: Error | undefined
}

/**
 * Options of {@link httpErrorFor} and of the framework integrations.
 *
 * ```ts
 * import type { HttpErrorOptions } from 'athanor/http'
 *
 * export const options: HttpErrorOptions = { retryAfter: 5 }
 * ```
 */
export interface HttpErrorOptions {
  /** Seconds in the `Retry-After` header of a 503 (pool exhausted). Default 1. */
  readonly retryAfter?: number
}

/**
 * The error codes {@link httpErrorFor} maps, with their status.
 *
 * ```ts
 * import { HTTP_STATUS_BY_CODE } from 'athanor/http'
 *
 * HTTP_STATUS_BY_CODE.POOL_TIMEOUT // 503
 * ```
 */
export const HTTP_STATUS_BY_CODE: Readonly<Record<string, number>> = Object.freeze({
  DB_INTEGRITY: 409,
  SESSION_NOT_FOUND: 404,
  SESSION_STALE_DATA: 409,
  POOL_TIMEOUT: 503,
  DB_STATEMENT_TIMEOUT: 504,
})

const MESSAGES: Readonly<Record<string, string>> = {
  SESSION_NOT_FOUND: 'not found',
  SESSION_STALE_DATA: 'the row was changed or deleted by another request: reload it and retry',
  POOL_TIMEOUT: 'the service is busy: retry later',
  DB_STATEMENT_TIMEOUT: 'the database took too long to answer',
}

const INTERNAL: HttpErrorBody = Object.freeze({ error: 'INTERNAL_ERROR', message: 'internal server error' })

/** How deep the `cause` chain is followed (a cycle must not loop forever). */
const MAX_CAUSES = 8

function codeOf(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' && code in HTTP_STATUS_BY_CODE ? code : undefined
}

/** The first error on `error`'s cause chain whose code is mapped. */
function mappedSource(error: unknown): { error: Error; code: string } | undefined {
  let e: unknown = error
  for (let depth = 0; depth < MAX_CAUSES && e instanceof Error; depth++) {
    const code = codeOf(e)
    if (code !== undefined) return { error: e, code }
    e = e.cause
  }
  return undefined
}

function stringField(e: Error, name: string): string | undefined {
  const v = (e as unknown as Record<string, unknown>)[name]
  return typeof v === 'string' ? v : undefined
}

function integrityBody(e: Error): HttpErrorBody {
  const constraint = stringField(e, 'constraint')
  const kind = stringField(e, 'kind')
  const column = stringField(e, 'column')
  const listed = (e as { columns?: unknown }).columns
  const columns = Array.isArray(listed) ? listed.filter((c): c is string => typeof c === 'string') : column !== undefined ? [column] : []
  const what = kind === 'foreignKey' ? 'foreign key' : kind === 'notNull' ? 'not-null' : (kind ?? 'integrity')
  const message = constraint !== undefined ? `${what} constraint "${constraint}" violated` : `${what} constraint violated`
  return {
    error: 'DB_INTEGRITY',
    message,
    ...(constraint !== undefined ? { constraint } : {}),
    ...(kind !== undefined ? { kind } : {}),
    ...(columns.length > 0 ? { columns: Object.freeze(columns) } : {}),
  }
}

/**
 * The HTTP answer for an error, for any framework: `IntegrityError` → 409
 * (with the constraint), `ObjectNotFoundError` → 404, `StaleDataError` → 409,
 * `PoolTimeoutError` → 503 with `Retry-After`, `StatementTimeoutError` → 504,
 * anything else → 500 with a body that says nothing of the error. Log the
 * error itself on the server side.
 *
 * ```ts
 * import http from 'node:http'
 * import { httpErrorFor } from 'athanor/http'
 *
 * function fail(res: http.ServerResponse, error: unknown): void {
 *   const answer = httpErrorFor(error, { retryAfter: 2 })
 *   if (answer.status >= 500) console.error(error)
 *   res.writeHead(answer.status, { ...answer.headers, 'content-type': 'application/json' })
 *   res.end(JSON.stringify(answer.body))
 * }
 * ```
 */
export function httpErrorFor(error: unknown, options: HttpErrorOptions = {}): HttpErrorResponse {
  const found = mappedSource(error)
  if (found === undefined) return { status: 500, headers: {}, body: INTERNAL, source: undefined }
  const status = HTTP_STATUS_BY_CODE[found.code]
  const body = found.code === 'DB_INTEGRITY' ? integrityBody(found.error) : { error: found.code, message: MESSAGES[found.code] }
  const headers: Record<string, string> = {}
  if (status === 503) headers['retry-after'] = String(Math.max(0, Math.ceil(options.retryAfter ?? 1)))
  return { status, headers, body, source: found.error }
}

/**
 * True when {@link httpErrorFor} has a specific answer for the error (it or a
 * cause is one of the mapped athanor errors), false when it would answer 500.
 *
 * ```ts
 * import { httpErrorFor, isMappedError } from 'athanor/http'
 *
 * export function statusOf(error: unknown): number | undefined {
 *   return isMappedError(error) ? httpErrorFor(error).status : undefined
 * }
 * ```
 */
export function isMappedError(error: unknown): boolean {
  return mappedSource(error) !== undefined
}
