/**
 * A growable ring buffer: O(1) push and pop at both ends, no allocation once
 * it has grown to the pool's working size. Holds the idle connections and the
 * waiters, which is why it is not a plain array (`shift()` is O(n)).
 *
 * ```ts
 * const q = new Deque<number>()
 * q.push(1); q.push(2)
 * q.shift() // 1
 * ```
 */
export class Deque<T> {
  private items: (T | undefined)[]
  private head = 0
  private mask: number
  /** Number of items held. */
  length = 0

  constructor(capacity = 16) {
    let size = 4
    while (size < capacity) size *= 2
    this.items = new Array<T | undefined>(size)
    this.mask = size - 1
  }

  /** Adds at the back. */
  push(item: T): void {
    if (this.length > this.mask) this.grow()
    this.items[(this.head + this.length) & this.mask] = item
    this.length++
  }

  /** Adds at the front. */
  unshift(item: T): void {
    if (this.length > this.mask) this.grow()
    this.head = (this.head - 1) & this.mask
    this.items[this.head] = item
    this.length++
  }

  /** Removes from the front; `undefined` when empty. */
  shift(): T | undefined {
    if (this.length === 0) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined
    this.head = (this.head + 1) & this.mask
    this.length--
    return item
  }

  /** Removes from the back; `undefined` when empty. */
  pop(): T | undefined {
    if (this.length === 0) return undefined
    this.length--
    const i = (this.head + this.length) & this.mask
    const item = this.items[i]
    this.items[i] = undefined
    return item
  }

  /** The front item without removing it. */
  peek(): T | undefined {
    return this.length === 0 ? undefined : this.items[this.head]
  }

  /** The item at position `i` from the front (0 = front). */
  at(i: number): T | undefined {
    return i < 0 || i >= this.length ? undefined : this.items[(this.head + i) & this.mask]
  }

  /** Keeps only the items `keep` accepts, in order. */
  retain(keep: (item: T) => boolean): void {
    const kept: T[] = []
    for (let i = 0; i < this.length; i++) {
      const item = this.items[(this.head + i) & this.mask] as T
      if (keep(item)) kept.push(item)
    }
    this.clear()
    for (const item of kept) this.push(item)
  }

  /** Removes and returns everything, front first. */
  drain(): T[] {
    const out: T[] = []
    for (let item = this.shift(); item !== undefined; item = this.shift()) out.push(item)
    return out
  }

  clear(): void {
    this.items.fill(undefined)
    this.head = 0
    this.length = 0
  }

  private grow(): void {
    const size = this.items.length
    const next = new Array<T | undefined>(size * 2)
    for (let i = 0; i < this.length; i++) next[i] = this.items[(this.head + i) & this.mask]
    this.items = next
    this.head = 0
    this.mask = size * 2 - 1
  }
}
