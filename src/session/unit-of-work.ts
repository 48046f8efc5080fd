import { CompiledQuery } from 'kysely'
import type { Connection, DialectCapabilities } from '../engine/types.js'
import { describeStatementLimit } from '../engine/dialects/syntax.js'
import { StatementTooLargeError } from '../engine/errors.js'
import { invalidValue, type KnownColumnsInsertOptions } from '../engine/insert-many.js'
import { statementBytes, valueBytes } from '../engine/values.js'
import { resolveForeignKey } from './column.js'
import { DependencyCycleError, StaleDataError } from './errors.js'
import { deleteLinks, deleteOwnerLinks, insertLinks, LinkChanges, mirror, sameItems, syncLinks } from './links.js'
import { type Mapper, type RelationshipProperty, resolveAllLinks } from './mapper.js'
import type { SqlDialect } from './sql-dialect.js'
import { EXPIRED, type InstanceState, ownRels, PENDING, PERSISTENT, TRANSIENT, stateOf, trackChange } from './state.js'
import { topologicalSort } from './topological.js'

/** A foreign key of `child` to fill from `parent`'s key once the parent has one. */
interface Deferred {
  readonly child: InstanceState
  readonly fk: readonly string[]
  readonly parent: InstanceState
  readonly ref: readonly string[]
}

/** Values the database generated during a flush, per inserted group (cleared again if the flush fails). */
export interface Assigned {
  /** The objects of one INSERT group, and the columns the database filled in on each. */
  readonly groups: { readonly states: readonly InstanceState[]; readonly columns: readonly string[] }[]
}

/** What a flush needs from its session. */
export interface FlushHost {
  readonly _new: Set<InstanceState>
  readonly _dirty: Set<InstanceState>
  readonly _deleted: Set<InstanceState>
  readonly _rel: Set<InstanceState>
  /** Adds a transient object found by cascade. */
  _cascadeAdd(s: InstanceState): void
  /** Marks a child for deletion (cascadeDelete). */
  _cascadeDelete(s: InstanceState): void
}

/** What a planned flush will do, and how to undo its in-memory effects. */
export interface FlushPlan {
  readonly inserts: Map<Mapper, InstanceState[]>
  readonly updates: Map<Mapper, InstanceState[]>
  readonly deletes: Map<Mapper, InstanceState[]>
  readonly order: Mapper[]
  readonly deferred: Map<InstanceState, Deferred | Deferred[]>
  /** Snapshots of persistent objects the planning changed, to restore on failure. */
  readonly snapshots: Map<InstanceState, { values: Record<string, unknown>; original: Record<string, unknown> | null }>
  /** Collections to snapshot after success. */
  readonly collections: [InstanceState, string, object[]][]
  /** Association rows to insert and delete (many-to-many). */
  readonly links: LinkChanges
  /** Foreign keys written by an UPDATE after the inserts (postUpdate relationships). */
  readonly postUpdates: Deferred[]
  readonly isEmpty: boolean
}

/** The result of a successful flush, applied to the session by the caller. */
export interface FlushResult {
  readonly inserted: InstanceState[]
  readonly updated: InstanceState[]
  readonly deleted: InstanceState[]
  /** Versions to set on updated objects. */
  readonly versions: [InstanceState, unknown][]
  /** Columns whose value the database made and did not return: expire them. */
  readonly expireAfter: [InstanceState, string][]
}

/** Rows per batched UPDATE or DELETE statement (the hand-written baseline uses 1 000 too). */
const UPDATE_BATCH = 1000
const DELETE_BATCH = 1000
/** Rows per multi-row INSERT at most (the parameter limit may cut it further). */
const INSERT_BATCH = 1000

function snapshot(plan: FlushPlan, s: InstanceState): void {
  if (s.status === PERSISTENT && !plan.snapshots.has(s)) {
    plan.snapshots.set(s, { values: { ...s.values }, original: s.original && { ...s.original } })
  }
}

function setColumn(plan: FlushPlan, s: InstanceState, name: string, v: unknown): void {
  const vals = s.values
  if (vals[name] === v) return
  if (s.status === PERSISTENT) {
    snapshot(plan, s)
    trackChange(s, name)
  }
  vals[name] = v
}

/** Copies the parent's key into the child's foreign key now, or defers it until the parent is inserted. */
function link(
  plan: FlushPlan,
  child: InstanceState,
  fk: readonly string[],
  parent: InstanceState | null,
  ref: readonly string[],
  ownManyToOne = false,
): void {
  if (parent === null) {
    for (let i = 0; i < fk.length; i++) setColumn(plan, child, fk[i], null)
    return
  }
  if (parent.status === PENDING && !parent.mapper.hasKey(parent.values)) {
    // A new child's own many-to-one to another table is read again when the child is inserted
    // (linkParents): no deferred record, the common case of a new graph costs no map entry per child.
    if (ownManyToOne && child.status === PENDING && parent.mapper !== child.mapper) return
    const d: Deferred = { child, fk, parent, ref }
    const had = plan.deferred.get(child)
    // Most children wait for one parent: no array for them.
    if (had === undefined) plan.deferred.set(child, d)
    else if (Array.isArray(had)) had.push(d)
    else plan.deferred.set(child, [had, d])
    return
  }
  const pv = parent.values
  for (let i = 0; i < fk.length; i++) setColumn(plan, child, fk[i], pv[ref[i]])
}

