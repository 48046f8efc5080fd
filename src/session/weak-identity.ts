import type { Mapper } from './mapper.js'
import { type InstanceState, stateOf } from './state.js'

/**
 * The weak half of a session's identity map: objects a stream released.
 * `session.stream` hands out objects a batch at a time and, once the caller
 * moved on, moves the unchanged ones here, so that memory is bounded by the
 * batch and what the caller keeps: an object still referenced is found here
 * (the same object for the same row, as in the strong map), one no longer
 * referenced is collected and its entry removed. The strong map stays a plain
 * Map: this one is looked at only on a miss, and only when not empty.
 *
 * ```ts
 * const weak = new WeakIdentity()
 * weak.hold(state) // after the caller is done with a streamed batch
 * weak.take(mapper, key) // the state again, if its object is alive
 * ```
 */
export class WeakIdentity {
  readonly #maps = new Map<Mapper, Map<unknown, WeakRef<object>>>()
  #size = 0
  readonly #registry = new FinalizationRegistry<{ readonly mapper: Mapper; readonly key: unknown; readonly ref: WeakRef<object> }>((held) => {
    const map = this.#maps.get(held.mapper)
    // The key may have been held again since, for a newer object: remove only this one's entry.
    if (map !== undefined && map.get(held.key) === held.ref) {
      map.delete(held.key)
      this.#size--
    }
  })

  /** Entries, some of which may point at collected objects not yet cleared. */
  get size(): number {
    return this.#size
  }

  /** Holds a persistent object's state weakly, by its identity key. */
  hold(s: InstanceState): void {
    let map = this.#maps.get(s.mapper)
    if (map === undefined) this.#maps.set(s.mapper, (map = new Map()))
    const ref = new WeakRef(s.obj)
    if (!map.has(s.key)) this.#size++
    map.set(s.key, ref)
    this.#registry.register(s.obj, { mapper: s.mapper, key: s.key, ref })
  }

  /** The live state for a key, removed from here (the caller holds it strongly again). */
  take(m: Mapper, key: unknown): InstanceState | undefined {
    const map = this.#maps.get(m)
    const ref = map?.get(key)
    if (ref === undefined) return undefined
    map!.delete(key)
    this.#size--
    const obj = ref.deref()
    return obj === undefined ? undefined : stateOf(obj)
  }

  /** Calls `fn` with every live state (for expire-all and close). */
  forEach(fn: (s: InstanceState) => void): void {
    this.#maps.forEach((map) =>
      map.forEach((ref) => {
        const obj = ref.deref()
        const s = obj === undefined ? undefined : stateOf(obj)
        if (s !== undefined) fn(s)
      }),
    )
  }

  /** Forgets one key. */
  delete(m: Mapper, key: unknown): void {
    const map = this.#maps.get(m)
    if (map !== undefined && map.delete(key)) this.#size--
  }

  clear(): void {
    this.#maps.clear()
    this.#size = 0
  }
}
