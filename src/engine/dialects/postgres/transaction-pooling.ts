/**
 * What cannot work behind a transaction pooler (PgBouncer `pool_mode =
 * transaction`): after each transaction the server connection may serve
 * another client, so anything kept in the session leaks to it or is lost.
 */

interface Rule {
  readonly pattern: RegExp
  readonly why: string
}

// Comments and leading blanks are skipped before the statement-level rules test.
const LEADING = /^(?:\s+|--[^\n]*\n?|\/\*[\s\S]*?\*\/)*/

const STATEMENT_RULES: readonly Rule[] = [
  {
    pattern: /^LISTEN\b/i,
    why: 'LISTEN needs a session of its own: under transaction pooling the server connection serves other clients between transactions, so notifications would reach them or nobody. Use an engine on a direct URL (no ?pgbouncer=transaction) for LISTEN',
  },
  {
    pattern: /^SET\s+(?!LOCAL\b|TRANSACTION\b|CONSTRAINTS\b)/i,
    why: "a session-level SET would stay on a server connection other clients get next. Use SET LOCAL (or set_config(name, value, true)) inside a transaction",
  },
  {
    pattern: /^(?:PREPARE|DEALLOCATE)\b/i,
    why: 'a prepared statement lives in one server session, which the next transaction may not get. Run the statement itself',
  },
]

const ANYWHERE_RULES: readonly Rule[] = [
  {
    pattern: /\bpg_(?:try_)?advisory_(?:lock|unlock)(?:_shared|_all)?\s*\(/i,
    why: 'a session-level advisory lock outlives the transaction, and the server session holding it goes to other clients. Use pg_advisory_xact_lock / pg_try_advisory_xact_lock inside a transaction',
  },
]

/**
 * Why `sql` cannot run behind a transaction pooler, or undefined when it can.
 *
 * ```ts
 * refusalUnderTransactionPooling('LISTEN jobs') // 'LISTEN needs a session of its own: ...'
 * refusalUnderTransactionPooling('SELECT 1')    // undefined
 * ```
 */
export function refusalUnderTransactionPooling(sql: string): string | undefined {
  const start = sql.replace(LEADING, '')
  for (const rule of STATEMENT_RULES) if (rule.pattern.test(start)) return rule.why
  // Cheap pre-test: the function names all contain "advisory_".
  if (sql.includes('advisory_')) for (const rule of ANYWHERE_RULES) if (rule.pattern.test(sql)) return rule.why
  return undefined
}