function syncRelationships(host: FlushHost, plan: FlushPlan, s: InstanceState): void {
  const rels = s.rels
  if (rels === null || (s.status !== PENDING && s.status !== PERSISTENT)) return
  const list = s.mapper.relationshipList
  for (let r = 0; r < list.length; r++) {
    const rel = list[r]
    if (!(rel.name in rels)) continue
    const v = rels[rel.name]
    if (rel.kind === 'manyToOne') {
      const ts = v === null || v === undefined ? null : stateOf(v) ?? null
      if (ts !== null && ts.status === TRANSIENT) host._cascadeAdd(ts)
      if (rel.postUpdate && ts !== null && ts.status === PENDING && !ts.mapper.hasKey(ts.values)) {
        // Written after the inserts: the row goes in with the key NULL, so no order is needed.
        if (s.status === PENDING) for (let i = 0; i < rel.fk.length; i++) setColumn(plan, s, rel.fk[i], null)
        plan.postUpdates.push({ child: s, fk: rel.fk, parent: ts, ref: rel.ref })
      } else link(plan, s, rel.fk, ts, rel.ref, !rel.postUpdate)
    } else if (rel.kind === 'manyToMany') {
      if (syncLinks(plan.links, (c) => host._cascadeAdd(c), s, rel, (v as object[] | undefined) ?? [])) {
        plan.collections.push([s, rel.name, v as object[]])
      }
    } else {
      syncCollection(host, plan, s, rel, (v as object[] | undefined) ?? [])
    }
  }
}

function syncCollection(host: FlushHost, plan: FlushPlan, s: InstanceState, rel: RelationshipProperty, arr: object[]): void {
  // The children's many-to-one mirror is written late (postUpdate): so is the key this collection gives them.
  const late = s.status === PENDING && !s.mapper.hasKey(s.values) && rel.back !== null && rel.target.relationships.get(rel.back)?.postUpdate === true
  for (let i = 0; i < arr.length; i++) {
    const cs = stateOf(arr[i])
    if (cs !== undefined && cs.status === TRANSIENT) host._cascadeAdd(cs)
    if (cs === undefined || (cs.status !== PENDING && cs.status !== PERSISTENT)) continue
    if (rel.back !== null) {
      const cr = cs.rels
      if (cr !== null && cr[rel.back] === s.obj) {
        // The child's own many-to-one (registered, so synced too) already links it to this parent.
        if (cs.relRegistered) continue
      } else ownRels(cs)[rel.back] = s.obj
    }
    if (late) {
      if (cs.status === PENDING) for (let j = 0; j < rel.fk.length; j++) setColumn(plan, cs, rel.fk[j], null)
      plan.postUpdates.push({ child: cs, fk: rel.fk, parent: s, ref: rel.ref })
    } else link(plan, cs, rel.fk, s, rel.ref)
  }
  const before = s.relSnapshot?.[rel.name]
  // Unchanged since loaded or flushed (the usual case): nothing removed, and the snapshot still holds.
  if (before !== undefined && sameItems(before, arr)) return
  if (before !== undefined && before.length > 0) {
    const now = arr.length > 16 ? new Set(arr) : null
    for (let i = 0; i < before.length; i++) {
      const old = before[i]
      if (now ? now.has(old) : arr.includes(old)) continue
      const cs = stateOf(old)
      if (cs === undefined || cs.status !== PERSISTENT) continue
      if (rel.cascadeDelete) host._cascadeDelete(cs)
      else if (cs.rels?.[rel.back ?? ''] === undefined || cs.rels?.[rel.back ?? ''] === s.obj) {
        for (const f of rel.fk) setColumn(plan, cs, f, null)
        if (rel.back !== null && cs.rels) ownRels(cs)[rel.back] = null
      }
    }
  }
  plan.collections.push([s, rel.name, arr])
}

function push<K, V>(map: Map<K, V[]>, k: K, v: V): void {
  const list = map.get(k)
  if (list === undefined) map.set(k, [v])
  else list.push(v)
}

/**
 * Plans a flush: cascades new objects reachable through relationships,
 * fills foreign keys (or defers them to parents' generated keys), and sorts
 * the tables so parents are inserted first and deleted last.
 */
