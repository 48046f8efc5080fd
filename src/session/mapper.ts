import { INSPECT, inspectMapped } from './inspect-object.js'
import type { DialectName } from '../engine/types.js'
import { columnValueCheck, kindOf, type ValueCheck } from '../engine/values.js'
import { resolveForeignKey } from './column.js'
import { typeConverters } from './codecs.js'
import { MappingError } from './errors.js'
import type { RelationshipKind, RelationshipSpec } from './relationship.js'
import type { AnyTable, ColumnsShape, RowOf, Table, TableColumn } from './table.js'
import {
  EXPIRED,
  InstanceState,
  ownRels,
  PENDING,
  PERSISTENT,
  registerRelationships,
  STATE,
  STATUS_NAMES,
  TRANSIENT,
  stateOf,
  trackChange,
} from './state.js'
import { ExpiredAttributeError, InvalidRequestError, RelationshipNotLoadedError } from './errors.js'

/**
 * A class mapped to a table: `new` makes a transient object whose column
 * properties are tracked. Extend it to add methods and relationships.
 *
 * ```ts
 * const Author: ModelClass<typeof author, RowOf<typeof author.columns>> = Model(author)
 * ```
 */
export interface ModelClass<T extends AnyTable = AnyTable, I extends object = object> {
  new (init?: Partial<I>): I
  /** The mapped table. */
  readonly table: T
}

/** Any mapped class. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyModel = ModelClass<AnyTable, any>

/**
 * A many-to-many relationship's association table: which of its columns
 * hold the owner's key and which the target's.
 */
export interface Through {
  readonly table: AnyTable
  /** Association columns holding the owner's key, and the owner's columns they reference. */
  readonly ownerCols: readonly string[]
  readonly ownerRef: readonly string[]
  /** Association columns holding the target's key, and the target's columns they reference. */
  readonly targetCols: readonly string[]
  readonly targetRef: readonly string[]
  /** The database deletes a deleted object's association rows itself. */
  readonly passiveDeletes: boolean
}

/** A relationship resolved against both mappers. */
export interface RelationshipProperty {
  readonly name: string
  readonly kind: RelationshipKind
  readonly owner: Mapper
  readonly target: Mapper
  /** The referencing (child-side) columns. */
  readonly fk: readonly string[]
  /** The referenced (parent-side) columns, in the same order. */
  readonly ref: readonly string[]
  readonly parent: Mapper
  readonly child: Mapper
  /** The property on the target that mirrors this one, if any. */
  readonly back: string | null
  /** one-to-many: deleting the parent deletes the loaded children. */
  readonly cascadeDelete: boolean
  /** one-to-many: the database cascades a parent's deletion to its children. */
  readonly passiveDeletes: boolean
  /** many-to-one: the key is written by an UPDATE after the inserts (and nulled before deletes). */
  readonly postUpdate: boolean
  /** many-to-many: the association table; `null` for the other kinds. */
  readonly through: Through | null
}

/** Value converters between JavaScript and one driver, per column. */
export interface Codec {
  readonly fromDb: readonly (readonly [string, (v: unknown) => unknown])[]
  readonly toDb: readonly (readonly [string, (v: unknown) => unknown])[]
  /** Per column name: toDb converter or undefined. */
  readonly toDbByName: Readonly<Record<string, ((v: unknown) => unknown) | undefined>>
}

/** A key given as `{ column: value }` (a Date is a value, not an object of keys). */
function isKeyObject(key: unknown): boolean {
  return key !== null && typeof key === 'object' && !(key instanceof Date) && !Array.isArray(key)
}

/** Value checks of one table's columns on one dialect. */
export interface ValueChecks {
  /** In column order. */
  readonly list: readonly ValueCheck[]
  readonly byName: Readonly<Record<string, ValueCheck>>
}

const MAPPER: unique symbol = Symbol('athanor.mapper')
const RELATIONSHIPS: unique symbol = Symbol('athanor.relationships')
let mapperCount = 0

const parseJson = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v)
const toBool = (v: unknown) => (typeof v === 'boolean' ? v : Number(v) !== 0)
const toStr = (v: unknown) => (typeof v === 'string' ? v : String(v))
const toDate = (v: unknown) => (v instanceof Date ? v : new Date(v as string))
const jsonText = (v: unknown) => JSON.stringify(v)

