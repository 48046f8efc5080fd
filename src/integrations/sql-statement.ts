/**
 * The operation a statement performs: its first keyword, upper-cased
 * (`SELECT`, `INSERT`, `BEGIN`...); `undefined` for an empty text.
 * OpenTelemetry's `db.operation.name`, and the metrics' operation label.
 *
 * ```ts
 * operationOf('select * from "person"') // 'SELECT'
 * operationOf('  with t as (...) select ...') // 'WITH'
 * ```
 */
export function operationOf(sql: string): string | undefined {
  const match = /^[\s(]*([A-Za-z]+)/.exec(sql)
  return match === null ? undefined : match[1]!.toUpperCase()
}

/**
 * Whether a statement opens or ends a transaction: the engine's own BEGIN,
 * START TRANSACTION, COMMIT and ROLLBACK (not `ROLLBACK TO SAVEPOINT`, nor
 * a savepoint's RELEASE), or the same sent as raw SQL.
 *
 * ```ts
 * transactionBoundary('START TRANSACTION ISOLATION LEVEL SERIALIZABLE') // 'begin'
 * transactionBoundary('ROLLBACK TO SAVEPOINT "sp_1"') // undefined
 * ```
 */
export function transactionBoundary(sql: string): 'begin' | 'commit' | 'rollback' | undefined {
  const op = operationOf(sql)
  switch (op) {
    case 'BEGIN':
      return 'begin'
    case 'START':
      return /^\s*START\s+TRANSACTION\b/i.test(sql) ? 'begin' : undefined
    case 'COMMIT':
    case 'END':
      return 'commit'
    case 'ROLLBACK':
      return /^\s*ROLLBACK\s+(WORK\s+|TRANSACTION\s+)?TO\b/i.test(sql) ? undefined : 'rollback'
    default:
      return undefined
  }
}