export function planFlush(host: FlushHost): FlushPlan {
  const plan: FlushPlan = {
    inserts: new Map(),
    updates: new Map(),
    deletes: new Map(),
    order: [],
    deferred: new Map(),
    snapshots: new Map(),
    collections: [],
    links: new LinkChanges(),
    postUpdates: [],
    isEmpty: false,
  }
  // Deleting a parent: its loaded children are deleted (cascadeDelete) or orphaned (key set to NULL),
  // or left to the database (passiveDeletes); its association rows are deleted.
  const deleted = [...host._deleted]
  if (deleted.length > 0) resolveAllLinks()
  for (let i = 0; i < deleted.length; i++) {
    const s = deleted[i]
    if (s.mapper.links.size > 0) plan.links.ownerDeleted(s)
    const rels = s.rels
    if (rels === null) continue
    const list = s.mapper.relationshipList
    for (let r = 0; r < list.length; r++) {
      const rel = list[r]
      if (rel.kind === 'manyToOne' || !(rel.name in rels)) continue
      const children = rels[rel.name] as object[]
      if (rel.kind === 'manyToMany') {
        // The other side's loaded collections lose the deleted object now.
        if (rel.back !== null) for (let j = 0; j < children.length; j++) {
          const cs = stateOf(children[j])
          if (cs !== undefined) mirror(cs, rel.back, s.obj, false)
        }
        ownRels(s)[rel.name] = []
        continue
      }
      if (!rel.passiveDeletes) {
        for (let j = 0; j < children.length; j++) {
          const cs = stateOf(children[j])
          if (!cs || cs.status !== PERSISTENT || host._deleted.has(cs)) continue
          if (rel.cascadeDelete) host._cascadeDelete(cs)
          else for (const f of rel.fk) setColumn(plan, cs, f, null)
        }
      }
      ownRels(s)[rel.name] = []
    }
  }
  // One pass: objects reached through relationships are cascaded in (added to `_rel`,
  // which this very iteration then visits) and foreign keys are filled or deferred.
  // (Set.forEach, unlike for...of, allocates nothing per element; it too visits entries added meanwhile.)
  host._rel.forEach((s) => {
    if (!host._deleted.has(s)) syncRelationships(host, plan, s)
  })

  // New objects come mostly in runs of one class: the list of the last one saves a map lookup per object.
  let lastMapper: Mapper | null = null
  let lastList: InstanceState[] = []
  host._new.forEach((s) => {
    if (s.mapper !== lastMapper) {
      lastMapper = s.mapper
      const had = plan.inserts.get(lastMapper)
      if (had === undefined) plan.inserts.set(lastMapper, (lastList = []))
      else lastList = had
    }
    lastList.push(s)
  })
  host._dirty.forEach((s) => {
    if (s.status === PERSISTENT && s.original !== null && !host._deleted.has(s)) push(plan.updates, s.mapper, s)
  })
  host._deleted.forEach((s) => push(plan.deletes, s.mapper, s))
  plan.links.dropDeleted(host._deleted)

  const mappers = new Set<Mapper>([...plan.inserts.keys(), ...plan.updates.keys(), ...plan.deletes.keys()])
  const list = [...mappers]
  const byTable = new Map(list.map((m) => [m.table.name, m] as const))
  const parents = (m: Mapper): Mapper[] => {
    const out: Mapper[] = []
    const rels = m.relationshipList
    // A postUpdate key is written after the inserts and nulled before the deletes: it orders nothing.
    let late: string[] | null = null
    for (let r = 0; r < rels.length; r++) if (rels[r].postUpdate) (late ??= []).push(...rels[r].fk)
    for (const c of m.table.columnList) {
      if (!c.references || (late !== null && late.includes(c.name))) continue
      const t = resolveForeignKey(c.references, m.table.name).table
      const p = byTable.get(t)
      if (p && p !== m) out.push(p)
    }
    for (let r = 0; r < rels.length; r++) {
      const rel = rels[r]
      if (rel.kind !== 'manyToMany' && !rel.postUpdate && rel.child === m && rel.parent !== m && mappers.has(rel.parent)) out.push(rel.parent)
    }
    return out
  }
  // Only tables with inserts or deletes constrain the order; a cycle there is an error.
  const ordered = topologicalSort(list, parents, (m) => m.table.name)
  plan.order.push(...ordered)
  ;(plan as { isEmpty: boolean }).isEmpty = mappers.size === 0 && plan.links.isEmpty
  return plan
}

/** Compares a column's old and new value the way the database would. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime()
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') return JSON.stringify(a) === JSON.stringify(b)
  return false
}

function deferredOf(plan: FlushPlan, s: InstanceState): readonly Deferred[] {
  const had = plan.deferred.get(s)
  return had === undefined ? [] : Array.isArray(had) ? had : [had]
}

/** Copies the keys of a new object's many-to-one parents of other tables (inserted by now) into its foreign keys. */
function linkParents(plan: FlushPlan, s: InstanceState, rels: Record<string, unknown>): void {
  const list = s.mapper.relationshipList
  for (let r = 0; r < list.length; r++) {
    const rel = list[r]
    if (rel.kind !== 'manyToOne' || rel.postUpdate || !(rel.name in rels)) continue
    const v = rels[rel.name]
    const ps = v === null || v === undefined ? undefined : stateOf(v)
    if (ps === undefined || ps.mapper === s.mapper || !ps.mapper.hasKey(ps.values)) continue
    const pv = ps.values
    for (let i = 0; i < rel.fk.length; i++) setColumn(plan, s, rel.fk[i], pv[rel.ref[i]])
  }
}