function converters(col: TableColumn, dialect: DialectName): [((v: unknown) => unknown) | null, ((v: unknown) => unknown) | null] {
  const pg = dialect === 'postgresql' || dialect === 'pglite'
  const own = typeConverters(col, dialect)
  if (own !== undefined) return own
  switch (col.kind) {
    case 'numeric':
      return [toStr, null]
    case 'json':
      return [pg ? null : parseJson, jsonText]
    case 'boolean':
      return pg ? [null, null] : [toBool, (v) => (v ? 1 : 0)]
    case 'timestamp':
      return dialect === 'sqlite' ? [toDate, (v) => (v instanceof Date ? v.toISOString() : v)] : [null, null]
    default:
      return [null, null]
  }
}

/**
 * How one class maps to one table: column lists, key, defaults and
 * relationships, computed once so the flush does no per-object lookups.
 */
export class Mapper {
  readonly index = mapperCount++
  readonly table: AnyTable
  readonly columns: readonly string[]
  readonly pk: readonly string[]
  /** Columns outside the primary key (the ones that can expire). */
  readonly nonKeyColumns: readonly string[]
  /** The single primary-key column, when the key is not composite. */
  readonly singlePk: string | null
  readonly autoIncrement: string | null
  readonly versionColumn: string | null
  readonly clientDefaults: readonly TableColumn[]
  readonly serverDefaults: readonly string[]
  readonly prototype: object
  /**
   * Column names as keys (no prototype) whose setter is athanor's own: `new Model(init)` writes these
   * straight into the values (a subclass's own setter for a column is still called).
   */
  readonly isColumn: Readonly<Record<string, true | undefined>>
  /**
   * Every column, unset: a new object's values start as a copy, so they all share one shape
   * and the flush's later writes (foreign keys, generated keys) add no properties.
   */
  readonly blankValues: Readonly<Record<string, unknown>>
  private relationshipMap: Map<string, RelationshipProperty> | null = null
  /**
   * Association tables that hold this table's key, from many-to-many relationships
   * resolved so far on either side: a deleted object's link rows go with it.
   */
  readonly links = new Map<string, Through>()
  /** Makes a loaded object: a plain constructor on the class's prototype (V8 sizes its objects exactly, unlike Object.create). */
  private readonly Loaded: new (s: InstanceState) => object
  private relationshipArray: readonly RelationshipProperty[] | null = null
  private codecs: Partial<Record<DialectName, Codec>> = {}
  private checks: Partial<Record<DialectName, ValueChecks>> = {}

  constructor(readonly cls: AnyModel) {
    const t = cls.table
    this.table = t
    this.columns = t.columnList.map((c) => c.name)
    this.pk = t.primaryKey
    this.nonKeyColumns = this.columns.filter((c) => !t.primaryKey.includes(c))
    this.singlePk = t.primaryKey.length === 1 ? t.primaryKey[0] : null
    this.autoIncrement = t.columnList.find((c) => c.autoIncrement)?.name ?? null
    this.versionColumn = t.columnList.find((c) => c.version)?.name ?? null
    this.clientDefaults = t.columnList.filter((c) => c.clientDefault !== undefined || c.version)
    this.serverDefaults = t.columnList.filter((c) => c.serverDefault !== undefined).map((c) => c.name)
    this.prototype = cls.prototype
    const isColumn: Record<string, true | undefined> = Object.create(null)
    for (const c of this.columns) if (hasPlainColumnSetter(cls.prototype, c)) isColumn[c] = true
    this.isColumn = isColumn
    const blank: Record<string, unknown> = {}
    for (const c of this.columns) blank[c] = undefined
    this.blankValues = blank
    const Loaded = function (this: { [STATE]: InstanceState }, s: InstanceState) {
      this[STATE] = s
    } as unknown as new (s: InstanceState) => object
    Loaded.prototype = cls.prototype
    this.Loaded = Loaded
  }

