import type { Connection, Engine } from '../engine/types.js'
import { SessionEvents, type SessionEventName, type SessionListener } from './events.js'
import { Session, type SessionOptions } from './session.js'

/**
 * Makes sessions with fixed options. Call it for a Session; `begin(fn)` runs
 * one unit of work: commit when `fn` returns, roll back when it throws, and
 * always close. The session is dead once `fn` settles: a statement `fn` left
 * running that issues another gets `SessionClosedError`, and a commit
 * the database turned into a rollback rejects with `TransactionRolledBackError`.
 *
 * ```ts
 * const Session = sessionmaker({ bind: engine })
 * const id = await Session.begin(async (session) => {
 *   const a = new Author({ name: 'Ada' })
 *   session.add(a)
 *   await session.flush()
 *   return a.id
 * })
 * ```
 */
export interface SessionFactory<DB> {
  (overrides?: Partial<SessionOptions<DB>>): Session<DB>
  readonly options: Readonly<SessionOptions<DB>>
  /** A new Session for `fn`: committed when `fn` returns, rolled back when it throws, always closed. */
  begin<T>(fn: (session: Session<DB>) => Promise<T>): Promise<T>
  /** A listener for every session this factory makes. */
  on(event: SessionEventName, listener: SessionListener<Session<DB>>): SessionFactory<DB>
  /** Removes a listener added with {@link SessionFactory.on}. */
  off(event: SessionEventName, listener: SessionListener<Session<DB>>): SessionFactory<DB>
}

/**
 * SQLAlchemy's `sessionmaker`: `bind` is an Engine (or, for tests, a
 * Connection already in a transaction); `autoflush` (default true),
 * `autocommit` (default false), `expireOnCommit` (default true).
 *
 * ```ts
 * const Session = sessionmaker({ bind: engine, expireOnCommit: false })
 * await using session = Session()
 * ```
 */
export function sessionmaker<DB>(options: SessionOptions<DB> & { bind: Engine<DB> | Connection<DB> }): SessionFactory<DB> {
  const frozen = Object.freeze({ ...options })
  const events = new SessionEvents<Session<DB>>()
  const factory = ((overrides?: Partial<SessionOptions<DB>>) =>
    new Session<DB>(overrides ? { ...frozen, ...overrides } : frozen, events)) as SessionFactory<DB>
  Object.defineProperty(factory, 'options', { value: frozen })
  factory.begin = <T>(fn: (session: Session<DB>) => Promise<T>): Promise<T> => factory()._block(fn)
  factory.on = (event, listener) => {
    events.on(event, listener)
    return factory
  }
  factory.off = (event, listener) => {
    events.off(event, listener)
    return factory
  }
  return factory
}