function resolveDeferred(plan: FlushPlan, s: InstanceState): void {
  const had = plan.deferred.get(s)
  if (had === undefined) return
  if (!Array.isArray(had)) {
    const pv = had.parent.values
    for (let i = 0; i < had.fk.length; i++) setColumn(plan, s, had.fk[i], pv[had.ref[i]])
    return
  }
  for (let j = 0; j < had.length; j++) {
    const d = had[j]
    const pv = d.parent.values
    for (let i = 0; i < d.fk.length; i++) setColumn(plan, s, d.fk[i], pv[d.ref[i]])
  }
}

/** Splits a self-referencing table's rows into waves: each row after the rows it points at. */
function waves(plan: FlushPlan, m: Mapper, states: InstanceState[]): InstanceState[][] {
  if (plan.deferred.size === 0) return [states]
  let selfRef = false
  const waits = (d: Deferred) => d.parent.mapper === m && d.parent.status === PENDING
  for (let i = 0; i < states.length && !selfRef; i++) {
    const had = plan.deferred.get(states[i])
    if (had !== undefined) selfRef = Array.isArray(had) ? had.some(waits) : waits(had)
  }
  if (!selfRef) return [states]
  const out: InstanceState[][] = []
  const done = new Set<InstanceState>()
  let rest = states
  while (rest.length > 0) {
    const wave = rest.filter((s) =>
      deferredOf(plan, s).every((d) => d.parent.mapper !== m || d.parent.status !== PENDING || done.has(d.parent)),
    )
    if (wave.length === 0) {
      throw new DependencyCycleError(`dependency cycle between rows of "${m.table.name}": each needs another's generated key`, [
        m.table.name,
        m.table.name,
      ])
    }
    for (const s of wave) done.add(s)
    rest = rest.filter((s) => !done.has(s))
    out.push(wave)
  }
  return out
}

/** Executes a planned flush on `conn`. Changes to objects are collected, not applied, until it succeeds. */
export async function executeFlush(
  plan: FlushPlan,
  conn: Connection<unknown>,
  d: SqlDialect,
  caps: DialectCapabilities,
  assigned: Assigned,
): Promise<FlushResult> {
  const result: FlushResult = { inserted: [], updated: [], deleted: [], versions: [], expireAfter: [] }
  // Every value is checked before the first statement: a bad one sends nothing.
  for (const m of plan.order) {
    const inserts = plan.inserts.get(m)
    if (inserts !== undefined) checkInserts(m, inserts, d)
    const updates = plan.updates.get(m)
    if (updates !== undefined) checkUpdates(m, updates, d)
  }
  for (const m of plan.order) {
    const states = plan.inserts.get(m)
    if (states === undefined) continue
    const ws = waves(plan, m, states)
    for (let w = 0; w < ws.length; w++) await insertRows(plan, conn, m, ws[w], d, caps, assigned, result)
  }
  for (const m of plan.order) {
    const states = plan.updates.get(m)
    if (states !== undefined) await updateRows(plan, conn, m, states, d, caps, result)
  }
  plan.deferred.forEach((_, s) => {
    if (s.status === PERSISTENT) resolveDeferred(plan, s)
  })
  if (plan.postUpdates.length > 0) await postUpdate(plan, conn, d, caps, result)
  const links = plan.links
  if (!links.isEmpty) {
    await deleteLinks(conn, links, d, caps)
    await insertLinks(conn, links, d)
    await deleteOwnerLinks(conn, links, d, caps)
  }
  if (plan.deletes.size > 0) await nullLateKeys(plan, conn, d, caps)
  for (let i = plan.order.length - 1; i >= 0; i--) {
    const m = plan.order[i]
    const states = plan.deletes.get(m)
    if (states === undefined) continue
    const ws = deleteWaves(m, states)
    for (let w = 0; w < ws.length; w++) await deleteRows(conn, m, ws[w], d, caps, result)
  }
  return result
}

/**
 * Fills client defaults (and version 1) of new objects, then checks every
 * value against its column's type: one tight loop per column.
 */
function checkInserts(m: Mapper, states: readonly InstanceState[], d: SqlDialect): void {
  const defaults = m.clientDefaults
  if (defaults.length > 0) {
    for (let n = 0; n < states.length; n++) {
      const vals = states[n].values
      for (let i = 0; i < defaults.length; i++) {
        const c = defaults[i]
        if (vals[c.name] !== undefined && vals[c.name] !== EXPIRED) continue
        const def = c.clientDefault
        vals[c.name] = c.version ? 1 : def !== undefined ? ('fn' in def ? def.fn() : def.value) : undefined
      }
    }
  }
  const cols = m.columns
  const checks = m.valueChecks(d.name).list
  for (let i = 0; i < cols.length; i++) {
    const name = cols[i]
    const check = checks[i]
    for (let n = 0; n < states.length; n++) {
      const v = states[n].values[name]
      if (v === undefined || v === null || v === EXPIRED) continue
      const problem = check(v)
      if (problem !== undefined) throw invalidValue(m.table.name, name, n, problem, 'flush')
    }
  }
}