  /** The identity-map key of a row: the key value, or the values joined for a composite key. */
  keyOf(values: Record<string, unknown>): unknown {
    if (this.singlePk !== null) return values[this.singlePk]
    const pk = this.pk
    let k = ''
    for (let i = 0; i < pk.length; i++) k += String(values[pk[i]]) + '\u001f'
    return k
  }

  /** True when every key column has a value. */
  hasKey(values: Record<string, unknown>): boolean {
    // An index loop: this runs per object in a flush, and for...of may allocate an iterator each call.
    const pk = this.pk
    for (let i = 0; i < pk.length; i++) {
      const v = values[pk[i]]
      if (v === undefined || v === null || v === EXPIRED) return false
    }
    return true
  }

  /**
   * The key as a user passes it to `get`: a value (or `{ id }`), or for a
   * composite key an object of every key column (or an array in key order).
   * Each part is checked against its column's type, so a NaN, a string for an
   * integer key or a missing part is an {@link InvalidRequestError} before any query.
   */
  keyFromUser(key: unknown, dialect: DialectName): { key: unknown; values: Record<string, unknown> } {
    const where = `get(${this.cls.name})`
    const pk = this.pk
    const values: Record<string, unknown> = {}
    if (this.singlePk !== null) {
      const v = isKeyObject(key) ? (key as Record<string, unknown>)[this.singlePk] : key
      values[this.singlePk] = this.checkKeyPart(this.singlePk, v, where, dialect)
      if (isKeyObject(key)) this.refuseExtraKeys(key as Record<string, unknown>, where)
      return { key: v, values }
    }
    const shape = `{ ${pk.join(', ')} }`
    if (Array.isArray(key)) {
      if (key.length !== pk.length) {
        throw new InvalidRequestError(`${where}: table "${this.table.name}" has a ${pk.length}-column key ${shape}, got an array of ${key.length}`)
      }
      for (let i = 0; i < pk.length; i++) values[pk[i]] = this.checkKeyPart(pk[i], key[i], where, dialect)
    } else {
      if (!isKeyObject(key)) {
        throw new InvalidRequestError(`${where}: table "${this.table.name}" has a composite key: pass ${shape}, got ${kindOf(key)}`)
      }
      for (const c of pk) values[c] = this.checkKeyPart(c, (key as Record<string, unknown>)[c], where, dialect)
      this.refuseExtraKeys(key as Record<string, unknown>, where)
    }
    return { key: this.keyOf(values), values }
  }

  private checkKeyPart(column: string, value: unknown, where: string, dialect: DialectName): unknown {
    if (value === undefined || value === null) {
      throw new InvalidRequestError(`${where}: key column "${column}" of "${this.table.name}" needs a value, got ${kindOf(value)}`)
    }
    const col = this.table.column(column)!
    // A key is compared as it is in the identity map: integers are numbers there, never strings.
    const strict =
      col.kind === 'bigint' && col.mode === 'bigint'
        ? typeof value !== 'bigint'
        : (col.kind === 'integer' || col.kind === 'bigint' || col.kind === 'smallint') && typeof value !== 'number'
    const problem = strict ? kindOf(value) : this.valueChecks(dialect).byName[column](value)
    if (problem !== undefined) {
      throw new InvalidRequestError(`${where}: key column "${column}" of "${this.table.name}" is ${col.kind}, got ${problem}`)
    }
    return value
  }

  private refuseExtraKeys(key: Record<string, unknown>, where: string): void {
    for (const k of Object.keys(key)) {
      if (!this.pk.includes(k)) {
        throw new InvalidRequestError(`${where}: "${k}" is not a key column of "${this.table.name}" (its key is ${this.pk.join(', ')})`)
      }
    }
  }

  /** Value converters for a dialect (empty for plain integer/text tables). */
  codec(dialect: DialectName): Codec {
    let c = this.codecs[dialect]
    if (c === undefined) {
      const fromDb: [string, (v: unknown) => unknown][] = []
      const toDb: [string, (v: unknown) => unknown][] = []
      const toDbByName: Record<string, ((v: unknown) => unknown) | undefined> = {}
      for (const col of this.table.columnList) {
        const [from, to] = converters(col, dialect)
        if (from) fromDb.push([col.name, from])
        if (to) {
          toDb.push([col.name, to])
          toDbByName[col.name] = to
        }
      }
      c = this.codecs[dialect] = { fromDb, toDb, toDbByName }
    }
    return c
  }

