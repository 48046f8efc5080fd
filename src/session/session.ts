import { CompiledQuery, type Compilable, Kysely, type QueryResult, type SelectQueryBuilder } from 'kysely'
import { InvalidValueError } from '../engine/errors.js'
import { adoptCheckoutContext, enterCheckoutContext } from '../pool/checkout-context.js'
import { SingleConnectionPool } from '../pool/single-connection-pool.js'
import type { Connection, Engine, Transaction } from '../engine/types.js'
import {
  DependencyCycleError,
  DetachedInstanceError,
  FlushError,
  InvalidRequestError,
  ObjectNotFoundError,
  SessionClosedError,
  StaleDataError,
} from './errors.js'
import { SessionEvents, type SessionEventName, type SessionListener } from './events.js'
import { type AnyModel, type Mapper, mapperOf, type RelationshipProperty } from './mapper.js'
import { detectJsonChanges, mutableJsonColumns, snapshotJson, snapshotReplaced } from './json-tracking.js'
import { type Awaitable, awaitableView } from './awaitable.js'
import { WeakIdentity } from './weak-identity.js'
import { cursorStatements, keysetPage, type StreamOptions, streamBatchSize } from './stream.js'
import { createSessionKysely } from './session-driver.js'
import { type SqlDialect, sqlDialect } from './sql-dialect.js'
import {
  DELETED,
  DETACHED,
  EXPIRED,
  type InstanceState,
  ownRels,
  PENDING,
  PERSISTENT,
  registerRelationships,
  sharedRels,
  STATUS_NAMES,
  TRANSIENT,
  stateOf,
} from './state.js'
import type { KyselyTableOf, RowOf, Table } from './table.js'
import { type Assigned, executeFlush, type FlushHost, planFlush } from './unit-of-work.js'

/**
 * `sessionmaker` / Session options.
 *
 * ```ts
 * const options: SessionOptions<DB> = { bind: engine, autoflush: true, autocommit: false, expireOnCommit: true }
 * ```
 */
export interface SessionOptions<DB> {
  /** An engine (the usual case) or a connection already in a transaction (tests: the external-transaction recipe). */
  readonly bind: Engine<DB> | Connection<DB>
  /** Flush pending changes before each query the session runs. Default true. */
  readonly autoflush?: boolean
  /** No standing transaction: each read checks a connection out and back, each flush commits. Default false. */
  readonly autocommit?: boolean
  /** Expire every loaded object's attributes after commit. Default true. */
  readonly expireOnCommit?: boolean
}

/**
 * The one-table `DB` type of a mapped class, for typed query callbacks.
 *
 * ```ts
 * type BookDB = ModelDB<typeof Book> // { book: { id: Generated<number>; title: string; ... } }
 * ```
 */
export type ModelDB<M extends AnyModel> =
  M['table'] extends Table<infer N, infer C> ? { [K in N]: KyselyTableOf<C> } : never
type ModelName<M extends AnyModel> = M['table']['name'] & string
type ModelRow<M extends AnyModel> = M['table'] extends Table<string, infer C> ? RowOf<C> : never

/**
 * Options for loading objects with a query.
 *
 * ```ts
 * await session.query(Author, undefined, { load: ['books', 'books.notes'], populateExisting: true })
 * ```
 */
export interface QueryOptions {
  /** Relationships to load eagerly: one extra query per name (dotted paths for deeper levels). */
  readonly load?: readonly string[]
  /** Overwrite objects already in the session with the row's values (pending changes are kept). */
  readonly populateExisting?: boolean
}

/**
 * A savepoint from `session.beginNested()`.
 *
 * ```ts
 * const sp = await session.beginNested()
 * try { await risky(session); await sp.commit() } catch { await sp.rollback() }
 * ```
 */
export interface NestedTransaction {
  readonly isActive: boolean
  /** Flushes, then releases the savepoint. */
  commit(): Promise<void>
  /** Rolls back to the savepoint and reverts the session's objects to it. */
  rollback(): Promise<void>
}

interface Frame {
  readonly tx: Transaction | null
  /** Objects inserted (made persistent) within this frame. */
  readonly inserted: InstanceState[]
  /** Objects deleted within this frame. */
  readonly deleted: InstanceState[]
}

/** Why a session whose `Session.begin(fn)` block ended refuses its callers. */
const BLOCK_ENDED = "this session's Session.begin() block has ended and the session is closed: nothing was sent"

/** Keys per `= ANY($1)` statement. */
const ANY_BATCH = 10_000

const isEngine = <DB>(b: Engine<DB> | Connection<DB>): b is Engine<DB> => typeof (b as Engine<DB>).connect === 'function'

/**
 * A unit of work: tracks mapped objects, flushes their changes in
 * dependency order, and holds one connection and transaction while in use.
 * Make sessions with `sessionmaker`; close each (or `await using`).
 *
 * ```ts
 * await using session = Session()
 * const ada = new Author({ name: 'Ada' })
 * session.add(ada)
 * await session.commit()           // INSERT ... RETURNING id; ada.id is set
 * const again = await session.get(Author, ada.id)
 * ```
 */
export class Session<DB = unknown> implements FlushHost, AsyncDisposable {
  readonly engine: Engine<DB>
  readonly autoflush: boolean
  readonly autocommit: boolean
  readonly expireOnCommit: boolean
  /** @internal */ readonly _new = new Set<InstanceState>()
  /** @internal */ readonly _dirty = new Set<InstanceState>()
  /** @internal */ readonly _deleted = new Set<InstanceState>()
  /** @internal */ readonly _rel = new Set<InstanceState>()
  private readonly identity = new Map<Mapper, Map<unknown, InstanceState>>()
  /** Models with `json({ mutable: true })` columns that have objects in this session: scanned at flush. */
  private readonly jsonTracked = new Set<Mapper>()
  /** Objects `stream` released: held weakly, found again while the caller keeps them. */
  private readonly weak = new WeakIdentity()
  private readonly external: Connection<DB> | null
  private readonly events: SessionEvents<Session<DB>>
  private readonly dialect: SqlDialect
  private conn: Connection<DB> | null = null
  private frames: Frame[] = []
  private opening: Promise<Connection<DB>> | null = null
  /** A statement ran in the current transaction (so a failed flush needs a savepoint). */
  private used = false
  private flushing: Promise<void> | null = null
  private closed = false
  /** The close in progress (a second `close()` waits for it). */
  private closing: Promise<void> | null = null
  /** Set when the block that owns the session ended (`Session.begin(fn)`): callers are refused from then on. */
  private sealed = false
  /** The work stack of the add() cascade walk, reused (empty between calls). */
  private readonly cascadeWork: InstanceState[] = []
  private kysely: Kysely<DB> | null = null
  /** The engine has one connection (in-memory): calls mark their async context (deadlock detection). */
  private readonly marksContext: boolean

  constructor(options: SessionOptions<DB>, events?: SessionEvents<Session<DB>>) {
    const bind = options.bind
    if (bind === null || typeof bind !== 'object') throw new InvalidRequestError('sessionmaker needs bind: an Engine or a Connection')
    this.external = isEngine(bind) ? null : bind
    this.engine = isEngine(bind) ? bind : bind.engine
    this.autoflush = options.autoflush ?? true
    this.autocommit = options.autocommit ?? false
    this.expireOnCommit = options.expireOnCommit ?? true
    this.events = new SessionEvents(events ?? null)
    this.dialect = sqlDialect(this.engine.dialect)
    this.marksContext = this.external === null && this.engine.pool instanceof SingleConnectionPool
  }

  /**
   * Kysely on the session's transaction. The first statement checks out a
   * connection and begins; each statement autoflushes first.
   *
   * ```ts
   * const n = await session.db.selectFrom('book').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst()
   * ```
   */
  get db(): Kysely<DB> {
    this.enter()
    return (this.kysely ??= createSessionKysely<DB>(this.engine.kyselyDialect, this))
  }

