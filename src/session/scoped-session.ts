import { AsyncLocalStorage } from 'node:async_hooks'
import { InvalidRequestError, SessionClosedError } from './errors.js'
import type { Session } from './session.js'
import type { SessionFactory } from './sessionmaker.js'

interface Scope<DB> {
  session: Session<DB> | null
  /** The scope is over: a late continuation that still carries it gets no new session. */
  ended: boolean
}

/**
 * One Session per async context (a web request): `current` is the same
 * Session anywhere inside `run`, a different one in a concurrent request,
 * and it is closed when `run` ends, even when the handler throws.
 *
 * ```ts
 * const db = scopedSession(Session)
 * http.createServer((req, res) => db.run(() => handle(req, res)))
 * async function handle(req, res) {
 *   db.current.add(new Author({ name: 'Ada' }))
 *   await db.current.commit()
 * }
 * ```
 */
export interface ScopedSession<DB> {
  /** The current scope's Session, made on first use. Outside any scope: {@link InvalidRequestError}. */
  readonly current: Session<DB>
  /** True inside a scope. */
  readonly active: boolean
  /** Runs `fn` in a new scope; the scope's session (if one was made) is closed when it ends. */
  run<T>(fn: () => Promise<T>): Promise<T>
  /** Like `run`, and commits when `fn` returns (it rolls back when `fn` throws). */
  begin<T>(fn: (session: Session<DB>) => Promise<T>): Promise<T>
  /**
   * Connect/Express-style middleware: a scope per request, closed when the
   * response finishes or the connection closes.
   */
  middleware(): (req: unknown, res: { once(event: 'close' | 'finish', fn: () => void): unknown }, next: (err?: unknown) => void) => void
}

/**
 * Binds sessions from `factory` to the current async context (AsyncLocalStorage).
 *
 * ```ts
 * const scoped = scopedSession(sessionmaker({ bind: engine }))
 * await scoped.begin(async (session) => session.add(new Author({ name: 'Ada' })))
 * ```
 */
export function scopedSession<DB>(factory: SessionFactory<DB>): ScopedSession<DB> {
  const storage = new AsyncLocalStorage<Scope<DB>>()
  const end = async (scope: Scope<DB>) => {
    scope.ended = true
    const s = scope.session
    scope.session = null
    if (s !== null) await s.close()
  }
  const scoped: ScopedSession<DB> = {
    get current(): Session<DB> {
      const scope = storage.getStore()
      if (scope === undefined) {
        throw new InvalidRequestError('scoped session used outside a scope: wrap the request in scoped.run() or the middleware')
      }
      if (scope.ended) {
        throw new SessionClosedError("this scope has ended and its session was closed: work left running after the request's end cannot use it")
      }
      if (scope.session === null || scope.session.isClosed) scope.session = factory()
      return scope.session
    },
    get active() {
      const scope = storage.getStore()
      return scope !== undefined && !scope.ended
    },
    run<T>(fn: () => Promise<T>): Promise<T> {
      const scope: Scope<DB> = { session: null, ended: false }
      return storage.run(scope, async () => {
        try {
          return await fn()
        } finally {
          await end(scope)
        }
      })
    },
    begin<T>(fn: (session: Session<DB>) => Promise<T>): Promise<T> {
      return scoped.run(() => scoped.current._block(fn))
    },
    middleware() {
      return (_req, res, next) => {
        const scope: Scope<DB> = { session: null, ended: false }
        let ended = false
        const done = () => {
          if (ended) return
          ended = true
          void end(scope).catch(() => undefined)
        }
        res.once('finish', done)
        res.once('close', done)
        storage.run(scope, () => next())
      }
    },
  }
  return scoped
}