  /** Each column's value check on a dialect, in column order and by name (built once). */
  valueChecks(dialect: DialectName): ValueChecks {
    let c = this.checks[dialect]
    if (c === undefined) {
      const list = this.table.columnList.map((col) => columnValueCheck(col, dialect))
      const byName: Record<string, ValueCheck> = Object.create(null)
      for (let i = 0; i < list.length; i++) byName[this.columns[i]] = list[i]
      c = this.checks[dialect] = { list, byName }
    }
    return c
  }

  /** Relationships, resolved on first use (targets may be declared after this class). */
  get relationships(): Map<string, RelationshipProperty> {
    if (this.relationshipMap === null) this.relationshipMap = resolveRelationships(this)
    return this.relationshipMap
  }

  /** The relationships as an array: the flush walks it per object, and an array needs no iterator. */
  get relationshipList(): readonly RelationshipProperty[] {
    if (this.relationshipArray === null) this.relationshipArray = [...this.relationships.values()]
    return this.relationshipArray
  }

  /** A new, empty object of the class that bypasses its constructor (as loading does). */
  instantiate(values: Record<string, unknown>): InstanceState {
    const s = new InstanceState(this, values, null as unknown as object)
    ;(s as { obj: object }).obj = new this.Loaded(s)
    return s
  }
}

/** The mapper of a mapped class; a subclass gets its own on first use. */
export function mapperOf(cls: AnyModel): Mapper {
  const c = cls as AnyModel & { [MAPPER]?: Mapper }
  // A subclass inherits its parent's mapper property: it is ours only if made for this very class.
  const own = c[MAPPER]
  if (own !== undefined && own.cls === c) return own
  if (!(c.table instanceof Object) || !Array.isArray(c.table.columnList)) {
    throw new MappingError(`${(cls as { name?: string }).name ?? 'class'} is not a mapped class (extend Model(table))`)
  }
  const m = new Mapper(cls)
  Object.defineProperty(c, MAPPER, { value: m })
  return m
}

/** The column setters {@link Model} defines, to tell them from a subclass's own. */
const columnSetters = new WeakSet<object>()

/** True when assigning `name` on an instance reaches athanor's column setter. */
function hasPlainColumnSetter(proto: object, name: string): boolean {
  for (let p: object | null = proto; p !== null; p = Object.getPrototypeOf(p) as object | null) {
    const d = Object.getOwnPropertyDescriptor(p, name)
    if (d !== undefined) return d.set !== undefined && columnSetters.has(d.set)
  }
  return false
}

function expiredError(obj: object, name: string): ExpiredAttributeError {
  return new ExpiredAttributeError(
    `${obj.constructor.name}.${name} is expired (after commit, rollback or expire); ` +
      'call `await session.refresh(obj)` or query the row again to reload it',
    name,
  )
}

function defineColumnAccessor(proto: object, name: string): void {
  const set = function (this: { [STATE]: InstanceState }, v: unknown) {
    const s = this[STATE]
    if (s.status === PERSISTENT) trackChange(s, name)
    s.values[name] = v
  }
  columnSetters.add(set)
  Object.defineProperty(proto, name, {
    enumerable: true,
    configurable: true,
    get(this: { [STATE]: InstanceState }) {
      const v = this[STATE].values[name]
      if (v === EXPIRED) throw expiredError(this, name)
      return v
    },
    set,
  })
}

/**
 * Maps a class to a table. Column properties become accessors on the class
 * prototype: assigning one marks the object dirty, with no extra call.
 * Relationship properties are declared with `declare` and configured with
 * {@link relate}.
 *
 * ```ts
 * class Author extends Model(author) {
 *   declare books: Book[]
 *   get display() { return `${this.name} <${this.email}>` }
 * }
 * const ada = new Author({ name: 'Ada' })
 * ```
 */
