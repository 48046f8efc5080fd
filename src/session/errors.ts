import { AthanorError } from '../pool/errors.js'

/**
 * An UPDATE or DELETE in a flush matched fewer rows than it expected: another
 * transaction changed (version column) or deleted the row since it was loaded.
 * The flush is undone; reload the object with `session.refresh(obj)` and retry.
 *
 * ```ts
 * try { await session.commit() } catch (e) {
 *   if (e instanceof StaleDataError) await session.rollback()
 * }
 * ```
 */
export class StaleDataError extends AthanorError {
  constructor(
    message: string,
    /** The table whose statement came up short. */
    readonly table: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super('SESSION_STALE_DATA', message)
  }
}

/**
 * A flush failed; `cause` is the database's error. The database and the
 * session are as they were before the flush: fix the objects and flush again.
 *
 * ```ts
 * try { await session.flush() } catch (e) {
 *   if (e instanceof FlushError) { user.email = fixed; await session.flush() }
 * }
 * ```
 */
export class FlushError extends AthanorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SESSION_FLUSH', message, options)
  }
}

/**
 * The rows to insert or delete depend on each other in a cycle (A needs B's
 * key and B needs A's), so no order works. Break it: make one foreign key
 * nullable, flush the first object, then set the key and flush again.
 *
 * ```ts
 * try { await session.flush() } catch (e) {
 *   if (e instanceof DependencyCycleError) console.error(e.cycle) // ['a', 'b', 'a']
 * }
 * ```
 */
export class DependencyCycleError extends AthanorError {
  constructor(
    message: string,
    /** Table names along the cycle. */
    readonly cycle: readonly string[],
  ) {
    super('SESSION_DEPENDENCY_CYCLE', message)
  }
}

/**
 * An operation needs the object to belong to a session and it does not
 * (it was expunged, or its session closed), or it belongs to another session.
 *
 * ```ts
 * try { await session.refresh(obj) } catch (e) {
 *   if (e instanceof DetachedInstanceError) obj = await session.merge(obj)
 * }
 * ```
 */
export class DetachedInstanceError extends AthanorError {
  constructor(message: string) {
    super('SESSION_DETACHED', message)
  }
}

/**
 * An attribute was read after the session expired it (after commit with
 * `expireOnCommit`, after rollback, or `session.expire(obj)`). Nothing loads
 * behind a property read: call `await session.refresh(obj)`, or run a query
 * that returns the row, which refreshes it.
 *
 * ```ts
 * await session.commit()
 * await session.refresh(author)   // now author.name can be read
 * ```
 */
export class ExpiredAttributeError extends AthanorError {
  constructor(
    message: string,
    readonly attribute: string,
  ) {
    super('SESSION_EXPIRED_ATTRIBUTE', message)
  }
}

/**
 * A relationship was read that was never loaded. Nothing loads behind a
 * property read: load it explicitly with `session.load(objects, 'books')`
 * or eagerly with `session.query(Author, q, { load: ['books'] })`.
 *
 * ```ts
 * await session.load(authors, 'books')
 * authors[0].books.length
 * ```
 */
export class RelationshipNotLoadedError extends AthanorError {
  constructor(
    message: string,
    readonly relationship: string,
  ) {
    super('SESSION_NOT_LOADED', message)
  }
}

/**
 * The session was closed; it cannot run statements or flush. Open a new one.
 *
 * ```ts
 * await session.close()
 * session.db // throws SessionClosedError
 * ```
 */
export class SessionClosedError extends AthanorError {
  constructor(message = 'the session is closed; create a new one with the factory') {
    super('SESSION_CLOSED', message)
  }
}

/**
 * A row that had to exist did not: `session.getOrThrow(Model, key)`, or
 * `session.refresh(obj)` of a row deleted by someone else.
 *
 * ```ts
 * try { await session.getOrThrow(Author, 42) } catch (e) {
 *   if (e instanceof ObjectNotFoundError) reply(404)
 * }
 * ```
 */
export class ObjectNotFoundError extends AthanorError {
  constructor(
    message: string,
    readonly table: string,
    readonly key: unknown,
  ) {
    super('SESSION_NOT_FOUND', message)
  }
}

/**
 * A table, column or relationship declaration is wrong (no primary key, a
 * foreign key to an unknown column, a relationship with no foreign key to
 * follow, ...). The message names the table and the problem.
 *
 * ```ts
 * table('t', { name: text() }) // MappingError: table "t" has no primary key
 * ```
 */
export class MappingError extends AthanorError {
  constructor(message: string) {
    super('SESSION_MAPPING', message)
  }
}

/**
 * A session method was used the wrong way: adding an object of an unmapped
 * class, committing a nested transaction twice, beginning a transaction when
 * one is open in autocommit mode, and so on. The message names the problem.
 *
 * ```ts
 * session.add({} as never) // InvalidRequestError: ... is not an instance of a mapped class
 * ```
 */
export class InvalidRequestError extends AthanorError {
  constructor(message: string) {
    super('SESSION_INVALID_REQUEST', message)
  }
}