  /** Listens to a session event: `beforeFlush`, `afterFlush`, `afterBegin`, `afterCommit`, `afterRollback`. */
  on(event: SessionEventName, listener: SessionListener<Session<DB>>): this {
    this.events.on(event, listener)
    return this
  }

  /** Removes a listener added with {@link Session.on}. */
  off(event: SessionEventName, listener: SessionListener<Session<DB>>): this {
    this.events.off(event, listener)
    return this
  }

  // ---------------------------------------------------------------- views

  /** Objects added and not yet flushed. */
  get new(): object[] {
    return [...this._new].map((s) => s.obj)
  }

  /** Persistent objects with a changed attribute (compared with their loaded value). */
  get dirty(): object[] {
    const out: object[] = []
    for (const s of this._dirty) {
      if (s.status !== PERSISTENT || s.original === null) continue
      for (const k in s.original) {
        if (!Object.is(s.original[k], s.values[k])) {
          out.push(s.obj)
          break
        }
      }
    }
    return out
  }

  /** Objects marked for deletion and not yet flushed. */
  get deleted(): object[] {
    return [...this._deleted].map((s) => s.obj)
  }

  /** True when `obj` belongs to this session (pending, persistent, or marked for deletion). */
  contains(obj: object): boolean {
    const s = stateOf(obj)
    return s !== undefined && s.session === this && (s.status === PENDING || s.status === PERSISTENT)
  }

  /** True while the session holds a connection in a transaction. */
  inTransaction(): boolean {
    return this.frames.length > 0 && this.frames[0].tx !== null && this.frames[0].tx.isActive
  }

  // ---------------------------------------------------------------- add / delete

  /** Adds a transient object (and, by cascade, the new objects its relationships hold): it is inserted at the next flush. */
  add(obj: object): void {
    this.open()
    const s = this.stateFor(obj)
    if (s.session !== null && s.session !== this) {
      throw new InvalidRequestError(`${obj.constructor.name} belongs to another session; expunge it there or use merge()`)
    }
    if (s.status === TRANSIENT) this._cascadeAdd(s)
    else if (s.status === DELETED || s.status === DETACHED) {
      if (s.status === DETACHED && s.key !== undefined) {
        const map = this.mapFor(s.mapper)
        const there = map.get(s.key)
        if (there !== undefined && there !== s) {
          throw new InvalidRequestError(`another ${obj.constructor.name} with key ${String(s.key)} is already in the session; use merge()`)
        }
        s.status = PERSISTENT
        s.session = this
        map.set(s.key, s)
        if (s.original !== null) this._dirty.add(s)
        if (s.rels !== null) registerRelationships(s)
      }
    } else if (this._deleted.has(s)) this._deleted.delete(s)
    this.cascadeFrom(s)
  }

  /** Adds several objects. */
  addAll(objects: Iterable<object>): void {
    for (const o of objects) this.add(o)
  }

  /** Marks a persistent object for deletion at the next flush (a pending one is just removed). */
  delete(obj: object): void {
    this.open()
    const s = this.stateFor(obj)
    if (s.status === PENDING && s.session === this) {
      this._new.delete(s)
      s.status = TRANSIENT
      s.session = null
      return
    }
    if (s.status !== PERSISTENT || s.session !== this) {
      throw new InvalidRequestError(`${obj.constructor.name} is ${STATUS_NAMES[s.status]}, not persistent in this session: it cannot be deleted`)
    }
    this._deleted.add(s)
  }

  /** @internal A transient object found by cascade becomes pending. */
  _cascadeAdd(s: InstanceState): void {
    s.status = PENDING
    s.session = this
    this._new.add(s)
    if (s.rels !== null) {
      s.relRegistered = false
      registerRelationships(s)
    }
  }

  /** @internal */
  _cascadeDelete(s: InstanceState): void {
    if (s.session === this && s.status === PERSISTENT) this._deleted.add(s)
  }

  private cascadeFrom(root: InstanceState): void {
    // One stack for the session's life: add() runs per object, and the walk calls no user code.
    const work = this.cascadeWork
    work.push(root)
    while (work.length > 0) {
      const s = work.pop()!
      const rels = s.rels
      if (rels === null) continue
      const list = s.mapper.relationshipList
      for (let r = 0; r < list.length; r++) {
        const rel = list[r]
        const v = rels[rel.name]
        if (v === undefined || v === null) continue
        if (rel.kind === 'manyToOne') this.cascadeOne(v, work)
        else for (let i = 0; i < (v as object[]).length; i++) this.cascadeOne((v as object[])[i], work)
      }
    }
  }

  private cascadeOne(o: unknown, work: InstanceState[]): void {
    const t = stateOf(o)
    if (t !== undefined && t.status === TRANSIENT) {
      this._cascadeAdd(t)
      work.push(t)
    }
  }

  // ---------------------------------------------------------------- flush

  /**
   * Writes pending changes: INSERTs (parents first, one multi-row statement
   * per table and batch), UPDATEs of changed columns, DELETEs (children
   * first). Atomic: on failure the database and the objects are as before.
   */
  async flush(): Promise<void> {
    this.enter()
    return this.flushUnchecked()
  }

  /** `flush()` for the session's own commit, also once its block has ended. */
  private async flushUnchecked(): Promise<void> {
    while (this.flushing) await this.flushing.catch(() => undefined)
    if (this.jsonTracked.size > 0) this.detectJsonChanges()
    if (!this.hasChanges()) return
    let done!: () => void
    this.flushing = new Promise<void>((r) => (done = r))
    try {
      await this.flushNow()
    } finally {
      this.flushing = null
      done()
    }
  }

  private hasChanges(): boolean {
    return this._new.size > 0 || this._dirty.size > 0 || this._deleted.size > 0 || this._rel.size > 0
  }