export function Model<N extends string, C extends ColumnsShape>(t: Table<N, C>): ModelClass<Table<N, C>, RowOf<C>> {
  class Mapped {
    static readonly table = t
    constructor(init?: Record<string, unknown>) {
      const m = mapperOf(new.target as unknown as AnyModel)
      const values: Record<string, unknown> = { ...m.blankValues }
      ;(this as unknown as { [STATE]: InstanceState })[STATE] = new InstanceState(m, values, this)
      if (init) {
        const isColumn = m.isColumn
        // for...in needs no key array (Object.keys would allocate one per object). A new object is
        // transient, so a column's setter would only store the value: store it without the accessor call.
        for (const k in init) {
          if (!Object.prototype.hasOwnProperty.call(init, k)) continue
          if (isColumn[k] === true) values[k] = init[k]
          else (this as Record<string, unknown>)[k] = init[k]
        }
      }
    }

    /** The column values that are set and not expired, for `JSON.stringify` (relationships are left out). */
    toJSON(): Record<string, unknown> {
      const vals = (this as unknown as { [STATE]: InstanceState })[STATE].values
      const out: Record<string, unknown> = {}
      for (const col of t.columnList) {
        const v = vals[col.name]
        if (v !== undefined && v !== EXPIRED) out[col.name] = v
      }
      return out
    }

    /** What `console.log` and `util.inspect` show: class, state, column values (see {@link inspectMapped}). */
    [INSPECT](depth: number, options: object, inspect?: (value: unknown, options?: object) => string): string {
      return inspectMapped((this as unknown as { [STATE]: InstanceState })[STATE], depth, options, inspect)
    }
  }
  for (const col of t.columnList) defineColumnAccessor(Mapped.prototype, col.name)
  Object.defineProperty(Mapped, 'name', { value: `Model(${t.name})` })
  return Mapped as unknown as ModelClass<Table<N, C>, RowOf<C>>
}

/**
 * Relationship declarations of a class, as given to {@link relate}.
 *
 * ```ts
 * const rels: RelationshipMap<typeof Author> = { books: oneToMany(() => Book) }
 * ```
 */
export type RelationshipMap<M extends AnyModel> = {
  [K in keyof InstanceType<M>]?: RelationshipSpec<InstanceType<M>[K]>
}

/**
 * Declares relationships of a mapped class, after the classes exist (so
 * two classes can point at each other). The property types are checked
 * against the class's `declare`d properties.
 *
 * ```ts
 * relate(Author, { books: oneToMany(() => Book, { backPopulates: 'author' }) })
 * relate(Book, { author: manyToOne(() => Author, { backPopulates: 'books' }) })
 * ```
 */
export function relate<M extends AnyModel>(model: M, relationships: RelationshipMap<M>): void {
  const c = model as M & { [RELATIONSHIPS]?: Record<string, RelationshipSpec<unknown>> }
  const own = Object.prototype.hasOwnProperty.call(c, RELATIONSHIPS) ? c[RELATIONSHIPS]! : {}
  Object.defineProperty(c, RELATIONSHIPS, { value: own, configurable: true })
  for (const [name, spec] of Object.entries(relationships) as [string, RelationshipSpec<unknown>][]) {
    if (spec === undefined) continue
    if (model.table.column(name)) throw new MappingError(`${model.name}.${name}: a relationship cannot share a column's name`)
    own[name] = spec
    if (spec.kind === 'manyToMany') manyToManyOwners.add(model)
    defineRelationshipAccessor(model.prototype, name, spec.kind)
  }
}

/** Classes with a many-to-many relationship not resolved yet (see {@link resolveAllLinks}). */
const manyToManyOwners = new Set<AnyModel>()

/**
 * Resolves every declared many-to-many relationship, so each mapper knows
 * every association table holding its key (its `links`), also those only
 * the other side declares. Called before deleting objects; a no-op once done.
 */
export function resolveAllLinks(): void {
  if (manyToManyOwners.size === 0) return
  const owners = [...manyToManyOwners]
  manyToManyOwners.clear()
  for (const cls of owners) void mapperOf(cls).relationships
}

function relationshipSpecs(cls: AnyModel): Record<string, RelationshipSpec<unknown>> {
  const out: Record<string, RelationshipSpec<unknown>> = {}
  const chain: AnyModel[] = []
  for (let c: unknown = cls; typeof c === 'function' && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    chain.unshift(c as AnyModel)
  }
  for (const c of chain) {
    if (Object.prototype.hasOwnProperty.call(c, RELATIONSHIPS)) {
      Object.assign(out, (c as { [RELATIONSHIPS]?: Record<string, RelationshipSpec<unknown>> })[RELATIONSHIPS])
    }
  }
  return out
}

