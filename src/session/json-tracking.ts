import type { Mapper } from './mapper.js'
import { EXPIRED, type InstanceState, trackChange } from './state.js'

/**
 * Change tracking inside JSON values, for `json({ mutable: true })` columns:
 * a snapshot (the value's JSON text, and the value itself) is taken when an
 * object is loaded or flushed, and compared with the value at each flush. A
 * value still the same object but with other JSON text was changed in place:
 * the column is marked changed, its original being the snapshot. A column
 * assigned a new value is tracked by its setter as usual, so only same-object
 * values are compared.
 *
 * Cost: one `JSON.stringify` per tracked column per object at load, and one
 * per object at each flush (of every loaded object of a model with such a
 * column, changed or not).
 */
interface Snapshot {
  readonly value: unknown
  readonly text: string
}

const snapshots = new WeakMap<InstanceState, Record<string, Snapshot>>()
const columnsOf = new WeakMap<Mapper, readonly string[]>()

/**
 * The mapper's `json({ mutable: true })` columns (empty for most).
 *
 * ```ts
 * mutableJsonColumns(mapperOf(Doc)) // ['body']
 * ```
 */
export function mutableJsonColumns(m: Mapper): readonly string[] {
  let cols = columnsOf.get(m)
  if (cols === undefined) {
    cols = Object.freeze(m.table.columnList.filter((c) => c.kind === 'json' && c.mutable === true).map((c) => c.name))
    columnsOf.set(m, cols)
  }
  return cols
}

/** Records the current JSON values of an object's tracked columns. */
export function snapshotJson(s: InstanceState, cols: readonly string[]): void {
  const snap: Record<string, Snapshot> = {}
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i]
    const value = s.values[c]
    if (value !== null && typeof value === 'object') snap[c] = { value, text: JSON.stringify(value) }
  }
  snapshots.set(s, snap)
}

/**
 * New snapshots for the tracked columns whose value was replaced (loaded
 * again by a query, refresh or an awaitable load), keeping the others: a
 * column changed in place and not flushed yet stays a change.
 */
export function snapshotReplaced(s: InstanceState, cols: readonly string[]): void {
  const snap = snapshots.get(s)
  if (snap === undefined) return snapshotJson(s, cols)
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i]
    const value = s.values[c]
    if (value !== null && typeof value === 'object' && value !== (EXPIRED as unknown) && snap[c]?.value !== value) {
      snap[c] = { value, text: JSON.stringify(value) }
    }
  }
}

/**
 * Marks the tracked columns changed in place since the snapshot; values
 * replaced since (loaded again, or assigned) get a new snapshot instead.
 */
export function detectJsonChanges(s: InstanceState, cols: readonly string[]): void {
  const snap = snapshots.get(s)
  if (snap === undefined) {
    snapshotJson(s, cols)
    return
  }
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i]
    const value = s.values[c]
    if (value === null || typeof value !== 'object' || value === (EXPIRED as unknown)) continue
    const was = snap[c]
    if (was === undefined || was.value !== value) {
      snap[c] = { value, text: JSON.stringify(value) }
      continue
    }
    const text = JSON.stringify(value)
    if (text === was.text) continue
    const tracked = s.original !== null && c in s.original
    trackChange(s, c)
    if (!tracked) s.original![c] = JSON.parse(was.text)
  }
}
