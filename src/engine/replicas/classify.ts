import type { CompiledQuery, RootOperationNode, SelectQueryNode } from 'kysely'

/** Raw SQL a replica can answer: a query that starts by reading and locks nothing. */
const RAW_READ = /^\s*(?:select|show|values|table)\b/i
const LOCKING = /\bfor\s+(?:update|share|no\s+key\s+update|key\s+share)\b/i
const WRITING = /\b(?:insert|update|delete|merge)\b|\b(?:nextval|setval|pg_advisory\w*)\s*\(/i

/**
 * Whether a statement only reads, so a replica may run it: a Kysely SELECT
 * without FOR UPDATE/SHARE and without data-changing CTEs, or raw SQL that
 * starts with SELECT/SHOW/VALUES/TABLE and neither locks nor changes data.
 * Anything unsure counts as a write (the primary can run everything).
 *
 * ```ts
 * isReadOnly(db.selectFrom('person').selectAll().compile()) // true
 * ```
 */
export function isReadOnly(query: CompiledQuery): boolean {
  const node: RootOperationNode = query.query
  if (node.kind === 'SelectQueryNode') {
    const select = node as SelectQueryNode
    if (select.endModifiers !== undefined && select.endModifiers.length > 0) return false
    if (select.with !== undefined && select.with.expressions.some((cte) => cte.expression.kind !== 'SelectQueryNode')) return false
    return !WRITING.test(query.sql)
  }
  if (node.kind === 'RawNode') return RAW_READ.test(query.sql) && !LOCKING.test(query.sql) && !WRITING.test(query.sql)
  return false
}