function fkColumns(child: AnyTable, parent: AnyTable, given: string | readonly string[] | undefined, where: string) {
  if (given !== undefined) {
    const fk = typeof given === 'string' ? [given] : [...given]
    const ref = fk.map((f) => {
      const col = child.column(f)
      if (!col) throw new MappingError(`${where}: foreign key column "${f}" is not a column of "${child.name}"`)
      if (col.references) {
        const r = resolveForeignKey(col.references, child.name)
        if (r.table === parent.name) return r.column
      }
      return null
    })
    if (ref.every((r) => r !== null)) return { fk, ref: ref as string[] }
    if (fk.length !== parent.primaryKey.length) {
      throw new MappingError(`${where}: ${fk.length} foreign key column(s) for a ${parent.primaryKey.length}-column key of "${parent.name}"`)
    }
    return { fk, ref: [...parent.primaryKey] }
  }
  const found = child.columnList.filter(
    (c) => c.references && resolveForeignKey(c.references, child.name).table === parent.name,
  )
  if (found.length === 0) {
    throw new MappingError(`${where}: "${child.name}" has no foreign key to "${parent.name}"; declare one or pass foreignKey`)
  }
  if (found.length > 1) {
    throw new MappingError(
      `${where}: "${child.name}" has several foreign keys to "${parent.name}" (${found.map((c) => c.name).join(', ')}); pass foreignKey`,
    )
  }
  return { fk: [found[0].name], ref: [resolveForeignKey(found[0].references!, child.name).column] }
}

function resolveRelationships(owner: Mapper): Map<string, RelationshipProperty> {
  const out = new Map<string, RelationshipProperty>()
  for (const [name, spec] of Object.entries(relationshipSpecs(owner.cls))) {
    const targetCls = spec.target()
    const target = mapperOf(targetCls)
    const where = `${owner.cls.name}.${name}`
    const o = spec.options
    if (spec.kind === 'manyToMany') {
      const through = resolveThrough(owner, target, spec, where)
      out.set(name, {
        name,
        kind: spec.kind,
        owner,
        target,
        fk: [],
        ref: [],
        parent: owner,
        child: target,
        back: o.backPopulates ?? null,
        cascadeDelete: false,
        passiveDeletes: through.passiveDeletes,
        postUpdate: false,
        through,
      })
      continue
    }
    const [parent, child] = spec.kind === 'manyToOne' ? [target, owner] : [owner, target]
    const { fk, ref } = fkColumns(child.table, parent.table, o.foreignKey, where)
    if (o.postUpdate && spec.kind === 'manyToOne') {
      for (const f of fk) {
        if (!child.table.column(f)!.nullable) throw new MappingError(`${where}: postUpdate needs a nullable foreign key, and "${f}" is NOT NULL`)
      }
    }
    out.set(name, {
      name,
      kind: spec.kind,
      owner,
      target,
      fk,
      ref,
      parent,
      child,
      back: o.backPopulates ?? null,
      cascadeDelete: o.cascadeDelete ?? false,
      passiveDeletes: o.passiveDeletes ?? false,
      postUpdate: (o.postUpdate ?? false) && spec.kind === 'manyToOne',
      through: null,
    })
  }
  return out
}