  private async flushNow(): Promise<void> {
    if (this.events.has('beforeFlush')) await this.events.emit('beforeFlush', this)
    const plan = planFlush(this)
    if (plan.isEmpty) {
      this._dirty.clear()
      return
    }
    const oneShot = this.autocommit && !this.inTransaction()
    const conn = await this.connection()
    const savepoint = this.used && !oneShot && this.engine.capabilities.savepoints ? await conn.beginNested() : null
    this.used = true
    const assigned: Assigned = { groups: [] }
    let result
    try {
      result = await executeFlush(plan, conn as Connection<unknown>, this.dialect, this.engine.capabilities, assigned)
      if (savepoint) await savepoint.commit()
    } catch (e) {
      // Undo in-memory effects: generated keys, and changes the planning made to persistent objects.
      for (const { states, columns } of assigned.groups) {
        for (let i = 0; i < states.length; i++) for (let j = 0; j < columns.length; j++) states[i].values[columns[j]] = undefined
      }
      for (const [s, snap] of plan.snapshots) {
        s.values = snap.values
        s.original = snap.original
        if (snap.original === null) this._dirty.delete(s)
      }
      try {
        if (savepoint) await savepoint.rollback()
        else await this.endTransaction('rollback')
      } catch {
        // The original error matters more than a failed rollback.
      }
      // Athanor's own refusals (a value that does not fit its column) are not database errors: they come as they are.
      if (e instanceof StaleDataError || e instanceof DependencyCycleError || e instanceof FlushError || e instanceof InvalidValueError) throw e
      const why = String((e as Error)?.message ?? e)
      // The cause keeps the full text (its SQL can be huge); the message stays readable.
      throw new FlushError(`flush failed, nothing was written: ${why.length > 300 ? `${why.slice(0, 300)}...` : why}`, { cause: e })
    }
    const frame = this.frames[this.frames.length - 1]
    const inserted = result.inserted
    // Emptying a Set at once is much cheaper than deleting its entries one by one (each may shrink it).
    const clearNew = removesAll(this._new, inserted)
    let lastMapper: Mapper | null = null
    let map: Map<unknown, InstanceState> | null = null
    for (let i = 0; i < inserted.length; i++) {
      const s = inserted[i]
      if (!clearNew) this._new.delete(s)
      s.status = PERSISTENT
      s.fresh = true
      s.key = s.mapper.keyOf(s.values)
      if (s.mapper !== lastMapper) map = this.mapFor((lastMapper = s.mapper))
      map!.set(s.key, s)
      frame?.inserted.push(s)
    }
    if (clearNew) this._new.clear()
    for (let i = 0; i < result.expireAfter.length; i++) {
      const [s, c] = result.expireAfter[i]
      s.values[c] = EXPIRED
    }
    for (let i = 0; i < result.updated.length; i++) {
      const s = result.updated[i]
      const o = s.original
      if (o !== null && touchesKey(s.mapper.pk, o)) {
        const map = this.mapFor(s.mapper)
        map.delete(s.key)
        s.key = s.mapper.keyOf(s.values)
        map.set(s.key, s)
      }
      s.original = null
    }
    for (let i = 0; i < result.versions.length; i++) {
      const [s, v] = result.versions[i]
      s.values[s.mapper.versionColumn!] = v
    }
    const deleted = result.deleted
    const clearDeleted = removesAll(this._deleted, deleted)
    lastMapper = null
    for (let i = 0; i < deleted.length; i++) {
      const s = deleted[i]
      if (!clearDeleted) this._deleted.delete(s)
      s.status = DELETED
      if (s.mapper !== lastMapper) map = this.identity.get((lastMapper = s.mapper)) ?? null
      map?.delete(s.key)
      frame?.deleted.push(s)
    }
    if (clearDeleted) this._deleted.clear()
    if (deleted.length > 0) this.followPassiveDeletes(deleted, frame)
    for (let i = 0; i < plan.collections.length; i++) {
      const [s, name, arr] = plan.collections[i]
      ;(s.relSnapshot ??= {})[name] = arr.slice()
    }
    this._dirty.clear()
    // Deleted objects leave `_rel` here too; rebuilt only when some must go (deleting entries one by one is slow).
    let keep = 0
    this._rel.forEach((s) => {
      if (s.status === PENDING || s.status === PERSISTENT) keep++
    })
    if (keep === 0) this._rel.clear()
    else if (keep < this._rel.size) {
      const kept: InstanceState[] = []
      this._rel.forEach((s) => {
        if (s.status === PENDING || s.status === PERSISTENT) kept.push(s)
      })
      this._rel.clear()
      for (let i = 0; i < kept.length; i++) this._rel.add(kept[i])
    }
    if (this.jsonTracked.size > 0 || result.inserted.length > 0) this.snapshotJsonAfterFlush(result.inserted, result.updated)
    if (oneShot) await this.commitFrames()
    if (this.events.has('afterFlush')) await this.events.emit('afterFlush', this)
  }

  /** `json({ mutable: true })`: columns changed in place since load or the last flush become changes. */
  private detectJsonChanges(): void {
    this.jsonTracked.forEach((m) => {
      const cols = mutableJsonColumns(m)
      this.identity.get(m)?.forEach((s) => detectJsonChanges(s, cols))
    })
  }

  /** New snapshots of what the flush wrote, for the next flush to compare with. */
  private snapshotJsonAfterFlush(inserted: readonly InstanceState[], updated: readonly InstanceState[]): void {
    for (const list of [inserted, updated]) {
      for (let i = 0; i < list.length; i++) {
        const cols = mutableJsonColumns(list[i].mapper)
        if (cols.length === 0) continue
        this.jsonTracked.add(list[i].mapper)
        snapshotJson(list[i], cols)
      }
    }
  }

  /**
   * Children the database deleted or orphaned along with their parents
   * (`passiveDeletes`, the foreign key's `onDelete`) follow in the session:
   * deleted with `'cascade'` (and so on down), key set to NULL with `'set null'`.
   */
  private followPassiveDeletes(deleted: readonly InstanceState[], frame: Frame | undefined): void {
    // The usual case, no passiveDeletes relationship among the deleted classes: one check per run of one class.
    let last: Mapper | null = null
    let any = false
    for (let i = 0; i < deleted.length && !any; i++) {
      if (deleted[i].mapper === last) continue
      last = deleted[i].mapper
      any = last.relationshipList.some((r) => r.passiveDeletes && r.kind === 'oneToMany')
    }
    if (!any) return
    let work = deleted
    while (work.length > 0) {
      const byMapper = new Map<Mapper, InstanceState[]>()
      for (const s of work) {
        const list = byMapper.get(s.mapper)
        if (list === undefined) byMapper.set(s.mapper, [s])
        else list.push(s)
      }
      const next: InstanceState[] = []
      for (const [m, parents] of byMapper) {
        for (const rel of m.relationshipList) {
          if (rel.kind !== 'oneToMany' || !rel.passiveDeletes) continue
          const map = this.identity.get(rel.target)
          if (map === undefined || map.size === 0) continue
          const action = rel.target.table.column(rel.fk[0])?.references?.onDelete
          if (action !== 'cascade' && action !== 'set null') continue
          const keys = new Set(parents.map((p) => rel.ref.map((c) => String(valueBefore(p, c))).join('\u001f')))
          map.forEach((cs, k) => {
            if (cs.status !== PERSISTENT || !keys.has(rel.fk.map((c) => String(valueBefore(cs, c))).join('\u001f'))) return
            if (action === 'cascade') {
              cs.status = DELETED
              map.delete(k)
              this._dirty.delete(cs)
              this._deleted.delete(cs)
              frame?.deleted.push(cs)
              next.push(cs)
            } else {
              for (const c of rel.fk) {
                cs.values[c] = null
                if (cs.original !== null) delete cs.original[c]
              }
              if (rel.back !== null && cs.rels !== null && rel.back in cs.rels) ownRels(cs)[rel.back] = null
            }
          })
        }
      }
      work = next
    }
  }

  // ---------------------------------------------------------------- transactions

  /**
   * Begins a transaction now (it would begin at the first statement anyway).
   * In `autocommit` mode this is how a transaction is opened.
   */
  async begin(): Promise<void> {
    this.enter()
    if (this.inTransaction()) throw new InvalidRequestError('a transaction is already open; commit or roll it back first')
    await this.openTransaction()
  }

  /**
   * A SAVEPOINT: `commit()` releases it, `rollback()` undoes the work since,
   * in the database and in the session's objects. With a function: commits
   * when it returns, rolls back when it throws.
   *
   * ```ts
   * const sp = await session.beginNested()
   * session.add(obj)
   * await sp.rollback()   // obj is transient again
   * ```
   */
  async beginNested(): Promise<NestedTransaction>
  async beginNested<T>(fn: () => Promise<T>): Promise<T>
  async beginNested<T>(fn?: () => Promise<T>): Promise<NestedTransaction | T> {
    this.enter()
    await this.flush()
    const conn = await this.connection()
    const sp = await conn.beginNested()
    this.used = true
    const frame: Frame = { tx: sp, inserted: [], deleted: [] }
    this.frames.push(frame)
    const pop = () => {
      const i = this.frames.indexOf(frame)
      if (i < 0) throw new InvalidRequestError('this nested transaction is already closed')
      const inner = this.frames.splice(i)
      return inner
    }
    const nested: NestedTransaction = {
      get isActive() {
        return sp.isActive
      },
      commit: async () => {
        await this.flush()
        const inner = pop()
        await sp.commit()
        const parent = this.frames[this.frames.length - 1]
        for (const f of inner) {
          parent?.inserted.push(...f.inserted)
          parent?.deleted.push(...f.deleted)
        }
      },
      rollback: async () => {
        const inner = pop()
        await sp.rollback()
        for (const f of inner) this.revert(f)
        this.expireAllInternal()
      },
    }
    if (!fn) return nested
    try {
      const r = await fn()
      await nested.commit()
      return r
    } catch (e) {
      if (nested.isActive) await nested.rollback()
      throw e
    }
  }

  /**
   * Flushes, commits, and checks the connection back in. With `expireOnCommit`,
   * loaded objects expire. When the commit fails (the database rolled the
   * transaction back: `TransactionRolledBackError`), the objects roll back as
   * with `rollback()` and the error is thrown.
   */
  async commit(): Promise<void> {
    this.enter()
    await this.commitNow()
  }