/** Checks the changed values of updated objects against their columns' types. */
function checkUpdates(m: Mapper, states: readonly InstanceState[], d: SqlDialect): void {
  const checks = m.valueChecks(d.name).byName
  for (let n = 0; n < states.length; n++) {
    const s = states[n]
    const o = s.original
    if (o === null) continue
    const vals = s.values
    for (const c in o) {
      const v = vals[c]
      if (v === o[c] || v === undefined || v === null || v === EXPIRED) continue
      const check = checks[c]
      const problem = check === undefined ? undefined : check(v)
      if (problem !== undefined) throw invalidValue(m.table.name, c, n, problem, 'flush')
    }
  }
}

async function insertRows(
  plan: FlushPlan,
  conn: Connection<unknown>,
  m: Mapper,
  states: InstanceState[],
  d: SqlDialect,
  caps: DialectCapabilities,
  assigned: Assigned,
  result: FlushResult,
): Promise<void> {
  const cols = m.table.columnList
  const codec = m.codec(d.name)
  const toDb = codec.toDbByName
  const hasConverters = codec.toDb.length > 0
  // Rows are grouped by which columns they give a value; a mask needs no string per row.
  const wide = cols.length > 30
  const groups = new Map<number | string, { given: boolean[]; rows: Record<string, unknown>[]; states: InstanceState[] }>()
  let lastSig: number | string | undefined
  let last: { given: boolean[]; rows: Record<string, unknown>[]; states: InstanceState[] } | undefined
  for (let n = 0; n < states.length; n++) {
    const s = states[n]
    if (s.rels !== null) linkParents(plan, s, s.rels)
    if (plan.deferred.size > 0) resolveDeferred(plan, s)
    const vals = s.values
    let sig: number | string = wide ? '' : 0
    for (let i = 0; i < cols.length; i++) {
      const name = cols[i].name
      let v = vals[name]
      if (v === EXPIRED) v = vals[name] = undefined
      const defined = v !== undefined
      if (wide) sig += defined ? '1' : '0'
      else if (defined) sig = (sig as number) | (1 << i)
    }
    let g = sig === lastSig ? last : groups.get(sig)
    if (g === undefined) {
      const given: boolean[] = new Array(cols.length)
      for (let i = 0; i < cols.length; i++) given[i] = vals[cols[i].name] !== undefined
      groups.set(sig, (g = { given, rows: [], states: [] }))
    }
    lastSig = sig
    last = g
    g.states.push(s)
    if (!hasConverters) {
      // The object's own values are the row: insertMany reads only the listed columns, so no copy is needed.
      g.rows.push(vals)
      continue
    }
    const row: Record<string, unknown> = {}
    for (let i = 0; i < cols.length; i++) {
      const c = cols[i]
      let v = vals[c.name]
      if (v === undefined) {
        if (c.autoIncrement || c.serverDefault !== undefined) continue
        v = null
      }
      const f = toDb[c.name]
      row[c.name] = v !== null && f !== undefined ? f(v) : v
    }
    g.rows.push(row)
  }
  const fromDb = codec.fromDb
  for (const g of groups.values()) {
    const given = g.given
    const returning: string[] = []
    const expire: string[] = []
    const columns: string[] = []
    for (let i = 0; i < cols.length; i++) {
      const c = cols[i]
      if (given[i]) columns.push(c.name)
      else if (c.autoIncrement || c.serverDefault !== undefined) {
        if (c.autoIncrement || caps.insertReturning) returning.push(c.name)
        else expire.push(c.name)
      } else if (hasConverters) columns.push(c.name) // sent as NULL
      // else: no value and no default; left out, as insertMany leaves out undefined keys
    }
    // checked: executeFlush checked every value against its column's type.
    const options: KnownColumnsInsertOptions = { columns, pageSize: INSERT_BATCH, checked: true, ...(returning.length > 0 ? { returning } : {}) }
    const out = await conn.insertMany<Record<string, unknown>>(m.table.name, g.rows, options)
    const gs = g.states
    if (returning.length > 0) {
      const convert: (((v: unknown) => unknown) | undefined)[] = returning.map((c) => fromDb.find(([n]) => n === c)?.[1])
      const numericKey = returning.map((c) => c === m.autoIncrement)
      // Recorded before assigning: a failure resets these columns, which held nothing before.
      assigned.groups.push({ states: gs, columns: returning })
      for (let i = 0; i < gs.length; i++) {
        const vals = gs[i].values
        const r = out[i]
        for (let j = 0; j < returning.length; j++) {
          const c = returning[j]
          let v = r[c]
          const f = convert[j]
          if (f !== undefined && v !== null && v !== undefined) v = f(v)
          if (numericKey[j] && typeof v === 'string' && /^\d+$/.test(v)) v = Number(v)
          vals[c] = v
        }
      }
    }
    for (let i = 0; i < gs.length; i++) {
      const s = gs[i]
      for (let j = 0; j < expire.length; j++) result.expireAfter.push([s, expire[j]])
      result.inserted.push(s)
    }
  }
}

/** Batched UPDATE texts by statement shape, then by row count: a retitle of every row repeats them flush after flush. */
const updateTextCache = new WeakMap<Mapper, Map<string, Map<number, string>>>()