function resolveThrough(owner: Mapper, target: Mapper, spec: RelationshipSpec<unknown>, where: string): Through {
  const o = spec.options
  const t = o.through
  if (!(t instanceof Object) || !Array.isArray((t as AnyTable).columnList)) {
    throw new MappingError(`${where}: manyToMany needs { through: associationTable }`)
  }
  const self = owner.table.name === target.table.name
  if (self && (o.foreignKey === undefined || o.targetForeignKey === undefined)) {
    throw new MappingError(`${where}: a self-referential manyToMany needs foreignKey and targetForeignKey (the columns of "${t.name}" for each side)`)
  }
  const mine = fkColumns(t, owner.table, o.foreignKey, where)
  const theirs = fkColumns(t, target.table, o.targetForeignKey, where)
  const through: Through = Object.freeze({
    table: t,
    ownerCols: mine.fk,
    ownerRef: mine.ref,
    targetCols: theirs.fk,
    targetRef: theirs.ref,
    passiveDeletes: o.passiveDeletes ?? false,
  })
  // Both sides learn of the table: deleting an object of either deletes its link rows.
  const key = (cols: readonly string[]) => `${t.name}\u0000${cols.join(',')}`
  if (!owner.links.has(key(through.ownerCols))) owner.links.set(key(through.ownerCols), through)
  const mirrored: Through = Object.freeze({
    table: t,
    ownerCols: through.targetCols,
    ownerRef: through.targetRef,
    targetCols: through.ownerCols,
    targetRef: through.ownerRef,
    passiveDeletes: through.passiveDeletes,
  })
  if (!target.links.has(key(mirrored.ownerCols))) target.links.set(key(mirrored.ownerCols), mirrored)
  return through
}

function notLoaded(obj: object, name: string, s: InstanceState): RelationshipNotLoadedError {
  return new RelationshipNotLoadedError(
    `${obj.constructor.name}.${name} is not loaded (object is ${STATUS_NAMES[s.status]}); nothing loads behind a property read: ` +
      `use \`await session.load(objects, '${name}')\` or the query option \`{ load: ['${name}'] }\``,
    name,
  )
}

/** Sets the mirror property of a bidirectional relationship, without recursing. */
function backPopulate(s: InstanceState, name: string, value: unknown, old: unknown): void {
  const rel = s.mapper.relationships.get(name)
  if (!rel || rel.back === null) return
  const back = rel.back
  if (rel.kind === 'manyToOne') {
    if (old !== null && old !== undefined && old !== value) removeFrom(old, back, s.obj)
    addTo(value, back, s.obj)
  } else if (rel.kind === 'manyToMany') {
    const now = (value as object[] | null) ?? []
    for (const o of (old as object[] | null | undefined) ?? []) if (!now.includes(o)) removeFrom(o, back, s.obj)
    for (const o of now) addTo(o, back, s.obj)
  } else {
    for (const child of (value as object[] | null) ?? []) {
      const cs = stateOf(child)
      if (cs) ownRels(cs)[back] = s.obj
    }
  }
}

/** Removes `obj` from `other`'s loaded collection `name`. */
function removeFrom(other: unknown, name: string, obj: object): void {
  const arr = stateOf(other)?.rels?.[name] as object[] | undefined
  if (arr) {
    const i = arr.indexOf(obj)
    if (i >= 0) arr.splice(i, 1)
  }
}

/** Adds `obj` to `other`'s collection `name`: a loaded one, or a new one on an object not yet flushed. */
function addTo(other: unknown, name: string, obj: object): void {
  const ts = stateOf(other)
  if (!ts) return
  let arr = ts.rels?.[name] as object[] | undefined
  if (arr === undefined) {
    if (ts.status !== TRANSIENT && ts.status !== PENDING) return // unloaded collection stays unloaded
    arr = []
    ownRels(ts)[name] = arr
    registerRelationships(ts)
  }
  if (!arr.includes(obj)) arr.push(obj)
}

function defineRelationshipAccessor(proto: object, name: string, kind: RelationshipSpec<unknown>['kind']): void {
  const collection = kind !== 'manyToOne'
  Object.defineProperty(proto, name, {
    enumerable: false,
    configurable: true,
    get(this: { [STATE]: InstanceState }) {
      const s = this[STATE]
      const r = s.rels
      if (r !== null && name in r) return r[name]
      if (s.status === TRANSIENT || s.status === PENDING || (s.fresh && collection)) {
        if (!collection) return null
        const arr: object[] = []
        ownRels(s)[name] = arr
        registerRelationships(s)
        return arr
      }
      throw notLoaded(this, name, s)
    },
    set(this: { [STATE]: InstanceState }, v: unknown) {
      const s = this[STATE]
      const r = ownRels(s)
      const old = r[name]
      r[name] = collection && v === null ? [] : v
      registerRelationships(s)
      backPopulate(s, name, v, old)
    },
  })
}