  private async commitNow(): Promise<void> {
    if (this.autocommit && !this.inTransaction()) {
      await this.flushUnchecked()
      return
    }
    await this.flushUnchecked()
    if (this.conn === null && !this.opening) return
    const frames = await this.commitFrames()
    for (const f of frames) for (const s of f.deleted) if (s.status === DELETED) this.detach(s)
    if (this.expireOnCommit) this.expireAllInternal()
    if (this.events.has('afterCommit')) await this.events.emit('afterCommit', this)
  }

  /** Commits the transaction; if that fails, nothing of it was kept, so its objects roll back with it. */
  private async commitFrames(): Promise<Frame[]> {
    const frames = this.frames
    try {
      await this.endTransaction('commit')
    } catch (error) {
      this.revertAll(frames)
      if (this.events.has('afterRollback')) await this.events.emit('afterRollback', this).catch(() => undefined)
      throw error
    }
    return frames
  }

  /**
   * Rolls back and checks the connection in. Objects added in the transaction
   * become transient again, deleted ones are restored, the rest are expired.
   */
  async rollback(): Promise<void> {
    this.open()
    await this.rollbackNow()
  }

  private async rollbackNow(): Promise<void> {
    while (this.flushing) await this.flushing.catch(() => undefined)
    const frames = this.frames
    const hadTx = this.conn !== null || this.opening !== null
    try {
      await this.endTransaction('rollback')
    } finally {
      // Even when the rollback itself failed (connection lost), the objects are reverted.
      this.revertAll(frames)
    }
    if (hadTx && this.events.has('afterRollback')) await this.events.emit('afterRollback', this)
  }

  private revertAll(frames: Frame[]): void {
    for (let i = frames.length - 1; i >= 0; i--) this.revert(frames[i])
    for (const s of this._new) {
      s.status = TRANSIENT
      s.session = null
      s.relRegistered = false
      this._rel.delete(s)
    }
    this._new.clear()
    this._deleted.clear()
    this.expireAllInternal()
  }

