/**
 * Session events; every listener gets the session and may be async (it is awaited).
 *
 * ```ts
 * Session.on('afterCommit', async (session) => { await publishOutbox(session) })
 * ```
 */
export type SessionEventName = 'beforeFlush' | 'afterFlush' | 'afterBegin' | 'afterCommit' | 'afterRollback'

/** A session event listener. */
export type SessionListener<S> = (session: S) => void | Promise<void>

/** Listeners by event, shared by a factory and copied into each session it makes. */
export class SessionEvents<S> {
  private readonly listeners = new Map<SessionEventName, SessionListener<S>[]>()

  constructor(private readonly parent: SessionEvents<S> | null = null) {}

  on(event: SessionEventName, listener: SessionListener<S>): void {
    const list = this.listeners.get(event)
    if (list) list.push(listener)
    else this.listeners.set(event, [listener])
  }

  off(event: SessionEventName, listener: SessionListener<S>): void {
    const list = this.listeners.get(event)
    if (list) {
      const i = list.indexOf(listener)
      if (i >= 0) list.splice(i, 1)
    }
  }

  /** True when nobody listens (so the caller can skip the await). */
  has(event: SessionEventName): boolean {
    return (this.listeners.get(event)?.length ?? 0) > 0 || (this.parent?.has(event) ?? false)
  }

  async emit(event: SessionEventName, session: S): Promise<void> {
    if (this.parent) await this.parent.emit(event, session)
    const list = this.listeners.get(event)
    if (list) for (const l of [...list]) await l(session)
  }
}
