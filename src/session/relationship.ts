import type { AnyModel } from './mapper.js'
import type { AnyTable } from './table.js'

/** Options of a many-to-one or one-to-many relationship. */
export interface RelationshipOptions {
  /**
   * The foreign-key column(s) on the child table. Needed only when the child
   * table has no foreign key, or several, to the parent table.
   */
  readonly foreignKey?: string | readonly string[]
  /** The property on the other class that mirrors this one (kept in step on assignment and at flush). */
  readonly backPopulates?: string
  /** one-to-many: deleting the parent deletes its loaded children (else their key is set to NULL). */
  readonly cascadeDelete?: boolean
  /**
   * one-to-many: the database handles the children when the parent is deleted
   * (the foreign key says `onDelete: 'cascade'` or `'set null'`), so deleting
   * the parent neither loads nor updates them (SQLAlchemy's `passive_deletes`).
   * Loaded children follow in the session after the flush: deleted (cascade)
   * or with their key expired (set null).
   */
  readonly passiveDeletes?: boolean
  /**
   * many-to-one: this foreign key closes a cycle between tables (or rows), so
   * it is written in a second pass: the row is inserted with the key NULL and
   * an UPDATE sets it in the same flush; before a delete it is set to NULL
   * first (SQLAlchemy's `post_update`). The column must be nullable.
   */
  readonly postUpdate?: boolean
}

/** Options of a many-to-many relationship. */
export interface ManyToManyOptions {
  /** The association (secondary) table: one row per link, foreign keys to both tables. */
  readonly through: AnyTable
  /** The property on the target class that mirrors this one (kept in step on assignment and at flush). */
  readonly backPopulates?: string
  /**
   * The association table's column(s) pointing at this class's table. Needed only
   * when it has no foreign key, or several, to it (a self-referential link table).
   */
  readonly foreignKey?: string | readonly string[]
  /** The association table's column(s) pointing at the target's table, when ambiguous. */
  readonly targetForeignKey?: string | readonly string[]
  /**
   * The database deletes the association rows of a deleted object (their
   * foreign keys say `onDelete: 'cascade'`): the flush sends no DELETE for them.
   */
  readonly passiveDeletes?: boolean
}

/** The kinds of relationship. */
export type RelationshipKind = 'manyToOne' | 'oneToMany' | 'manyToMany'

/** A relationship declaration; `V` is the property's type. Give it to `relate`. */
export interface RelationshipSpec<V> {
  readonly kind: RelationshipKind
  /** The related mapped class, behind a function so that classes can refer to each other. */
  readonly target: () => AnyModel
  readonly options: RelationshipOptions & Partial<ManyToManyOptions>
  /** Phantom: the property type, for checking against the class. */
  readonly __value?: V
}

/**
 * Many-to-one: `book.author`, an object or `null`. Setting it is enough for
 * the flush to fill `book.authorId`, even from a key generated in the same flush.
 *
 * ```ts
 * relate(Book, { author: manyToOne(() => Author, { backPopulates: 'books' }) })
 * ```
 */
export function manyToOne<M extends AnyModel>(
  target: () => M,
  options: RelationshipOptions = {},
): RelationshipSpec<InstanceType<M> | null> {
  return Object.freeze({ kind: 'manyToOne', target, options: Object.freeze({ ...options }) })
}

/**
 * One-to-many: `author.books`, a plain array. Pushing to it is enough: the
 * flush adds new children and fills their foreign keys; removed children get
 * a `NULL` key (or are deleted, with `cascadeDelete`).
 *
 * ```ts
 * relate(Author, { books: oneToMany(() => Book, { backPopulates: 'author' }) })
 * ```
 */
export function oneToMany<M extends AnyModel>(
  target: () => M,
  options: RelationshipOptions = {},
): RelationshipSpec<InstanceType<M>[]> {
  return Object.freeze({ kind: 'oneToMany', target, options: Object.freeze({ ...options }) })
}

/**
 * Many-to-many through an association table (SQLAlchemy's `secondary`):
 * `book.tags`, a plain array. Pushing to it or removing from it is enough:
 * the flush inserts and deletes the association rows (batched), after the
 * objects on both sides are inserted. Deleting an object deletes its
 * association rows. When the link carries data of its own, map the
 * association table to a class instead (an association object).
 *
 * ```ts
 * relate(Book, { tags: manyToMany(() => Tag, { through: bookTag, backPopulates: 'books' }) })
 * relate(Tag, { books: manyToMany(() => Book, { through: bookTag, backPopulates: 'tags' }) })
 * ```
 */
export function manyToMany<M extends AnyModel>(
  target: () => M,
  options: ManyToManyOptions,
): RelationshipSpec<InstanceType<M>[]> {
  return Object.freeze({ kind: 'manyToMany', target, options: Object.freeze({ ...options }) })
}
