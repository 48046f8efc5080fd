import { CompiledQuery } from 'kysely'
import type { KnownColumnsInsertOptions } from '../engine/insert-many.js'
import type { Connection, DialectCapabilities } from '../engine/types.js'
import type { Mapper, RelationshipProperty, Through } from './mapper.js'
import type { SqlDialect } from './sql-dialect.js'
import { EXPIRED, type InstanceState, ownRels, PENDING, PERSISTENT, registerRelationships, stateOf, TRANSIENT } from './state.js'

/** One association row to insert or delete: the owner's and the target's keys, per the through table's columns. */
interface LinkRow {
  readonly through: Through
  readonly owner: InstanceState
  readonly target: InstanceState
}

/**
 * The association-table work of one flush. A link changed on both sides
 * (the collections mirror each other) is one row: rows are keyed on the
 * pair of objects in the table's own column order, whichever side saw it.
 */
export class LinkChanges {
  readonly adds = new Map<string, LinkRow>()
  readonly removes = new Map<string, LinkRow>()
  /** Objects deleted in this flush, per association table holding their key: their rows go first. */
  readonly ownerDeletes = new Map<string, { through: Through; states: InstanceState[] }>()
  private readonly ids = new Map<InstanceState, number>()

  get isEmpty(): boolean {
    return this.adds.size === 0 && this.removes.size === 0 && this.ownerDeletes.size === 0
  }

  private key(through: Through, owner: InstanceState, target: InstanceState): string {
    const a = this.id(owner)
    const b = this.id(target)
    // The mirrored side's Through has the columns swapped: order the pair by column names.
    return through.ownerCols.join(',') < through.targetCols.join(',')
      ? `${through.table.name}\u0000${a}\u0000${b}`
      : `${through.table.name}\u0000${b}\u0000${a}`
  }

  private id(s: InstanceState): number {
    let n = this.ids.get(s)
    if (n === undefined) this.ids.set(s, (n = this.ids.size))
    return n
  }

  add(through: Through, owner: InstanceState, target: InstanceState): void {
    const k = this.key(through, owner, target)
    // Removed on one side and added on the other: the row stays as it is.
    if (!this.removes.delete(k)) this.adds.set(k, { through, owner, target })
  }

  remove(through: Through, owner: InstanceState, target: InstanceState): void {
    const k = this.key(through, owner, target)
    if (!this.adds.delete(k)) this.removes.set(k, { through, owner, target })
  }

  /** A deleted object: its association rows are deleted (unless the database cascades), and no link of it is added. */
  ownerDeleted(s: InstanceState): void {
    s.mapper.links.forEach((through, k) => {
      if (through.passiveDeletes) return
      const had = this.ownerDeletes.get(k)
      if (had === undefined) this.ownerDeletes.set(k, { through, states: [s] })
      else had.states.push(s)
    })
  }

  /** Drops adds and removes of objects deleted in this flush (their rows go with them). */
  dropDeleted(deleted: Set<InstanceState>): void {
    if (deleted.size === 0) return
    for (const map of [this.adds, this.removes]) {
      map.forEach((row, k) => {
        if (deleted.has(row.owner) || deleted.has(row.target)) map.delete(k)
      })
    }
  }
}

