import type { AnyModel } from './mapper.js'

/** Options of a relationship. */
export interface RelationshipOptions {
  /**
   * The foreign-key column(s) on the child table. Needed only when the child
   * table has no foreign key, or several, to the parent table.
   */
  readonly foreignKey?: string | readonly string[]
  /** The property on the other class that mirrors this one (kept in step on assignment). */
  readonly backPopulates?: string
  /** one-to-many: deleting the parent deletes its loaded children (else their key is set to NULL). */
  readonly cascadeDelete?: boolean
}

/** A relationship declaration; `V` is the property's type. Give it to `relate`. */
export interface RelationshipSpec<V> {
  readonly kind: 'manyToOne' | 'oneToMany'
  /** The related mapped class, behind a function so that classes can refer to each other. */
  readonly target: () => AnyModel
  readonly options: RelationshipOptions
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
