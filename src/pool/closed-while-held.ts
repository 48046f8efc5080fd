/**
 * Connections the pool closed while a caller still held them (a hard
 * invalidation, a forced dispose). The pool forgets their records at once, so
 * a caller that never releases an invalidated connection leaks nothing; a
 * caller that does release it once more is answered quietly. Weakly held for
 * object connections.
 *
 * ```ts
 * const closed = new ClosedWhileHeld<Conn>()
 * closed.add(conn)
 * closed.take(conn) // true: the release after an invalidation is fine
 * closed.take(conn) // false: a second release is an error
 * ```
 */
export class ClosedWhileHeld<C> {
  private readonly objects = new WeakSet<object>()
  private readonly others = new Set<unknown>()

  add(connection: C): void {
    if (isObject(connection)) this.objects.add(connection)
    else this.others.add(connection)
  }

  has(connection: C): boolean {
    return isObject(connection) ? this.objects.has(connection) : this.others.has(connection)
  }

  /** Forgets `connection`; true when it was there. */
  take(connection: C): boolean {
    return isObject(connection) ? this.objects.delete(connection) : this.others.delete(connection)
  }
}

function isObject(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function'
}