  /**
   * Rolls back any open transaction, checks the connection in, and detaches
   * every object. The session cannot be used again: from the moment `close()`
   * is called, its statements (also through a `session.db` kept from before)
   * are refused with {@link SessionClosedError}.
   */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing
    this.closed = true
    this.closing = this.closeNow()
    return this.closing
  }

  private async closeNow(): Promise<void> {
    while (this.flushing) await this.flushing.catch(() => undefined)
    try {
      await this.endTransaction('rollback')
    } finally {
      this.identity.forEach((map) => map.forEach((s) => this.detach(s)))
      this.weak.forEach((s) => this.detach(s))
      this._new.forEach((s) => this.detach(s, TRANSIENT))
      this.identity.clear()
      this.weak.clear()
      this._new.clear()
      this._dirty.clear()
      this._deleted.clear()
      this._rel.clear()
    }
  }

  /** `await using session = Session()` closes it at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  /** True once `close()` was called. */
  get isClosed(): boolean {
    return this.closed
  }

  private revert(f: Frame): void {
    for (const s of f.inserted) {
      if (s.status !== PERSISTENT && s.status !== DELETED) continue
      this.identity.get(s.mapper)?.delete(s.key)
      s.status = TRANSIENT
      s.session = null
      s.key = undefined
      s.relRegistered = false
      this._rel.delete(s)
      this._dirty.delete(s)
      this._deleted.delete(s)
      s.original = null
      if (s.mapper.autoIncrement) s.values[s.mapper.autoIncrement] = undefined
    }
    for (const s of f.deleted) {
      if (s.status !== DELETED) continue
      s.status = PERSISTENT
      this.mapFor(s.mapper).set(s.key, s)
    }
  }

  private detach(s: InstanceState, status: typeof DETACHED | typeof TRANSIENT = DETACHED): void {
    s.status = status
    s.session = null
    s.relRegistered = false
  }

  // ---------------------------------------------------------------- connection

  private open(): void {
    if (this.closed) throw new SessionClosedError()
    if (this.sealed) throw new SessionClosedError(BLOCK_ENDED)
  }

  /**
   * `open()` for a call that may check out a connection. On an in-memory
   * engine (one connection) it marks the caller's async context, so a second
   * session's checkout from code that runs after this one's fails at once
   * instead of waiting for a connection this one holds (see SingleConnectionPool).
   */
  private enter(): void {
    this.open()
    if (this.marksContext) enterCheckoutContext()
  }

  /**
   * @internal `Session.begin(fn)`: commit when `fn` returns, roll back when it
   * throws, always close. The session refuses its callers from the moment `fn`
   * settles, so a statement `fn` left running cannot land after the end.
   */
  async _block<T>(fn: (session: this) => Promise<T>): Promise<T> {
    try {
      let result: T
      try {
        result = await fn(this)
      } catch (error) {
        this.sealed = true
        // The caller's error wins; a failed rollback must not hide it.
        if (!this.closed) await this.rollbackNow().catch(() => undefined)
        throw error
      }
      this.sealed = true
      if (this.closed) throw new SessionClosedError()
      await this.commitNow()
      return result
    } finally {
      await this.close()
    }
  }

  /** The session's connection, checked out and begun on first use. */
  private connection(): Promise<Connection<DB>> {
    if (this.conn !== null && this.inTransaction()) return Promise.resolve(this.conn)
    if (this.opening === null) {
      this.opening = this.openTransaction().finally(() => {
        this.opening = null
      })
    }
    return this.opening
  }

  private async openTransaction(): Promise<Connection<DB>> {
    // Closed while a statement waited: it must not check out a connection nobody will give back.
    if (this.closed) throw new SessionClosedError()
    const ext = this.external
    if (ext !== null && ext.closed) throw new InvalidRequestError('the session is bound to a connection that is closed')
    if (this.conn !== null) {
      // The previous transaction ended under us (e.g. the connection failed): give that connection back first.
      const stale = this.conn
      this.conn = null
      if (ext === null) await stale.close().catch(() => undefined)
    }
    // The checkout belongs to the user's call that led here (marked by enter()), not to this inner step.
    const conn = ext ?? (await adoptCheckoutContext(() => this.engine.connect()))
    let tx: Transaction
    try {
      if (this.closed) throw new SessionClosedError()
      tx = ext !== null && ext.inTransaction() ? await ext.beginNested() : await conn.begin()
    } catch (e) {
      if (ext === null) await conn.close()
      throw e
    }
    this.conn = conn
    this.frames = [{ tx, inserted: [], deleted: [] }]
    this.used = false
    if (this.events.has('afterBegin')) await this.events.emit('afterBegin', this)
    return conn
  }

  private async endTransaction(how: 'commit' | 'rollback'): Promise<void> {
    if (this.opening !== null) await this.opening.catch(() => undefined)
    const conn = this.conn
    const tx = this.frames[0]?.tx ?? null
    this.conn = null
    this.frames = []
    this.used = false
    if (conn === null) return
    try {
      if (tx !== null && tx.isActive) await (how === 'commit' ? tx.commit() : tx.rollback())
    } finally {
      if (this.external === null) await conn.close()
    }
  }

  /** @internal Runs one statement in the session's transaction (autoflushing first when asked). */
  async _execute<R>(compiled: CompiledQuery, autoflush: boolean): Promise<QueryResult<R>> {
    this.open()
    if (autoflush && this.autoflush && this.flushing === null && this.hasChanges()) {
      await this.flush()
      this.open()
    }
    if (this.autocommit && !this.inTransaction() && this.opening === null) {
      const conn = this.external ?? (await adoptCheckoutContext(() => this.engine.connect()))
      try {
        this.open()
        return await conn.db.executeQuery<R>(compiled)
      } finally {
        if (this.external === null) await conn.close()
      }
    }
    // In the open transaction: queued on its connection at once, so it cannot slip behind a COMMIT issued later.
    let conn = this.conn
    if (conn === null || !this.inTransaction()) {
      conn = await this.connection()
      // The transaction it waited for ended meanwhile: the session's next one, unless the session is over.
      while (conn !== this.conn) {
        this.open()
        conn = await this.connection()
      }
    }
    this.used = true
    return conn.db.executeQuery<R>(compiled)
  }

  // ---------------------------------------------------------------- loading

  private mapFor(m: Mapper): Map<unknown, InstanceState> {
    let map = this.identity.get(m)
    if (map === undefined) this.identity.set(m, (map = new Map()))
    return map
  }

  private stateFor(obj: object): InstanceState {
    const s = stateOf(obj)
    if (s === undefined) {
      throw new InvalidRequestError(`${(obj as object)?.constructor?.name ?? typeof obj} is not an instance of a mapped class (extend Model(table))`)
    }
    return s
  }

  /** Turns rows of `m`'s table into the session's objects, through the identity map. */
  private loadRows(m: Mapper, rows: Record<string, unknown>[], populateExisting = false): object[] {
    const out: object[] = new Array(rows.length)
    if (rows.length === 0) return out
    const fromDb = m.codec(this.engine.dialect).fromDb
    const missing = m.columns.filter((c) => !(c in rows[0]))
    const map = this.mapFor(m)
    const tracked = mutableJsonColumns(m)
    if (tracked.length > 0) this.jsonTracked.add(m)
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]
      for (let j = 0; j < fromDb.length; j++) {
        const [c, f] = fromDb[j]
        const v = row[c]
        if (v !== null && v !== undefined) row[c] = f(v)
      }
      const key = m.keyOf(row)
      const existing = map.get(key) ?? (this.weak.size > 0 ? this.revive(m, key) : undefined)
      if (existing !== undefined) {
        this.refreshFrom(existing, row, populateExisting)
        if (tracked.length > 0) snapshotReplaced(existing, tracked)
        out[i] = existing.obj
        continue
      }
      for (const c of missing) row[c] = EXPIRED
      const s = m.instantiate(row)
      s.status = PERSISTENT
      s.session = this
      s.key = key
      map.set(key, s)
      if (tracked.length > 0) snapshotJson(s, tracked)
      out[i] = s.obj
    }
    return out
  }

  /** A state the weak map still holds, back in the strong map (a query or `get` found it again). */
  private revive(m: Mapper, key: unknown): InstanceState | undefined {
    const s = this.weak.take(m, key)
    if (s !== undefined) this.mapFor(m).set(key, s)
    return s
  }

  /** Fills expired attributes (or all, with `all`) from a row, keeping pending changes. */
  private refreshFrom(s: InstanceState, row: Record<string, unknown>, all: boolean): void {
    const vals = s.values
    const o = s.original
    for (const c of s.mapper.columns) {
      if (!(c in row)) continue
      if (o !== null && c in o) continue
      if (all || vals[c] === EXPIRED) vals[c] = row[c]
    }
  }

  /**
   * Loads objects of `model` with a query: `selectFrom(table).selectAll()`,
   * refined by `modify`. Rows already in the session come back as the same
   * objects (identity map); their expired attributes are refreshed.
   *
   * ```ts
   * const books = await session.query(Book, (q) => q.where('authorId', '=', ada.id).orderBy('id'), { load: ['author'] })
   * ```
   */
  async query<M extends AnyModel>(
    model: M,
    modify?: (qb: SelectQueryBuilder<ModelDB<M>, ModelName<M>, ModelRow<M>>) => Compilable<unknown>,
    options: QueryOptions = {},
  ): Promise<InstanceType<M>[]> {
    const m = mapperOf(model)
    const db = this.db as unknown as Kysely<Record<string, Record<string, unknown>>>
    const qb = db.selectFrom(m.table.name).selectAll() as unknown as SelectQueryBuilder<ModelDB<M>, ModelName<M>, ModelRow<M>>
    return this.execute(model, modify ? modify(qb) : qb, options)
  }

  /**
   * The objects of a query, fetched `batchSize` rows at a time, as an async
   * iterator: memory is bounded by the batch, not the result. On PostgreSQL
   * and PGlite a server-side cursor (`DECLARE` / `FETCH`) in the session's
   * transaction reads the query as written, its order included. On MySQL and
   * SQLite (and PostgreSQL in `autocommit` mode outside a transaction) the
   * query is read in keyset pages: its rows in primary-key order, the query's
   * own ORDER BY and LIMIT apply inside each page's subquery only.
   *
   * Objects come through the identity map as with `query`. Once the caller
   * moves on from a batch, its objects that have no unflushed change are held
   * weakly: kept (the same object for the same row) while the caller
   * references them, collected when it does not. Breaking out of the loop
   * closes the cursor.
   *
   * ```ts
   * for await (const book of session.stream(Book, (q) => q.where('authorId', '=', ada.id), { batchSize: 500 })) {
   *   total += book.title.length
   * }
   * ```
   */
  async *stream<M extends AnyModel>(
    model: M,
    modify?: (qb: SelectQueryBuilder<ModelDB<M>, ModelName<M>, ModelRow<M>>) => Compilable<unknown>,
    options: StreamOptions = {},
  ): AsyncGenerator<InstanceType<M>, void, undefined> {
    this.enter()
    const m = mapperOf(model)
    const batchSize = streamBatchSize(options)
    const db = this.db as unknown as Kysely<Record<string, Record<string, unknown>>>
    const qb = db.selectFrom(m.table.name).selectAll() as unknown as SelectQueryBuilder<ModelDB<M>, ModelName<M>, ModelRow<M>>
    const compiled = (modify ? modify(qb) : qb).compile()
    const pg = this.engine.dialect === 'postgresql' || this.engine.dialect === 'pglite'
    if (pg && !(this.autocommit && !this.inTransaction())) {
      const cursor = cursorStatements(this.dialect, compiled, batchSize)
      await this._execute(cursor.declare, true)
      const conn = this.conn
      try {
        for (;;) {
          const { rows } = await this._execute<Record<string, unknown>>(cursor.fetch, false)
          const objs = this.loadRows(m, rows)
          for (let i = 0; i < objs.length; i++) yield objs[i] as InstanceType<M>
          this.release(objs)
          await Session.nextTurn()
          if (rows.length < batchSize) break
        }
      } finally {
        // The cursor ends with its transaction; close it early only in the transaction it was declared in.
        if (this.conn === conn && this.inTransaction() && !this.closed) await this._execute(cursor.close, false).catch(() => undefined)
      }
      return
    }
    let after: unknown[] | null = null
    for (;;) {
      const page: QueryResult<Record<string, unknown>> = await this._execute<Record<string, unknown>>(keysetPage(this.dialect, compiled, m.pk, after, batchSize), true)
      const rows = page.rows
      if (rows.length === 0) return
      // The last key as the driver sent it (loadRows converts rows in place).
      const lastRow: Record<string, unknown> = rows[rows.length - 1]
      after = m.pk.map((c): unknown => lastRow[c])
      const objs = this.loadRows(m, rows)
      for (let i = 0; i < objs.length; i++) yield objs[i] as InstanceType<M>
      this.release(objs)
      await Session.nextTurn()
      if (rows.length < batchSize) return
    }
  }

  /** A streamed batch the caller is done with: its unchanged objects move to the weak identity map. */
  private release(objs: readonly object[]): void {
    let map: Map<unknown, InstanceState> | undefined
    for (let i = 0; i < objs.length; i++) {
      const s = stateOf(objs[i])!
      if (s.status !== PERSISTENT || s.original !== null || s.relRegistered || s.session !== this) continue
      map ??= this.identity.get(s.mapper)
      if (map?.get(s.key) !== s) continue
      map.delete(s.key)
      this.weak.hold(s)
    }
  }

  /**
   * Lets the event loop turn once. A WeakRef keeps its object alive until the
   * current job ends, and a stream over a synchronous driver (SQLite) would
   * otherwise run as one long job: without this, nothing it released could be collected.
   */
  private static nextTurn(): Promise<void> {
    return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)))
  }

  /**
   * Loads objects of `model` from any Kysely query returning its rows
   * (build it on `session.db`, `engine.db`, or anywhere with the same dialect).
   *
   * ```ts
   * const q = session.db.selectFrom('book').selectAll('book').innerJoin('author', 'author.id', 'book.authorId').where('author.name', '=', 'Ada')
   * const books = await session.execute(Book, q)
   * ```
   */
  async execute<M extends AnyModel>(model: M, query: Compilable<unknown> | CompiledQuery, options: QueryOptions = {}): Promise<InstanceType<M>[]> {
    this.enter()
    const m = mapperOf(model)
    const compiled = 'compile' in query ? query.compile() : query
    const r = await this._execute<Record<string, unknown>>(compiled, true)
    const objs = this.loadRows(m, r.rows, options.populateExisting ?? false) as InstanceType<M>[]
    for (const path of options.load ?? []) await this.load(objs, path)
    return objs
  }

  /**
   * The object with this primary key: from the identity map when there (no
   * query), else loaded; `null` when no such row. Composite keys: `{ a, b }`.
   *
   * ```ts
   * const ada = await session.get(Author, 1)
   * ```
   */
  async get<M extends AnyModel>(model: M, key: unknown, options: QueryOptions = {}): Promise<InstanceType<M> | null> {
    this.enter()
    const m = mapperOf(model)
    const { key: k, values } = m.keyFromUser(key, this.engine.dialect)
    const hit = this.identity.get(m)?.get(k) ?? (this.weak.size > 0 ? this.revive(m, k) : undefined)
    if (hit !== undefined && !options.populateExisting && !hasExpired(hit)) {
      if (hit.status === DELETED || this._deleted.has(hit)) return null
      for (const path of options.load ?? []) await this.load([hit.obj], path)
      return hit.obj as InstanceType<M>
    }
    const rows = await this.selectWhere(m, m.pk, [m.pk.map((c) => values[c])])
    if (rows.length === 0) return null
    const [obj] = this.loadRows(m, rows, options.populateExisting ?? false)
    for (const path of options.load ?? []) await this.load([obj], path)
    return obj as InstanceType<M>
  }

  /** Like `get`, but throws {@link ObjectNotFoundError} when there is no such row. */
  async getOrThrow<M extends AnyModel>(model: M, key: unknown, options: QueryOptions = {}): Promise<InstanceType<M>> {
    const obj = await this.get(model, key, options)
    if (obj === null) throw new ObjectNotFoundError(`no ${model.table.name} with key ${JSON.stringify(key)}`, model.table.name, key)
    return obj
  }

  /** SELECT of the table's columns where `cols` match one of `tuples`, batched under the parameter limit. */
  private async selectWhere(m: Mapper, cols: readonly string[], tuples: unknown[][], autoflush = true): Promise<Record<string, unknown>[]> {
    const d = this.dialect
    const q = d.quote
    const toDb = m.codec(this.engine.dialect).toDbByName
    const select = `SELECT ${m.columns.map((c) => q(c)).join(', ')} FROM ${d.table(m.table)} WHERE `
    const out: Record<string, unknown>[] = []
    if (cols.length === 1 && d.anyArray && tuples.length > 1) {
      // PostgreSQL: one array parameter instead of an IN list of thousands (cheaper to bind and plan).
      const c = cols[0]
      const f = toDb[c]
      const values = tuples.map((t) => (t[0] !== null && t[0] !== undefined && f ? f(t[0]) : t[0]))
      const spec = m.table.column(c)!
      const text = `${select}${q(c)} = ANY(${d.placeholder(0)}::${d.castType(spec)}[])`
      for (let start = 0; start < values.length; start += ANY_BATCH) {
        const batch = start === 0 && values.length <= ANY_BATCH ? values : values.slice(start, start + ANY_BATCH)
        const r = await this._execute<Record<string, unknown>>(CompiledQuery.raw(text, [batch]), autoflush)
        // One batch (the usual case): its rows are the answer, no copy.
        if (values.length <= ANY_BATCH) return r.rows
        for (let i = 0; i < r.rows.length; i++) out.push(r.rows[i])
      }
      return out
    }
    const per = cols.length === 1 ? Math.min(5000, this.engine.capabilities.maxParameters) : 100
    for (let start = 0; start < tuples.length; start += per) {
      const batch = tuples.slice(start, start + per)
      const params: unknown[] = []
      const ph = (c: string, v: unknown) => {
        const f = toDb[c]
        params.push(v !== null && v !== undefined && f ? f(v) : v)
        return d.placeholder(params.length - 1)
      }
      const where =
        cols.length === 1
          ? `${q(cols[0])} IN (${batch.map((t) => ph(cols[0], t[0])).join(', ')})`
          : batch.map((t) => `(${cols.map((c, i) => `${q(c)} = ${ph(c, t[i])}`).join(' AND ')})`).join(' OR ')
      const r = await this._execute<Record<string, unknown>>(CompiledQuery.raw(select + where, params), autoflush)
      for (const row of r.rows) out.push(row)
    }
    return out
  }

  /**
   * Loads a relationship for many objects with one query (an IN list), never
   * one per object. Dotted paths load deeper levels: `'books.reviews'`.
   *
   * ```ts
   * const authors = await session.query(Author)
   * await session.load(authors, 'books')
   * ```
   */
  async load(objects: readonly object[], path: string): Promise<void> {
    this.enter()
    const [name, ...rest] = path.split('.')
    const states = objects.map((o) => this.stateFor(o)).filter((s) => s.status === PERSISTENT || s.status === PENDING)
    if (states.length === 0) return
    const byMapper = new Map<Mapper, InstanceState[]>()
    for (const s of states) {
      const list = byMapper.get(s.mapper)
      if (list) list.push(s)
      else byMapper.set(s.mapper, [s])
    }
    const next: object[] = []
    for (const [m, list] of byMapper) {
      const rel = m.relationships.get(name)
      if (!rel) throw new InvalidRequestError(`${m.cls.name} has no relationship "${name}"`)
      if (rel.kind === 'oneToMany') next.push(...(await this.loadOneToMany(rel, list)))
      else if (rel.kind === 'manyToMany') next.push(...(await this.loadManyToMany(rel, list)))
      else next.push(...(await this.loadManyToOne(rel, list)))
    }
    if (rest.length > 0) await this.load(next, rest.join('.'))
  }

  private async loadOneToMany(rel: RelationshipProperty, parents: InstanceState[]): Promise<object[]> {
    const ref = rel.ref
    const fk = rel.fk
    const single = ref.length === 1
    const keyOf = (vals: Record<string, unknown>, cols: readonly string[]) =>
      single ? vals[cols[0]] : cols.map((c) => String(vals[c])).join('\u001f')
    const tuples: unknown[][] = []
    const seen = new Set<unknown>()
    for (let i = 0; i < parents.length; i++) {
      const vals = parents[i].values
      let usable = true
      for (let j = 0; j < ref.length && usable; j++) {
        const v = vals[ref[j]]
        usable = v !== undefined && v !== null && v !== EXPIRED
      }
      if (!usable) continue
      const k = keyOf(vals, ref)
      if (seen.has(k)) continue
      seen.add(k)
      tuples.push(single ? [vals[ref[0]]] : ref.map((c) => vals[c]))
    }
    const rows = tuples.length > 0 ? await this.selectWhere(rel.target, fk, tuples) : []
    const children = this.loadRows(rel.target, rows)
    const groups = new Map<unknown, object[]>()
    for (let i = 0; i < children.length; i++) {
      const c = children[i]
      const k = keyOf(stateOf(c)!.values, fk)
      const g = groups.get(k)
      if (g) g.push(c)
      else groups.set(k, [c])
    }
    const back = rel.back
    for (let i = 0; i < parents.length; i++) {
      const p = parents[i]
      const arr = groups.get(keyOf(p.values, ref)) ?? []
      const kept = p.status === PENDING ? ((p.rels?.[rel.name] as object[] | undefined) ?? []) : []
      const value = kept.length > 0 ? [...arr, ...kept.filter((o) => !arr.includes(o))] : arr
      ownRels(p)[rel.name] = value
      ;(p.relSnapshot ??= {})[rel.name] = arr.slice()
      registerRelationships(p)
      if (back !== null && value.length > 0) {
        // Loaded back-references agree with the foreign key: no need to register them for the flush.
        // The children of one parent share one read-only record (copied on their first write).
        let shared: Record<string, unknown> | null = null
        for (let j = 0; j < value.length; j++) {
          const cs = stateOf(value[j])!
          if (cs.rels === null) cs.rels = shared ??= sharedRels({ [back]: p.obj })
          else if (!(back in cs.rels)) ownRels(cs)[back] = p.obj
        }
      }
    }
    return children
  }

  /**
   * A many-to-many collection for many owners in one query: the target's rows
   * joined to the association table, each tagged with its owner's key.
   */
  private async loadManyToMany(rel: RelationshipProperty, owners: InstanceState[]): Promise<object[]> {
    const t = rel.through!
    const target = rel.target
    const d = this.dialect
    const q = d.quote
    const n = t.ownerCols.length
    const keyOf = (vals: Record<string, unknown>, cols: readonly string[]) =>
      n === 1 ? vals[cols[0]] : cols.map((c) => String(vals[c])).join('\u001f')
    const tuples: unknown[][] = []
    const seen = new Set<unknown>()
    for (const p of owners) {
      if (t.ownerRef.some((c) => p.values[c] === undefined || p.values[c] === null || p.values[c] === EXPIRED)) continue
      const k = keyOf(p.values, t.ownerRef)
      if (seen.has(k)) continue
      seen.add(k)
      tuples.push(t.ownerRef.map((c) => p.values[c]))
    }
    const tag = (i: number) => `__athanor_owner${i}`
    const head =
      `SELECT ${target.columns.map((c) => `x.${q(c)}`).join(', ')}, ${t.ownerCols.map((c, i) => `l.${q(c)} AS ${q(tag(i))}`).join(', ')} ` +
      `FROM ${d.table(target.table)} x JOIN ${d.table(t.table)} l ON ${t.targetCols.map((c, i) => `l.${q(c)} = x.${q(t.targetRef[i])}`).join(' AND ')} WHERE `
    const ownerMapper = rel.owner
    const toDb = ownerMapper.codec(this.engine.dialect).toDbByName
    const conv = (c: string, v: unknown) => (v !== null && v !== undefined && toDb[c] ? toDb[c]!(v) : v)
    const rows: Record<string, unknown>[] = []
    if (n === 1 && d.anyArray) {
      const spec = ownerMapper.table.column(t.ownerRef[0])!
      const text = `${head}l.${q(t.ownerCols[0])} = ANY(${d.placeholder(0)}::${d.castType(spec)}[])`
      for (let start = 0; start < tuples.length; start += ANY_BATCH) {
        const batch = tuples.slice(start, start + ANY_BATCH).map((x) => conv(t.ownerRef[0], x[0]))
        for (const r of (await this._execute<Record<string, unknown>>(CompiledQuery.raw(text, [batch]), true)).rows) rows.push(r)
      }
    } else {
      const per = Math.max(1, Math.floor(Math.min(5000, this.engine.capabilities.maxParameters) / n))
      for (let start = 0; start < tuples.length; start += per) {
        const batch = tuples.slice(start, start + per)
        const params: unknown[] = []
        const ph = (i: number, v: unknown) => {
          params.push(conv(t.ownerRef[i], v))
          return d.placeholder(params.length - 1)
        }
        const where =
          n === 1
            ? `l.${q(t.ownerCols[0])} IN (${batch.map((x) => ph(0, x[0])).join(', ')})`
            : batch.map((x) => `(${t.ownerCols.map((c, i) => `l.${q(c)} = ${ph(i, x[i])}`).join(' AND ')})`).join(' OR ')
        for (const r of (await this._execute<Record<string, unknown>>(CompiledQuery.raw(head + where, params), true)).rows) rows.push(r)
      }
    }
    // The owner's key as the owner holds it (the driver may return a converted value: convert back).
    const fromDb = new Map(ownerMapper.codec(this.engine.dialect).fromDb)
    const ownerKeys: unknown[] = new Array(rows.length)
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]
      const vals: Record<string, unknown> = {}
      for (let j = 0; j < n; j++) {
        let v = r[tag(j)]
        const f = fromDb.get(t.ownerRef[j])
        if (f !== undefined && v !== null && v !== undefined) v = f(v)
        if (typeof v === 'string' && /^\d+$/.test(v) && typeof tuples[0]?.[j] === 'number') v = Number(v)
        vals[t.ownerRef[j]] = v
        delete r[tag(j)]
      }
      ownerKeys[i] = keyOf(vals, t.ownerRef)
    }
    const objs = this.loadRows(target, rows)
    const groups = new Map<unknown, object[]>()
    for (let i = 0; i < objs.length; i++) {
      const g = groups.get(ownerKeys[i])
      if (g === undefined) groups.set(ownerKeys[i], [objs[i]])
      else if (!g.includes(objs[i])) g.push(objs[i])
    }
    for (const p of owners) {
      const arr = groups.get(keyOf(p.values, t.ownerRef)) ?? []
      const kept = p.status === PENDING ? ((p.rels?.[rel.name] as object[] | undefined) ?? []) : []
      ownRels(p)[rel.name] = kept.length > 0 ? [...arr, ...kept.filter((o) => !arr.includes(o))] : arr
      ;(p.relSnapshot ??= {})[rel.name] = arr.slice()
      registerRelationships(p)
    }
    return [...new Set(objs)]
  }

  private async loadManyToOne(rel: RelationshipProperty, children: InstanceState[]): Promise<object[]> {
    const target = rel.target
    const byPk = rel.ref.length === target.pk.length && rel.ref.every((c, i) => c === target.pk[i])
    const map = this.mapFor(target)
    const want: unknown[][] = []
    const seen = new Set<unknown>()
    const keyOf = (vals: Record<string, unknown>, cols: readonly string[]) =>
      cols.length === 1 ? vals[cols[0]] : cols.map((c) => String(vals[c])).join('\u001f')
    for (const c of children) {
      if (rel.fk.some((f) => c.values[f] === null || c.values[f] === undefined || c.values[f] === EXPIRED)) continue
      const k = keyOf(c.values, rel.fk)
      if (seen.has(k)) continue
      seen.add(k)
      if (byPk && map.has(k) && !hasExpired(map.get(k)!)) continue
      want.push(rel.fk.map((f) => c.values[f]))
    }
    const loaded = this.loadRows(target, want.length > 0 ? await this.selectWhere(target, rel.ref, want) : [])
    const found = new Map<unknown, object>()
    for (const o of loaded) found.set(keyOf(stateOf(o)!.values, rel.ref), o)
    const out: object[] = []
    for (const c of children) {
      if (c.rels !== null && rel.name in c.rels && c.status === PENDING) continue
      const k = keyOf(c.values, rel.fk)
      const t = found.get(k) ?? (byPk ? map.get(k)?.obj : undefined) ?? null
      ownRels(c)[rel.name] = t
      if (t !== null) out.push(t)
    }
    return out
  }

  // ---------------------------------------------------------------- refresh / expire / expunge / merge

  /**
   * The object's attributes as promises, for the loads a user chooses to
   * await: an expired column is loaded (its expired columns in one SELECT,
   * unflushed changes kept), an unloaded relationship is loaded like `load`.
   * Plain property reads never query: they throw ExpiredAttributeError or
   * RelationshipNotLoadedError instead.
   *
   * ```ts
   * const books = await session.awaitable(author).books
   * const name = await session.awaitable(author).name // after session.expire(author)
   * ```
   */
  awaitable<T extends object>(obj: T): Awaitable<T> {
    this.open()
    return awaitableView(this, obj)
  }

  /** @internal For {@link awaitable}: fills the object's expired columns from its row. */
  async _loadExpired(obj: object): Promise<void> {
    this.enter()
    const s = this.stateFor(obj)
    if (s.session !== this || s.status !== PERSISTENT) {
      throw new DetachedInstanceError(`${obj.constructor.name} is ${STATUS_NAMES[s.status]}, not persistent in this session: its attributes cannot be loaded`)
    }
    const key = s.original !== null ? s.mapper.pk.map((c) => (c in s.original! ? s.original![c] : s.values[c])) : s.mapper.pk.map((c) => s.values[c])
    const rows = await this.selectWhere(s.mapper, s.mapper.pk, [key], false)
    if (rows.length === 0) throw new ObjectNotFoundError(`${s.mapper.table.name} with key ${String(s.key)} no longer exists`, s.mapper.table.name, s.key)
    const row = rows[0]
    for (const [c, f] of s.mapper.codec(this.engine.dialect).fromDb) if (row[c] !== null && row[c] !== undefined) row[c] = f(row[c])
    this.refreshFrom(s, row, false)
    this.snapshotReloaded(s)
  }

  /** Reloads an object's attributes from the database, discarding its unflushed changes. */
  async refresh(obj: object): Promise<void> {
    this.enter()
    const s = this.stateFor(obj)
    if (s.session !== this || s.status !== PERSISTENT) {
      throw new DetachedInstanceError(`${obj.constructor.name} is ${STATUS_NAMES[s.status]}, not persistent in this session: it cannot be refreshed`)
    }
    const key = s.original !== null ? s.mapper.pk.map((c) => (c in s.original! ? s.original![c] : s.values[c])) : s.mapper.pk.map((c) => s.values[c])
    // Like SQLAlchemy: the object's unflushed changes are discarded, not flushed.
    this.expireState(s)
    const rows = await this.selectWhere(s.mapper, s.mapper.pk, [key], false)
    if (rows.length === 0) throw new ObjectNotFoundError(`${s.mapper.table.name} with key ${String(s.key)} no longer exists`, s.mapper.table.name, s.key)
    const row = rows[0]
    for (const [c, f] of s.mapper.codec(this.engine.dialect).fromDb) if (row[c] !== null && row[c] !== undefined) row[c] = f(row[c])
    s.original = null
    this._dirty.delete(s)
    for (const c of s.mapper.columns) s.values[c] = row[c]
    this.snapshotReloaded(s)
  }

  /** `json({ mutable: true })`: values loaded again are the new reference point. */
  private snapshotReloaded(s: InstanceState): void {
    const cols = mutableJsonColumns(s.mapper)
    if (cols.length === 0) return
    this.jsonTracked.add(s.mapper)
    snapshotReplaced(s, cols)
  }

  /**
   * Expires attributes (all, or the named ones): reading one throws
   * {@link ExpiredAttributeError} until `refresh` or a query returns the row.
   * Unflushed changes to them are discarded.
   */
  expire(obj: object, attributes?: readonly string[]): void {
    this.open()
    const s = this.stateFor(obj)
    if (s.session !== this || s.status !== PERSISTENT) return
    this.expireState(s, attributes)
  }

  /** Expires every persistent object in the session. */
  expireAll(): void {
    this.open()
    this.expireAllInternal()
  }

  private expireAllInternal(): void {
    this.identity.forEach((map) => map.forEach((s) => this.expireState(s, undefined, false)))
    if (this.weak.size > 0) this.weak.forEach((s) => this.expireState(s, undefined, false))
    // Every expired object leaves `_rel`; pending ones (never in the identity map) stay.
    if (this._new.size === 0) this._rel.clear()
    else {
      const kept: InstanceState[] = []
      this._rel.forEach((s) => {
        if (s.status === PENDING) kept.push(s)
      })
      this._rel.clear()
      for (let i = 0; i < kept.length; i++) this._rel.add(kept[i])
    }
    this._dirty.clear()
  }

  private expireState(s: InstanceState, attributes?: readonly string[], untrack = true): void {
    // The key stays readable: it is the object's identity and cannot go stale without a flush.
    const pk = s.mapper.pk
    const cols = attributes?.filter((c) => !pk.includes(c)) ?? s.mapper.nonKeyColumns
    const vals = s.values
    const o = s.original
    for (let i = 0; i < cols.length; i++) {
      vals[cols[i]] = EXPIRED
      if (o !== null) delete o[cols[i]]
    }
    if (attributes === undefined) {
      s.fresh = false
      s.original = null
      s.rels = null
      s.relSnapshot = null
      if (untrack) this._rel.delete(s)
      s.relRegistered = false
    }
    if (s.original !== null && Object.keys(s.original).length === 0) s.original = null
    if (s.original === null && untrack) this._dirty.delete(s)
  }

  /** Removes an object from the session: it becomes detached (or transient, if it was pending). */
  expunge(obj: object): void {
    this.open()
    const s = this.stateFor(obj)
    if (s.session !== this) return
    this._new.delete(s)
    this._dirty.delete(s)
    this._deleted.delete(s)
    this._rel.delete(s)
    if (s.status === PERSISTENT || s.status === DELETED) {
      this.identity.get(s.mapper)?.delete(s.key)
      this.weak.delete(s.mapper, s.key)
    }
    this.detach(s, s.status === PENDING ? TRANSIENT : DETACHED)
  }

  /**
   * Copies an object's state (from another session, or built by hand) onto
   * this session's object with the same key, loading it if needed, and
   * returns that object. Without a matching row the copy is added as new.
   *
   * ```ts
   * const mine = await session.merge(fromCache)
   * ```
   */
  async merge<T extends object>(obj: T): Promise<T> {
    this.enter()
    const s = this.stateFor(obj)
    if (s.session === this) return obj
    const m = s.mapper
    let target: InstanceState | undefined
    if (m.hasKey(s.values)) {
      const found = await this.get(m.cls, m.singlePk !== null ? s.values[m.singlePk] : Object.fromEntries(m.pk.map((c) => [c, s.values[c]])))
      target = found === null ? undefined : stateOf(found)
    }
    if (target === undefined) {
      const copy = m.instantiate({})
      for (const c of m.columns) if (s.values[c] !== EXPIRED) copy.values[c] = s.values[c]
      this.add(copy.obj)
      return copy.obj as T
    }
    for (const c of m.columns) {
      const v = s.values[c]
      if (v === EXPIRED || v === undefined) continue
      ;(target.obj as Record<string, unknown>)[c] = v
    }
    return target.obj as T
  }
}