function updateTexts(m: Mapper, d: SqlDialect, shape: string): Map<number, string> {
  let byShape = updateTextCache.get(m)
  if (byShape === undefined) updateTextCache.set(m, (byShape = new Map()))
  const key = d.name + '\u0000' + shape
  let texts = byShape.get(key)
  if (texts === undefined) {
    if (byShape.size >= 16) byShape.delete(byShape.keys().next().value as string)
    byShape.set(key, (texts = new Map()))
  }
  return texts
}

function keyValue(s: InstanceState, c: string): unknown {
  const o = s.original
  return o !== null && c in o ? o[c] : s.values[c]
}

async function run(conn: Connection<unknown>, text: string, params: unknown[]): Promise<number> {
  const r = await conn.db.executeQuery(CompiledQuery.raw(text, params))
  return Number(r.numAffectedRows ?? 0)
}

/** Bytes kept free in every statement for the protocol's own framing (as insertMany does). */
const STATEMENT_SLACK = 1024

function tooLarge(m: Mapper, d: SqlDialect, caps: DialectCapabilities, row: number, size: number): StatementTooLargeError {
  const limit = caps.maxStatementBytes
  return new StatementTooLargeError(
    `flush: the UPDATE of row ${row} of "${m.table.name}" takes about ${size} bytes, more than one statement may carry: ${describeStatementLimit(d.name, limit)}`,
    {},
    { limit, size, table: m.table.name, row },
  )
}

function stale(m: Mapper, verb: string, expected: number, actual: number): StaleDataError {
  return new StaleDataError(
    `${verb} on "${m.table.name}" expected to match ${expected} row(s) but matched ${actual}: ` +
      (m.versionColumn ? 'another transaction changed or deleted them (version mismatch)' : 'the row(s) were deleted meanwhile'),
    m.table.name,
    expected,
    actual,
  )
}

async function updateRows(
  plan: FlushPlan,
  conn: Connection<unknown>,
  m: Mapper,
  states: InstanceState[],
  d: SqlDialect,
  caps: DialectCapabilities,
  result: FlushResult,
): Promise<void> {
  const toDb = m.codec(d.name).toDbByName
  const ver = m.versionColumn
  const columns = m.columns
  // Rows are grouped by which columns changed: a mask per row (a string only for very wide tables).
  const wide = columns.length > 30
  const groups = new Map<number | string, { cols: string[]; states: InstanceState[] }>()
  let lastSig: number | string | undefined
  let last: { cols: string[]; states: InstanceState[] } | undefined
  for (let n = 0; n < states.length; n++) {
    const s = states[n]
    if (plan.deferred.size > 0) resolveDeferred(plan, s)
    const o = s.original!
    const vals = s.values
    let sig: number | string = wide ? '' : 0
    let any = false
    for (let i = 0; i < columns.length; i++) {
      const c = columns[i]
      const changed = c in o && c !== ver && !same(o[c], vals[c])
      if (changed) any = true
      if (wide) sig += changed ? '1' : '0'
      else if (changed) sig = (sig as number) | (1 << i)
    }
    result.updated.push(s)
    if (!any) continue
    let g = sig === lastSig ? last : groups.get(sig)
    if (g === undefined) {
      const cols: string[] = []
      for (let i = 0; i < columns.length; i++) {
        const c = columns[i]
        if (c in o && c !== ver && !same(o[c], vals[c])) cols.push(c)
      }
      groups.set(sig, (g = { cols, states: [] }))
    }
    lastSig = sig
    last = g
    g.states.push(s)
  }
  const q = d.quote
  const conv = (c: string, v: unknown) => (v !== null && v !== undefined && toDb[c] ? toDb[c]!(v) : v)
  for (const { cols, states: group } of groups.values()) {
    if (ver) for (let i = 0; i < group.length; i++) result.versions.push([group[i], Number(group[i].values[ver]) + 1])
    if (d.updateFromValues) {
      const width = m.pk.length + cols.length + (ver ? 2 : 0)
      const per = Math.max(1, Math.min(UPDATE_BATCH, Math.floor(caps.maxParameters / width)))
      const colSpec = m.table.columnList
      const typeOf = (c: string) => d.castType(colSpec.find((x) => x.name === c)!)
      const casts = [...m.pk.map(typeOf), ...cols.map(typeOf), ...(ver ? [typeOf(ver), typeOf(ver)] : [])]
      const names = [...m.pk.map((k) => q(`__k_${k}`)), ...cols.map(q), ...(ver ? [q('__ov'), q('__nv')] : [])]
      const set = cols.map((c) => `${q(c)} = v.${q(c)}`)
      if (ver) set.push(`${q(ver)} = v.${q('__nv')}`)
      let where = m.pk.map((k) => `t.${q(k)} = v.${q(`__k_${k}`)}`).join(' AND ')
      if (ver) where += ` AND t.${q(ver)} = v.${q('__ov')}`
      const head = `UPDATE ${d.table(m.table)} AS t SET ${set.join(', ')} FROM (VALUES `
      const tail = `) AS v(${names.join(', ')}) WHERE ${where}`
      const texts = updateTexts(m, d, head + '\u0000' + casts.join(',') + '\u0000' + tail)
      const pk = m.pk
      const noConv = pk.every((k) => toDb[k] === undefined) && cols.every((c) => toDb[c] === undefined)
      // A batch also stays under the statement byte limit: rows are measured as their parameters are made.
      const budget = caps.maxStatementBytes - head.length - tail.length - STATEMENT_SLACK
      const rowText = width * 16 + 4
      for (let b = 0; b < group.length; ) {
        const params: unknown[] = []
        let count = 0
        let bytes = 0
        while (b < group.length && count < per) {
          const s = group[b]
          const vals = s.values
          const mark = params.length
          for (let i = 0; i < pk.length; i++) params.push(noConv ? keyValue(s, pk[i]) : conv(pk[i], keyValue(s, pk[i])))
          for (let i = 0; i < cols.length; i++) params.push(noConv ? vals[cols[i]] : conv(cols[i], vals[cols[i]]))
          if (ver) {
            const old = Number(vals[ver])
            params.push(old, old + 1)
          }
          let size = rowText
          for (let i = mark; i < params.length; i++) size += valueBytes(params[i])
          if (count > 0 && bytes + size > budget) {
            params.length = mark
            break
          }
          if (size > budget) throw tooLarge(m, d, caps, b, size)
          bytes += size
          count++
          b++
        }
        let text = texts.get(count)
        if (text !== undefined) {
          // Most recently used last, so eviction drops the odd tail lengths, not the full batch.
          texts.delete(count)
          texts.set(count, text)
        } else {
          const tuples: string[] = new Array(count)
          let n = 0
          for (let i = 0; i < count; i++) {
            let t = '('
            for (let j = 0; j < width; j++) t += `${j > 0 ? ', ' : ''}${d.placeholder(n++)}::${casts[j]}`
            tuples[i] = t + ')'
          }
          text = head + tuples.join(', ') + tail
          // Bounded: the last, shorter batch of each flush has a new length every time.
          if (texts.size >= 4) texts.delete(texts.keys().next().value as number)
          texts.set(count, text)
        }
        const n = await run(conn, text, params)
        if (n !== count) throw stale(m, 'UPDATE', count, n)
      }
    } else {
      // Parameters in the order they are pushed below: columns, new version, key, old version.
      let n = 0
      const set = cols.map((c) => `${q(c)} = ${d.placeholder(n++)}`)
      if (ver) set.push(`${q(ver)} = ${d.placeholder(n++)}`)
      let where = m.pk.map((k) => `${q(k)} = ${d.placeholder(n++)}`).join(' AND ')
      if (ver) where += ` AND ${q(ver)} = ${d.placeholder(n++)}`
      const text = `UPDATE ${d.table(m.table)} SET ${set.join(', ')} WHERE ${where}`
      for (const s of group) {
        const params: unknown[] = cols.map((c) => conv(c, s.values[c]))
        if (ver) params.push(Number(s.values[ver]) + 1)
        for (const k of m.pk) params.push(conv(k, keyValue(s, k)))
        if (ver) params.push(Number(s.values[ver]))
        const size = statementBytes(text, params)
        if (size + STATEMENT_SLACK > caps.maxStatementBytes) throw tooLarge(m, d, caps, group.indexOf(s), size)
        const n = await run(conn, text, params)
        if (n !== 1) throw stale(m, 'UPDATE', 1, n)
      }
    }
  }
}

