import { AsyncLocalStorage } from 'node:async_hooks'
import type { ScopedSession } from '../session/scoped-session.js'

/**
 * What the framework integrations use of a {@link ScopedSession}: any
 * `ScopedSession<DB>` is one, whatever its `DB`.
 *
 * ```ts
 * import { createEngine, scopedSession, sessionmaker } from 'athanor'
 * import type { RequestScope } from 'athanor/http'
 *
 * export const scope: RequestScope = scopedSession(sessionmaker({ bind: createEngine('sqlite://') }))
 * ```
 */
export interface RequestScope {
  /** True inside a scope. */
  readonly active: boolean
  /** The scope's session. */
  readonly current: {
    /** Commits the scope's session. */
    commit(): Promise<void>
    /** Rolls the scope's session back. */
    rollback(): Promise<void>
  }
  /** Runs `fn` in a new scope, closing its session at the end. */
  run<T>(fn: () => Promise<T>): Promise<T>
}

/**
 * One request's unit of work on a scoped session, for the framework
 * integrations: the scope opens with the request, {@link RequestUnit.settle}
 * commits or rolls back before the answer is sent, and
 * {@link RequestUnit.end} (response finished, or the client went away) ends
 * the scope, which closes the session and returns its connection.
 *
 * ```ts
 * import http from 'node:http'
 * import { createEngine, scopedSession, sessionmaker } from 'athanor'
 * import { openRequestUnit } from 'athanor/http'
 *
 * const db = scopedSession(sessionmaker({ bind: createEngine('sqlite://') }))
 * http.createServer((req, res) => {
 *   const unit = openRequestUnit(db, () => {
 *     void (async () => {
 *       await db.current.db.selectNoFrom((eb) => eb.lit(1).as('one')).execute()
 *       await unit.settle(true)
 *       res.end('ok')
 *     })()
 *   })
 *   res.once('close', () => unit.end())
 * })
 * ```
 */
export interface RequestUnit {
  /**
   * Commits (`true`) or rolls back (`false`) the request's session, from any
   * async context. Does nothing once the scope has ended (the client went
   * away: the scope's end rolled back). Rejects when the commit fails.
   */
  settle(commit: boolean): Promise<void>
  /**
   * The request is over (answered, or its client went away): the scope ends
   * as soon as a `settle` in progress is done, closing the session, which
   * rolls back what was not committed and returns the connection. Idempotent.
   */
  end(): void
  /** True until `end()`. */
  readonly open: boolean
  /** Resolves once the scope has ended and its session is closed. Never rejects. */
  readonly done: Promise<void>
}

/**
 * Opens a {@link RequestUnit} on `scoped` and calls `enter` inside its scope
 * (synchronously): whatever `enter` starts (the framework's next handler)
 * sees the request's session as `scoped.current`.
 *
 * ```ts
 * import { scopedSession, sessionmaker, createEngine } from 'athanor'
 * import { openRequestUnit } from 'athanor/http'
 *
 * const db = scopedSession(sessionmaker({ bind: createEngine('sqlite://') }))
 * const unit = openRequestUnit(db, () => undefined)
 * unit.end()
 * await unit.done
 * ```
 */
export function openRequestUnit(scoped: RequestScope, enter: () => void): RequestUnit {
  let endScope!: () => void
  const ended = new Promise<void>((resolve) => (endScope = resolve))
  let open = true
  // The settles in progress: the scope waits for them before it closes the session,
  // so a commit never races the close.
  let inflight: Promise<unknown> = Promise.resolve()
  let settleInScope: ((commit: boolean) => Promise<void>) | undefined
  let entered: { error: unknown } | undefined

  const done = scoped
    .run(async () => {
      // Bound to the scope's context: the framework may call settle from a
      // callback that lost it (a response hook, a stream event).
      settleInScope = AsyncLocalStorage.bind(async (commit: boolean): Promise<void> => {
        if (!scoped.active) return
        const session = scoped.current
        if (commit) await session.commit()
        else await session.rollback()
      })
      try {
        enter()
      } catch (error) {
        entered = { error }
        open = false
        return
      }
      await ended
      for (let last = inflight; ; last = inflight) {
        await last
        if (last === inflight) break
      }
    })
    .catch(() => undefined)

  if (entered !== undefined) throw entered.error

  return {
    settle(commit: boolean): Promise<void> {
      if (!open || settleInScope === undefined) return Promise.resolve()
      const p = settleInScope(commit)
      inflight = Promise.all([inflight, p.catch(() => undefined)])
      return p
    },
    end(): void {
      if (!open) return
      open = false
      endScope()
    },
    get open() {
      return open
    },
    done,
  }
}
