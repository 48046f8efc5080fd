import { CompiledQuery } from 'kysely'
import type { Connection, DialectCapabilities } from '../engine/types.js'
import { DependencyCycleError, StaleDataError } from './errors.js'
import type { Mapper, RelationshipProperty } from './mapper.js'
import type { SqlDialect } from './sql-dialect.js'
import { EXPIRED, type InstanceState, PENDING, PERSISTENT, TRANSIENT, stateOf, trackChange } from './state.js'
import { topologicalSort } from './topological.js'

/** A foreign key of `child` to fill from `parent`'s key once the parent has one. */
interface Deferred {
  readonly child: InstanceState
  readonly fk: readonly string[]
  readonly parent: InstanceState
  readonly ref: readonly string[]
}

/** Values the database generated during a flush (cleared again if the flush fails). */
export interface Assigned {
  readonly values: Record<string, unknown>[]
  readonly columns: string[]
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
function link(plan: FlushPlan, child: InstanceState, fk: readonly string[], parent: InstanceState | null, ref: readonly string[]): void {
  if (parent === null) {
    for (const f of fk) setColumn(plan, child, f, null)
    return
  }
  if (parent.status === PENDING && !parent.mapper.hasKey(parent.values)) {
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
  for (const rel of s.mapper.relationships.values()) {
    if (!(rel.name in rels)) continue
    const v = rels[rel.name]
    if (rel.kind === 'manyToOne') {
      const ts = v === null || v === undefined ? null : stateOf(v) ?? null
      if (ts !== null && ts.status === TRANSIENT) host._cascadeAdd(ts)
      link(plan, s, rel.fk, ts, rel.ref)
    } else {
      syncCollection(host, plan, s, rel, (v as object[] | undefined) ?? [])
    }
  }
}

function syncCollection(host: FlushHost, plan: FlushPlan, s: InstanceState, rel: RelationshipProperty, arr: object[]): void {
  for (let i = 0; i < arr.length; i++) {
    const cs = stateOf(arr[i])
    if (cs !== undefined && cs.status === TRANSIENT) host._cascadeAdd(cs)
    if (cs === undefined || (cs.status !== PENDING && cs.status !== PERSISTENT)) continue
    if (rel.back !== null) {
      const cr = cs.rels
      // The child's own many-to-one (registered, so synced too) already links it to this parent.
      if (cr !== null && cr[rel.back] === s.obj && cs.relRegistered) continue
      ;(cs.rels ??= {})[rel.back] = s.obj
    }
    link(plan, cs, rel.fk, s, rel.ref)
  }
  const before = s.relSnapshot?.[rel.name]
  if (before !== undefined && before.length > 0) {
    const now = arr.length > 16 ? new Set(arr) : null
    for (const old of before) {
      if (now ? now.has(old) : arr.includes(old)) continue
      const cs = stateOf(old)
      if (cs === undefined || cs.status !== PERSISTENT) continue
      if (rel.cascadeDelete) host._cascadeDelete(cs)
      else if (cs.rels?.[rel.back ?? ''] === undefined || cs.rels?.[rel.back ?? ''] === s.obj) {
        for (const f of rel.fk) setColumn(plan, cs, f, null)
        if (rel.back !== null && cs.rels) cs.rels[rel.back] = null
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
    isEmpty: false,
  }
  // Deleting a parent: its loaded children are deleted (cascadeDelete) or orphaned (key set to NULL).
  for (const s of [...host._deleted]) {
    const rels = s.rels
    if (rels === null) continue
    for (const rel of s.mapper.relationships.values()) {
      if (rel.kind !== 'oneToMany' || !(rel.name in rels)) continue
      for (const child of rels[rel.name] as object[]) {
        const cs = stateOf(child)
        if (!cs || cs.status !== PERSISTENT || host._deleted.has(cs)) continue
        if (rel.cascadeDelete) host._cascadeDelete(cs)
        else for (const f of rel.fk) setColumn(plan, cs, f, null)
      }
      rels[rel.name] = []
    }
  }
  // One pass: objects reached through relationships are cascaded in (added to `_rel`,
  // which this very iteration then visits) and foreign keys are filled or deferred.
  for (const s of host._rel) if (!host._deleted.has(s)) syncRelationships(host, plan, s)

  for (const s of host._new) push(plan.inserts, s.mapper, s)
  for (const s of host._dirty) if (s.status === PERSISTENT && s.original !== null && !host._deleted.has(s)) push(plan.updates, s.mapper, s)
  for (const s of host._deleted) push(plan.deletes, s.mapper, s)

  const mappers = new Set<Mapper>([...plan.inserts.keys(), ...plan.updates.keys(), ...plan.deletes.keys()])
  const list = [...mappers]
  const byTable = new Map(list.map((m) => [m.table.name, m] as const))
  const parents = (m: Mapper): Mapper[] => {
    const out: Mapper[] = []
    for (const c of m.table.columnList) {
      if (!c.references) continue
      const t = typeof c.references.target === 'function' ? c.references.target().table : c.references.target.split('.')[0]
      const p = byTable.get(t)
      if (p && p !== m) out.push(p)
    }
    for (const rel of m.relationships.values()) if (rel.child === m && rel.parent !== m && mappers.has(rel.parent)) out.push(rel.parent)
    return out
  }
  // Only tables with inserts or deletes constrain the order; a cycle there is an error.
  const ordered = topologicalSort(list, parents, (m) => m.table.name)
  plan.order.push(...ordered)
  ;(plan as { isEmpty: boolean }).isEmpty = mappers.size === 0
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

function resolveDeferred(plan: FlushPlan, s: InstanceState): void {
  const had = plan.deferred.get(s)
  if (had === undefined) return
  if (!Array.isArray(had)) {
    const pv = had.parent.values
    for (let i = 0; i < had.fk.length; i++) setColumn(plan, s, had.fk[i], pv[had.ref[i]])
    return
  }
  for (const d of had) {
    const pv = d.parent.values
    for (let i = 0; i < d.fk.length; i++) setColumn(plan, s, d.fk[i], pv[d.ref[i]])
  }
}

/** Splits a self-referencing table's rows into waves: each row after the rows it points at. */
function waves(plan: FlushPlan, m: Mapper, states: InstanceState[]): InstanceState[][] {
  let selfRef = false
  for (const s of states) {
    const list = deferredOf(plan, s)
    if (list.some((d) => d.parent.mapper === m && d.parent.status === PENDING)) {
      selfRef = true
      break
    }
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
  for (const m of plan.order) {
    const states = plan.inserts.get(m)
    if (states !== undefined) for (const wave of waves(plan, m, states)) await insertRows(plan, conn, m, wave, d, caps, assigned, result)
  }
  for (const m of plan.order) {
    const states = plan.updates.get(m)
    if (states !== undefined) await updateRows(plan, conn, m, states, d, caps, result)
  }
  for (const s of plan.deferred.keys()) if (s.status === PERSISTENT) resolveDeferred(plan, s)
  for (let i = plan.order.length - 1; i >= 0; i--) {
    const m = plan.order[i]
    const states = plan.deletes.get(m)
    if (states !== undefined) await deleteRows(conn, m, states, d, caps, result)
  }
  return result
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
  const toDb = m.codec(d.name).toDbByName
  const hasConverters = m.codec(d.name).toDb.length > 0
  const groups = new Map<number, { rows: Record<string, unknown>[]; states: InstanceState[] }>()
  for (const s of states) {
    resolveDeferred(plan, s)
    const vals = s.values
    for (const c of m.clientDefaults) {
      if (vals[c.name] !== undefined) continue
      const def = c.clientDefault
      vals[c.name] = c.version ? 1 : def !== undefined ? ('fn' in def ? def.fn() : def.value) : undefined
    }
    // Without converters the object's own values are the row: insertMany leaves `undefined`
    // columns out (generated keys, server defaults; NULL for the rest), so no copy is needed.
    const row: Record<string, unknown> = hasConverters ? {} : vals
    let sig = 0
    for (let i = 0; i < cols.length; i++) {
      const c = cols[i]
      let v = vals[c.name]
      if (v === undefined || v === EXPIRED) {
        if (v === EXPIRED) vals[c.name] = undefined
        if (c.autoIncrement || c.serverDefault !== undefined) continue
        v = null
      }
      sig |= 1 << i
      if (hasConverters) row[c.name] = v !== null && toDb[c.name] ? toDb[c.name]!(v) : v
    }
    let g = groups.get(sig)
    if (g === undefined) groups.set(sig, (g = { rows: [], states: [] }))
    g.rows.push(row)
    g.states.push(s)
  }
  const fromDb = m.codec(d.name).fromDb
  for (const [sig, g] of groups) {
    const returning: string[] = []
    const expire: string[] = []
    for (let i = 0; i < cols.length; i++) {
      if (sig & (1 << i)) continue
      if (cols[i].autoIncrement || caps.insertReturning) returning.push(cols[i].name)
      else expire.push(cols[i].name)
    }
    const out = await conn.insertMany<Record<string, unknown>>(
      m.table.name,
      g.rows,
      returning.length > 0 ? { returning, pageSize: INSERT_BATCH } : { pageSize: INSERT_BATCH },
    )
    if (returning.length > 0) {
      for (let i = 0; i < g.states.length; i++) {
        const vals = g.states[i].values
        const r = out[i]
        for (const c of returning) {
          let v = r[c]
          for (const [n, f] of fromDb) if (n === c && v !== null && v !== undefined) v = f(v)
          if (c === m.autoIncrement && typeof v === 'string' && /^\d+$/.test(v)) v = Number(v)
          assigned.values.push(vals)
          assigned.columns.push(c)
          vals[c] = v
        }
      }
    }
    for (const s of g.states) {
      for (const c of expire) result.expireAfter.push([s, c])
      result.inserted.push(s)
    }
  }
}

function keyValue(s: InstanceState, c: string): unknown {
  const o = s.original
  return o !== null && c in o ? o[c] : s.values[c]
}

async function run(conn: Connection<unknown>, text: string, params: unknown[]): Promise<number> {
  const r = await conn.db.executeQuery(CompiledQuery.raw(text, params))
  return Number(r.numAffectedRows ?? 0)
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
  const groups = new Map<string, { cols: string[]; states: InstanceState[] }>()
  for (const s of states) {
    resolveDeferred(plan, s)
    const o = s.original!
    const changed: string[] = []
    for (const c of m.columns) if (c in o && c !== ver && !same(o[c], s.values[c])) changed.push(c)
    result.updated.push(s)
    if (changed.length === 0) continue
    const sig = changed.join('\u0000')
    let g = groups.get(sig)
    if (g === undefined) groups.set(sig, (g = { cols: changed, states: [] }))
    g.states.push(s)
  }
  const q = d.quote
  const conv = (c: string, v: unknown) => (v !== null && v !== undefined && toDb[c] ? toDb[c]!(v) : v)
  for (const { cols, states: group } of groups.values()) {
    for (const s of group) if (ver) result.versions.push([s, Number(s.values[ver]) + 1])
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
      const head = `UPDATE ${q(m.table.name)} AS t SET ${set.join(', ')} FROM (VALUES `
      const tail = `) AS v(${names.join(', ')}) WHERE ${where}`
      const texts = new Map<number, string>()
      const pk = m.pk
      const noConv = pk.every((k) => toDb[k] === undefined) && cols.every((c) => toDb[c] === undefined)
      for (let start = 0; start < group.length; start += per) {
        const batch = group.slice(start, start + per)
        const params: unknown[] = new Array(batch.length * width)
        let p = 0
        for (const s of batch) {
          const vals = s.values
          for (const k of pk) params[p++] = noConv ? keyValue(s, k) : conv(k, keyValue(s, k))
          for (const c of cols) params[p++] = noConv ? vals[c] : conv(c, vals[c])
          if (ver) {
            const old = Number(vals[ver])
            params[p++] = old
            params[p++] = old + 1
          }
        }
        let text = texts.get(batch.length)
        if (text === undefined) {
          const tuples: string[] = new Array(batch.length)
          let n = 0
          for (let i = 0; i < batch.length; i++) {
            let t = '('
            for (let j = 0; j < width; j++) t += `${j > 0 ? ', ' : ''}${d.param(++n)}::${casts[j]}`
            tuples[i] = t + ')'
          }
          text = head + tuples.join(', ') + tail
          texts.set(batch.length, text)
        }
        const n = await run(conn, text, params)
        if (n !== batch.length) throw stale(m, 'UPDATE', batch.length, n)
      }
    } else {
      const set = cols.map((c) => `${q(c)} = ${d.param(0)}`)
      if (ver) set.push(`${q(ver)} = ${d.param(0)}`)
      let where = m.pk.map((k) => `${q(k)} = ${d.param(0)}`).join(' AND ')
      if (ver) where += ` AND ${q(ver)} = ${d.param(0)}`
      const text = `UPDATE ${q(m.table.name)} SET ${set.join(', ')} WHERE ${where}`
      for (const s of group) {
        const params: unknown[] = cols.map((c) => conv(c, s.values[c]))
        if (ver) params.push(Number(s.values[ver]) + 1)
        for (const k of m.pk) params.push(conv(k, keyValue(s, k)))
        if (ver) params.push(Number(s.values[ver]))
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
      text = `DELETE FROM ${q(m.table.name)} WHERE ${q(pk)} = ANY(${d.param(1)}::${d.castType(m.table.column(pk)!)}[])`
    } else if (simple) {
      const pk = m.singlePk!
      for (const s of batch) params.push(conv(pk, keyValue(s, pk)))
      let cached = deleteTexts.get(batch.length)
      if (cached === undefined) {
        const ph: string[] = new Array(batch.length)
        for (let i = 0; i < batch.length; i++) ph[i] = d.param(i + 1)
        cached = `DELETE FROM ${q(m.table.name)} WHERE ${q(pk)} IN (${ph.join(', ')})`
        deleteTexts.set(batch.length, cached)
      }
      text = cached
    } else {
      const ors = batch.map((s) => {
        const parts = m.pk.map((k) => {
          params.push(conv(k, keyValue(s, k)))
          return `${q(k)} = ${d.param(params.length)}`
        })
        if (ver) {
          params.push(keyValue(s, ver))
          parts.push(`${q(ver)} = ${d.param(params.length)}`)
        }
        return `(${parts.join(' AND ')})`
      })
      text = `DELETE FROM ${q(m.table.name)} WHERE ${ors.join(' OR ')}`
    }
    const n = await run(conn, text, params)
    if (n !== batch.length) throw stale(m, 'DELETE', batch.length, n)
    for (const s of batch) result.deleted.push(s)
  }
}