async function deleteRows(
  conn: Connection<unknown>,
  m: Mapper,
  states: InstanceState[],
  d: SqlDialect,
  caps: DialectCapabilities,
  result: FlushResult,
): Promise<void> {
  const q = d.quote
  const toDb = m.codec(d.name).toDbByName
  const conv = (c: string, v: unknown) => (v !== null && v !== undefined && toDb[c] ? toDb[c]!(v) : v)
  const ver = m.versionColumn
  const simple = m.singlePk !== null && ver === null
  const width = m.pk.length + (ver ? 1 : 0)
  const per = simple
    ? d.anyArray
      ? 10_000
      : Math.min(DELETE_BATCH, caps.maxParameters)
    : Math.min(100, Math.floor(caps.maxParameters / width))
  const deleteTexts = new Map<number, string>()
  for (let start = 0; start < states.length; start += per) {
    const batch = states.slice(start, start + per)
    const params: unknown[] = []
    let text: string
    if (simple && d.anyArray) {
      const pk = m.singlePk!
      const keys = batch.map((s) => conv(pk, keyValue(s, pk)))
      params.push(keys)
      text = `DELETE FROM ${d.table(m.table)} WHERE ${q(pk)} = ANY(${d.placeholder(0)}::${d.castType(m.table.column(pk)!)}[])`
    } else if (simple) {
      const pk = m.singlePk!
      for (const s of batch) params.push(conv(pk, keyValue(s, pk)))
      let cached = deleteTexts.get(batch.length)
      if (cached === undefined) {
        const ph: string[] = new Array(batch.length)
        for (let i = 0; i < batch.length; i++) ph[i] = d.placeholder(i)
        cached = `DELETE FROM ${d.table(m.table)} WHERE ${q(pk)} IN (${ph.join(', ')})`
        deleteTexts.set(batch.length, cached)
      }
      text = cached
    } else {
      const ors = batch.map((s) => {
        const parts = m.pk.map((k) => {
          params.push(conv(k, keyValue(s, k)))
          return `${q(k)} = ${d.placeholder(params.length - 1)}`
        })
        if (ver) {
          params.push(keyValue(s, ver))
          parts.push(`${q(ver)} = ${d.placeholder(params.length - 1)}`)
        }
        return `(${parts.join(' AND ')})`
      })
      text = `DELETE FROM ${d.table(m.table)} WHERE ${ors.join(' OR ')}`
    }
    const n = await run(conn, text, params)
    if (n !== batch.length) throw stale(m, 'DELETE', batch.length, n)
    for (const s of batch) result.deleted.push(s)
  }
}

