import type { Mapper } from './mapper.js'

/** Where an object's per-instance bookkeeping lives (a symbol keeps it off JSON and `Object.keys`). */
export const STATE: unique symbol = Symbol('athanor.state')

/** Stands in for an attribute's value after the session expired it. */
export const EXPIRED: unique symbol = Symbol('athanor.expired')

/** SQLAlchemy's object states. Numbers, for a cheap compare in accessors. */
export const TRANSIENT = 0
export const PENDING = 1
export const PERSISTENT = 2
export const DELETED = 3
export const DETACHED = 4
export type Status = 0 | 1 | 2 | 3 | 4

/** The names of the states, for messages and `inspect(obj).status`. */
export const STATUS_NAMES = ['transient', 'pending', 'persistent', 'deleted', 'detached'] as const

/** What an object's state needs of its session (the session implements it). */
export interface StateOwner {
  /** Persistent objects with changed attributes. */
  readonly _dirty: Set<InstanceState>
  /** Objects with relationships set or loaded: scanned at flush to fill foreign keys. */
  readonly _rel: Set<InstanceState>
}

/**
 * One mapped object's bookkeeping. Allocated once per object; accessors on
 * the class prototype read and write `values` through it.
 */
export class InstanceState {
  status: Status = TRANSIENT
  session: StateOwner | null = null
  /** Identity-map key once persistent. */
  key: unknown = undefined
  /** Values of changed attributes before their first change (persistent objects only). */
  original: Record<string, unknown> | null = null
  /** Loaded or assigned relationship values. */
  rels: Record<string, unknown> | null = null
  /** Collections as last flushed or loaded, to see removals. */
  relSnapshot: Record<string, readonly object[]> | null = null
  /** Registered in the owner's `_rel`. */
  relRegistered = false
  /** Inserted by this session and not expired since: its unloaded collections are known to be empty. */
  fresh = false

  constructor(
    readonly mapper: Mapper,
    /** Column values by name. */
    public values: Record<string, unknown>,
    readonly obj: object,
  ) {}
}

/** The state of a mapped object, or `undefined` for anything else. */
export function stateOf(obj: unknown): InstanceState | undefined {
  return obj !== null && typeof obj === 'object' ? (obj as { [STATE]?: InstanceState })[STATE] : undefined
}

/** Records a column's pre-change value and puts the object on its session's dirty list. */
export function trackChange(s: InstanceState, name: string): void {
  let o = s.original
  if (o === null) {
    o = s.original = {}
    if (s.session !== null) s.session._dirty.add(s)
  }
  if (!(name in o)) o[name] = s.values[name]
}

/**
 * Marks a relationship record shared by the children of one loaded collection
 * (`{ author: a }` for each of a's books): one object instead of one per child.
 * Shared records are never written; {@link ownRels} copies one first.
 */
const SHARED: unique symbol = Symbol('athanor.sharedRels')

/** A relationship record to share between several objects' `rels` (read-only from now on). */
export function sharedRels(values: Record<string, unknown>): Record<string, unknown> {
  Object.defineProperty(values, SHARED, { value: true })
  return values
}

/** The object's own, writable relationship record (created, or copied from a shared one). */
export function ownRels(s: InstanceState): Record<string, unknown> {
  const r = s.rels
  if (r === null) return (s.rels = {})
  if (!(SHARED in r)) return r
  const copy: Record<string, unknown> = {}
  for (const k in r) copy[k] = r[k]
  return (s.rels = copy)
}

/** Marks that the object has relationships the flush must look at. */
export function registerRelationships(s: InstanceState): void {
  if (!s.relRegistered && s.session !== null) {
    s.relRegistered = true
    s.session._rel.add(s)
  }
}