/** True when a changed-columns record includes a key column. */
function touchesKey(pk: readonly string[], original: Record<string, unknown>): boolean {
  for (let i = 0; i < pk.length; i++) if (pk[i] in original) return true
  return false
}

/** True when `set` holds exactly the (distinct) `items`, so clearing it removes just them. */
function removesAll(set: Set<InstanceState>, items: readonly InstanceState[]): boolean {
  if (set.size !== items.length) return false
  for (let i = 0; i < items.length; i++) if (!set.has(items[i])) return false
  return true
}

/** A column's value as the database holds it (before an unflushed change). */
function valueBefore(s: InstanceState, c: string): unknown {
  const o = s.original
  return o !== null && c in o ? o[c] : s.values[c]
}

function hasExpired(s: InstanceState): boolean {
  const vals = s.values
  for (const c of s.mapper.columns) if (vals[c] === EXPIRED) return true
  return false
}

/**
 * The state of a mapped object: `'transient' | 'pending' | 'persistent' | 'deleted' | 'detached'`.
 *
 * ```ts
 * session.add(ada)
 * objectState(ada) // 'pending'
 * ```
 */
export function objectState(obj: object): (typeof STATUS_NAMES)[number] {
  const s = stateOf(obj)
  if (s === undefined) throw new InvalidRequestError('not an instance of a mapped class')
  return STATUS_NAMES[s.status]
}