/** Sets the postUpdate foreign keys of rows inserted with them NULL, now that their parents have keys. */
async function postUpdate(plan: FlushPlan, conn: Connection<unknown>, d: SqlDialect, caps: DialectCapabilities, result: FlushResult): Promise<void> {
  const byMapper = new Map<Mapper, InstanceState[]>()
  for (const u of plan.postUpdates) {
    const s = u.child
    const o = (s.original ??= {})
    const pv = u.parent.values
    for (let i = 0; i < u.fk.length; i++) {
      // The row holds NULL (inserted so) or its loaded value: that is what the UPDATE changes.
      if (!(u.fk[i] in o)) o[u.fk[i]] = s.status === PENDING ? null : s.values[u.fk[i]]
      s.values[u.fk[i]] = pv[u.ref[i]]
    }
    if (s.status === PERSISTENT) snapshot(plan, s)
    push(byMapper, s.mapper, s)
  }
  for (const [m, states] of byMapper) {
    const unique = [...new Set(states)]
    await updateRows(plan, conn, m, unique, d, caps, result)
  }
}

/** Sets the postUpdate keys of rows about to be deleted to NULL first: rows in a cycle can then go in any order. */
async function nullLateKeys(plan: FlushPlan, conn: Connection<unknown>, d: SqlDialect, caps: DialectCapabilities): Promise<void> {
  const q = d.quote
  for (const [m, states] of plan.deletes) {
    const late: string[] = []
    for (const rel of m.relationshipList) if (rel.postUpdate) late.push(...rel.fk)
    if (late.length === 0) continue
    const toDb = m.codec(d.name).toDbByName
    const conv = (c: string, v: unknown) => (v !== null && v !== undefined && toDb[c] ? toDb[c]!(v) : v)
    const rows = states.filter((s) => late.some((c) => keyValue(s, c) !== null && keyValue(s, c) !== undefined))
    const per = Math.max(1, Math.min(DELETE_BATCH, Math.floor(caps.maxParameters / m.pk.length)))
    for (let start = 0; start < rows.length; start += per) {
      const batch = rows.slice(start, start + per)
      const params: unknown[] = []
      const where = batch
        .map((s) => `(${m.pk.map((k) => {
          params.push(conv(k, keyValue(s, k)))
          return `${q(k)} = ${d.placeholder(params.length - 1)}`
        }).join(' AND ')})`)
        .join(' OR ')
      await run(conn, `UPDATE ${d.table(m.table)} SET ${late.map((c) => `${q(c)} = NULL`).join(', ')} WHERE ${where}`, params)
    }
  }
}

/**
 * Splits a self-referencing table's deleted rows into waves: a row goes
 * before the rows it points at (children before parents), as the rows'
 * keys in the database say. Rows pointing at each other in a cycle go
 * together in the last wave.
 */
function deleteWaves(m: Mapper, states: InstanceState[]): InstanceState[][] {
  if (states.length < 2) return [states]
  const self: { fk: string; ref: string }[] = []
  for (const c of m.table.columnList) {
    if (!c.references) continue
    const r = resolveForeignKey(c.references, m.table.name)
    if (r.table === m.table.name) self.push({ fk: c.name, ref: r.column })
  }
  if (self.length === 0) return [states]
  // How many rows still to delete point at each row; a row goes once none do.
  const pointedAt = new Map<InstanceState, number>()
  const parentsOf = new Map<InstanceState, InstanceState[]>()
  for (const { fk, ref } of self) {
    const byRef = new Map<unknown, InstanceState>()
    for (const s of states) byRef.set(keyValue(s, ref), s)
    for (const s of states) {
      const v = keyValue(s, fk)
      if (v === null || v === undefined) continue
      const p = byRef.get(v)
      if (p === undefined || p === s) continue
      pointedAt.set(p, (pointedAt.get(p) ?? 0) + 1)
      push(parentsOf, s, p)
    }
  }
  if (pointedAt.size === 0) return [states]
  const out: InstanceState[][] = []
  let rest = states
  while (rest.length > 0) {
    const wave = rest.filter((s) => (pointedAt.get(s) ?? 0) === 0)
    if (wave.length === 0) {
      out.push(rest)
      break
    }
    for (const s of wave) for (const p of parentsOf.get(s) ?? []) pointedAt.set(p, pointedAt.get(p)! - 1)
    const done = new Set(wave)
    rest = rest.filter((s) => !done.has(s))
    out.push(wave)
  }
  return out
}
