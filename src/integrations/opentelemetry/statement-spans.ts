import type { Attributes, Histogram, Span, Tracer } from '@opentelemetry/api'
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import type { StatementObserver } from '../../engine/statement-observer.js'
import { operationOf, transactionBoundary } from '../sql-statement.js'

/** What {@link traceStatements} records, besides the spans' shared attributes. */
export interface StatementTracing {
  /** Spans go here; none when absent. */
  readonly tracer: Tracer | undefined
  /** `db.client.operation.duration` (seconds); none when absent. */
  readonly duration: Histogram | undefined
  /** `db.system`, `db.namespace`, `server.address`... set on every span. */
  readonly spanAttributes: Attributes
  /** The same, for the duration metric (low-cardinality keys only). */
  readonly metricAttributes: Attributes
  /** Record bound values as `db.query.parameter.<index>`, and errors' messages. */
  readonly recordParameters: boolean
}

/**
 * A statement observer that makes one CLIENT span per statement and one per
 * transaction (from its BEGIN to its COMMIT or ROLLBACK, the statements in
 * it as children), and records each statement's duration. Returns the
 * observer and `abandon`, which ends a connection's open transaction span
 * when the connection is invalidated or closed.
 *
 * ```ts
 * const { observer } = traceStatements({ tracer, duration: undefined, spanAttributes, metricAttributes, recordParameters: false })
 * observeStatements(engine, observer)
 * ```
 */
export function traceStatements(options: StatementTracing): {
  readonly observer: StatementObserver
  abandon(connection: unknown, why: string): void
} {
  const { tracer, duration, spanAttributes, metricAttributes, recordParameters } = options
  const open = new WeakMap<object, Span>()
  const known = new StatementCache(spanAttributes, metricAttributes)

  const observer: StatementObserver = {
    statement(sql, parameters, connection) {
      const facts = known.get(sql)
      const boundary = facts.boundary
      let tx = open.get(connection)
      if (tracer !== undefined && boundary === 'begin') {
        // A BEGIN on a connection whose last transaction span never saw its end (raw SQL, a lost reply).
        tx?.end()
        tx = tracer.startSpan('TRANSACTION', { kind: SpanKind.CLIENT, attributes: spanAttributes }, context.active())
        open.set(connection, tx)
      }
      let span: Span | undefined
      if (tracer !== undefined) {
        const active = context.active()
        const parent = tx === undefined ? active : trace.setSpan(active, tx)
        span = tracer.startSpan(facts.spanName, { kind: SpanKind.CLIENT, attributes: facts.spanAttributes }, parent)
        if (recordParameters) for (let i = 0; i < parameters.length; i++) span.setAttribute(`db.query.parameter.${i}`, renderValue(parameters[i]))
      }
      const start = duration === undefined ? 0 : performance.now()
      return (error, result) => {
        const failed = error !== undefined
        const errorType = failed ? errorTypeOf(error) : undefined
        if (span !== undefined) {
          if (failed) {
            span.setAttribute('error.type', errorType!)
            const sqlState = (error as { sqlState?: unknown }).sqlState
            if (typeof sqlState === 'string') span.setAttribute('db.response.status_code', sqlState)
            span.setStatus({ code: SpanStatusCode.ERROR, message: recordParameters ? messageOf(error) : errorType })
          } else if (result !== undefined && result.rows.length > 0) {
            span.setAttribute('db.response.returned_rows', result.rows.length)
          }
          span.end()
        }
        if (duration !== undefined) {
          const attributes = errorType === undefined ? facts.metricAttributes : { ...facts.metricAttributes, 'error.type': errorType }
          duration.record((performance.now() - start) / 1000, attributes)
        }
        if (tx === undefined) return
        if (boundary === 'commit' || boundary === 'rollback' || (boundary === 'begin' && failed)) {
          tx.setAttribute('athanor.transaction.outcome', failed ? 'failed' : boundary === 'commit' ? 'committed' : 'rolled back')
          if (failed) tx.setStatus({ code: SpanStatusCode.ERROR, message: recordParameters ? messageOf(error) : errorType })
          tx.end()
          if (open.get(connection) === tx) open.delete(connection)
        }
      }
    },
  }

  const abandon = (connection: unknown, why: string): void => {
    if (typeof connection !== 'object' || connection === null) return
    const tx = open.get(connection)
    if (tx === undefined) return
    open.delete(connection)
    tx.setAttribute('athanor.transaction.outcome', 'abandoned')
    tx.setStatus({ code: SpanStatusCode.ERROR, message: why })
    tx.end()
  }
  return { observer, abandon }
}

/** What one SQL text gives every time it runs: parsed once, not per statement. */
interface StatementFacts {
  readonly boundary: 'begin' | 'commit' | 'rollback' | undefined
  readonly spanName: string
  /** Shared by every span of this text (the SDK copies them). */
  readonly spanAttributes: Attributes
  readonly metricAttributes: Attributes
}

/** The facts of recent SQL texts; an application has a few hundred, so the cache starts over past a bound. */
class StatementCache {
  readonly #facts = new Map<string, StatementFacts>()
  constructor(
    private readonly spanAttributes: Attributes,
    private readonly metricAttributes: Attributes,
  ) {}

  get(sql: string): StatementFacts {
    let facts = this.#facts.get(sql)
    if (facts !== undefined) return facts
    const operation = operationOf(sql)
    const withOperation = operation === undefined ? {} : { 'db.operation.name': operation }
    facts = {
      boundary: transactionBoundary(sql),
      spanName: operation ?? String(this.spanAttributes['db.system'] ?? 'statement'),
      spanAttributes: { ...this.spanAttributes, 'db.query.text': sql, ...withOperation },
      metricAttributes: { ...this.metricAttributes, ...withOperation },
    }
    if (this.#facts.size >= 1_000) this.#facts.clear()
    this.#facts.set(sql, facts)
    return facts
  }
}

/** `error.type`: athanor's stable code (`INTEGRITY_ERROR`...), else the error's class. */
function errorTypeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && code !== '') return code
  if (error instanceof Error) return error.name
  return '_OTHER'
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** A bound value as an attribute value: strings, numbers and booleans as they are, the rest as text. */
function renderValue(value: unknown): string | number | boolean {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value
  if (value === null || value === undefined) return 'NULL'
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Date) return value.toISOString()
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