/** True when both arrays hold the same objects in the same order. */
export function sameItems(a: readonly object[], b: readonly object[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * Compares a many-to-many collection with its snapshot (as loaded or last
 * flushed) and records the association rows to insert and delete. The
 * target's mirror collection, when loaded, is brought in step now (and its
 * snapshot with it, so the same link is not seen again from that side).
 */
export function syncLinks(
  links: LinkChanges,
  cascadeAdd: (s: InstanceState) => void,
  s: InstanceState,
  rel: RelationshipProperty,
  arr: readonly object[],
): boolean {
  for (let i = 0; i < arr.length; i++) {
    const cs = stateOf(arr[i])
    if (cs !== undefined && cs.status === TRANSIENT) cascadeAdd(cs)
  }
  const before = s.relSnapshot?.[rel.name] ?? []
  if (sameItems(before, arr)) return false
  const through = rel.through!
  const back = rel.back
  const now = arr.length > 16 ? new Set(arr) : null
  const was = before.length > 16 ? new Set(before) : null
  for (let i = 0; i < arr.length; i++) {
    const o = arr[i]
    if (was ? was.has(o) : before.includes(o)) continue
    const cs = stateOf(o)
    if (cs === undefined || (cs.status !== PENDING && cs.status !== PERSISTENT)) continue
    links.add(through, s, cs)
    if (back !== null) mirror(cs, back, s.obj, true)
  }
  for (let i = 0; i < before.length; i++) {
    const o = before[i]
    if (now ? now.has(o) : arr.includes(o)) continue
    const cs = stateOf(o)
    if (cs === undefined) continue
    links.remove(through, s, cs)
    if (back !== null) mirror(cs, back, s.obj, false)
  }
  return true
}

/** Adds `obj` to (or removes it from) `other`'s loaded collection `name` and its snapshot. */
export function mirror(other: InstanceState, name: string, obj: object, add: boolean): void {
  const arr = other.rels?.[name] as object[] | undefined
  if (arr === undefined) {
    // Not loaded, but known: a new object's (or one inserted by this session's) links are the ones made here.
    if (add && (other.status === PENDING || other.fresh)) {
      ownRels(other)[name] = [obj]
      ;(other.relSnapshot ??= {})[name] = [obj]
      registerRelationships(other)
    }
    return
  }
  const snap = other.relSnapshot?.[name]
  if (add) {
    if (!arr.includes(obj)) arr.push(obj)
    // The link is this flush's: from the other side it is already there (else it would be inserted twice).
    if (snap === undefined) (other.relSnapshot ??= {})[name] = [obj]
    else if (!snap.includes(obj)) other.relSnapshot![name] = [...snap, obj]
    registerRelationships(other)
  } else {
    const i = arr.indexOf(obj)
    if (i >= 0) arr.splice(i, 1)
    if (snap !== undefined && snap.includes(obj)) other.relSnapshot![name] = snap.filter((x) => x !== obj)
  }
}

/** Rows per batched association DELETE (two parameters a row, or one per key column). */
const LINK_DELETE_BATCH = 500
/** Rows per multi-row association INSERT at most. */
const LINK_INSERT_BATCH = 1000

function keyOf(s: InstanceState, col: string): unknown {
  const o = s.original
  const v = o !== null && col in o ? o[col] : s.values[col]
  return v === EXPIRED ? undefined : v
}

function toDb(m: Mapper, d: SqlDialect, col: string, v: unknown): unknown {
  const f = m.codec(d.name).toDbByName[col]
  return v !== null && v !== undefined && f !== undefined ? f(v) : v
}

/** Groups rows by association table and orientation, so each group is one statement shape. */
function group(rows: Iterable<LinkRow>): Map<string, LinkRow[]> {
  const out = new Map<string, LinkRow[]>()
  for (const r of rows) {
    const k = `${r.through.table.name}\u0000${r.through.ownerCols.join(',')}`
    const g = out.get(k)
    if (g === undefined) out.set(k, [r])
    else g.push(r)
  }
  return out
}

/** Values of one link row, owner columns then target columns, as the driver takes them. */
function rowValues(r: LinkRow, d: SqlDialect): unknown[] {
  const t = r.through
  const out: unknown[] = []
  for (let i = 0; i < t.ownerRef.length; i++) out.push(toDb(r.owner.mapper, d, t.ownerRef[i], keyOf(r.owner, t.ownerRef[i])))
  for (let i = 0; i < t.targetRef.length; i++) out.push(toDb(r.target.mapper, d, t.targetRef[i], keyOf(r.target, t.targetRef[i])))
  return out
}

/** Deletes removed links: batched `DELETE ... WHERE (a = ? AND b = ?) OR ...` per association table. */
export async function deleteLinks(conn: Connection<unknown>, links: LinkChanges, d: SqlDialect, caps: DialectCapabilities): Promise<void> {
  if (links.removes.size === 0) return
  const q = d.quote
  for (const rows of group(links.removes.values()).values()) {
    const t = rows[0].through
    const cols = [...t.ownerCols, ...t.targetCols]
    const per = Math.max(1, Math.min(LINK_DELETE_BATCH, Math.floor(caps.maxParameters / cols.length)))
    for (let start = 0; start < rows.length; start += per) {
      const batch = rows.slice(start, start + per)
      const params: unknown[] = []
      const ors: string[] = []
      for (const r of batch) {
        const vals = rowValues(r, d)
        const parts: string[] = []
        for (let i = 0; i < cols.length; i++) {
          params.push(vals[i])
          parts.push(`${q(cols[i])} = ${d.placeholder(params.length - 1)}`)
        }
        ors.push(`(${parts.join(' AND ')})`)
      }
      await conn.db.executeQuery(CompiledQuery.raw(`DELETE FROM ${d.table(t.table)} WHERE ${ors.join(' OR ')}`, params))
    }
  }
}

/** Inserts added links: multi-row INSERTs per association table. */
export async function insertLinks(conn: Connection<unknown>, links: LinkChanges, d: SqlDialect): Promise<void> {
  if (links.adds.size === 0) return
  for (const rows of group(links.adds.values()).values()) {
    const t = rows[0].through
    const cols = [...t.ownerCols, ...t.targetCols]
    const out: Record<string, unknown>[] = rows.map((r) => {
      const vals = rowValues(r, d)
      const row: Record<string, unknown> = {}
      for (let i = 0; i < cols.length; i++) row[cols[i]] = vals[i]
      return row
    })
    const options: KnownColumnsInsertOptions = { columns: cols, pageSize: LINK_INSERT_BATCH }
    await conn.insertMany(t.table.name, out, options)
  }
}

/** Deletes the association rows of deleted objects: `DELETE ... WHERE owner IN (...)` per association table. */
export async function deleteOwnerLinks(conn: Connection<unknown>, links: LinkChanges, d: SqlDialect, caps: DialectCapabilities): Promise<void> {
  const q = d.quote
  for (const { through: t, states } of links.ownerDeletes.values()) {
    const cols = t.ownerCols
    const single = cols.length === 1
    const per = single && d.anyArray ? 10_000 : Math.max(1, Math.min(1000, Math.floor(caps.maxParameters / cols.length)))
    for (let start = 0; start < states.length; start += per) {
      const batch = states.slice(start, start + per)
      const params: unknown[] = []
      let where: string
      if (single && d.anyArray) {
        const m = batch[0].mapper
        params.push(batch.map((s) => toDb(s.mapper, d, t.ownerRef[0], keyOf(s, t.ownerRef[0]))))
        where = `${q(cols[0])} = ANY(${d.placeholder(0)}::${d.castType(m.table.column(t.ownerRef[0])!)}[])`
      } else if (single) {
        const ph = batch.map((s) => {
          params.push(toDb(s.mapper, d, t.ownerRef[0], keyOf(s, t.ownerRef[0])))
          return d.placeholder(params.length - 1)
        })
        where = `${q(cols[0])} IN (${ph.join(', ')})`
      } else {
        where = batch
          .map((s) => {
            const parts = cols.map((c, i) => {
              params.push(toDb(s.mapper, d, t.ownerRef[i], keyOf(s, t.ownerRef[i])))
              return `${q(c)} = ${d.placeholder(params.length - 1)}`
            })
            return `(${parts.join(' AND ')})`
          })
          .join(' OR ')
      }
      await conn.db.executeQuery(CompiledQuery.raw(`DELETE FROM ${d.table(t.table)} WHERE ${where}`, params))
    }
  }
}
