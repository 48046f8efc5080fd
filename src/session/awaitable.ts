import { InvalidRequestError } from './errors.js'
import { EXPIRED, PERSISTENT, STATUS_NAMES, stateOf } from './state.js'

/**
 * An object's attributes as promises: `await session.awaitable(author).books`.
 * Each property read is a promise of the attribute's value, loading it first
 * when it must be (an expired column, an unloaded relationship); methods are left out.
 *
 * ```ts
 * const books: Promise<Book[]> = session.awaitable(author).books
 * ```
 */
export type Awaitable<T> = {
  readonly [K in keyof T as T[K] extends (...args: never[]) => unknown ? never : K]: Promise<T[K]>
}

/** What the awaitable view needs of its session (the session implements it). */
export interface AwaitableHost {
  load(objects: readonly object[], path: string): Promise<void>
  /** Loads the object's expired columns, keeping its unflushed changes. */
  _loadExpired(obj: object): Promise<void>
}

/**
 * The awaitable view of `obj` for `host`: reading an expired column refreshes
 * the expired columns (one SELECT by key; unflushed changes are kept), reading
 * an unloaded relationship loads it (`session.load(obj, name)`); anything
 * already there resolves at once, without I/O.
 */
export function awaitableView<T extends object>(host: AwaitableHost, obj: T): Awaitable<T> {
  const s = stateOf(obj)
  if (s === undefined) throw new InvalidRequestError(`${obj?.constructor?.name ?? typeof obj} is not an instance of a mapped class (extend Model(table))`)
  const relationships = s.mapper.relationships
  const view = new Proxy(Object.create(null) as object, {
    get(_target, prop) {
      if (typeof prop !== 'string') return undefined
      // A view is not a thenable: `await session.awaitable(o)` must not read `then`.
      if (prop === 'then') return undefined
      return (async () => {
        const st = stateOf(obj)!
        if (relationships.has(prop) && st.status === PERSISTENT && (st.rels === null || !(prop in st.rels)) && !(st.fresh && relationships.get(prop)!.kind === 'oneToMany')) {
          await host.load([obj], prop)
        } else if (prop in st.values && st.values[prop] === EXPIRED) {
          if (st.status !== PERSISTENT) {
            throw new InvalidRequestError(`${obj.constructor.name} is ${STATUS_NAMES[st.status]}: its expired attribute "${prop}" cannot be loaded`)
          }
          await host._loadExpired(obj)
        }
        return (obj as Record<string, unknown>)[prop]
      })()
    },
  })
  return view as Awaitable<T>
}
