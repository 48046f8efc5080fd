import type { Attributes, MeterProvider, TracerProvider } from '@opentelemetry/api'
import { metrics, trace } from '@opentelemetry/api'
import { observeStatements } from '../../engine/statement-observer.js'
import type { Engine } from '../../engine/types.js'
import { engineTarget } from '../engine-target.js'
import { DURATION_BUCKETS } from '../duration-buckets.js'
import { recordPoolMetrics } from './pool-metrics.js'
import { traceStatements } from './statement-spans.js'

/** The instrumentation scope name athanor's meters and tracers carry. */
export const INSTRUMENTATION_SCOPE = 'athanor'

/**
 * Options of {@link instrument}.
 *
 * ```ts
 * const options: InstrumentOptions = { meterProvider, tracerProvider, poolName: 'orders' }
 * ```
 */
export interface InstrumentOptions {
  /** Where metrics go. Default: the global one (`metrics.getMeterProvider()`). */
  readonly meterProvider?: MeterProvider
  /** Where spans go. Default: the global one (`trace.getTracerProvider()`). */
  readonly tracerProvider?: TracerProvider
  /** `db.client.connection.pool.name`. Default: the pool's `name` option, or `host:port/database`. */
  readonly poolName?: string
  /** Connection-pool metrics and `db.client.operation.duration`. Default true. */
  readonly metrics?: boolean
  /** A span per statement and per transaction. Default true. */
  readonly traces?: boolean
  /**
   * Record bound values as `db.query.parameter.<index>` and errors' messages
   * as span status. Default false: values (which may be personal data or
   * secrets) are never recorded.
   */
  readonly recordParameters?: boolean
}

/**
 * What {@link instrument} returns: `stop()` (or `using`) removes every
 * listener, callback and observer it added.
 *
 * ```ts
 * using _otel = instrument(engine)
 * ```
 */
export interface Instrumentation extends Disposable {
  /** The `db.client.connection.pool.name` in use. */
  readonly poolName: string
  /** Removes the instruments, listeners and observers it added. */
  stop(): void
}

/**
 * Instruments an engine for OpenTelemetry, following its semantic conventions
 * for database clients:
 *
 * - metrics `db.client.connection.count` (by `db.client.connection.state`
 *   `idle`/`used`), `.max`, `.idle.max`, `.idle.min`, `.pending_requests`,
 *   `.timeouts`, and the histograms `.create_time`, `.wait_time`, `.use_time`
 *   (seconds), all with `db.client.connection.pool.name`; and
 *   `db.client.operation.duration` per statement;
 * - a CLIENT span per statement (`db.system`, `db.namespace`,
 *   `db.operation.name`, `db.query.text`, `server.address`, `server.port`),
 *   inside a `TRANSACTION` span from BEGIN to COMMIT or ROLLBACK.
 *
 * Bound values are never recorded unless `recordParameters` is set.
 *
 * ```ts
 * import { createEngine } from 'athanor'
 * import { instrument } from 'athanor/opentelemetry'
 *
 * const engine = createEngine('postgresql://app@db/app')
 * const otel = instrument(engine) // the global meter and tracer providers
 * // ...
 * otel.stop()
 * await engine.dispose()
 * ```
 */
export function instrument<DB>(engine: Engine<DB>, options: InstrumentOptions = {}): Instrumentation {
  const target = engineTarget(engine, options.poolName)
  const wantMetrics = options.metrics ?? true
  const wantTraces = options.traces ?? true
  const base: Attributes = { 'db.system': target.system, 'db.system.name': target.system }
  if (target.namespace !== undefined) base['db.namespace'] = target.namespace
  const spanAttributes: Attributes = { ...base }
  if (target.address !== undefined) spanAttributes['server.address'] = target.address
  if (target.port !== undefined) spanAttributes['server.port'] = target.port

  const stops: (() => void)[] = []
  const meter = wantMetrics ? (options.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_SCOPE) : undefined
  if (meter !== undefined) stops.push(recordPoolMetrics(meter, target.pool, target.poolName))
  const tracer = wantTraces ? (options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_SCOPE) : undefined
  const duration = meter?.createHistogram('db.client.operation.duration', {
    unit: 's',
    description: 'Duration of database client operations.',
    advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] },
  })
  if (tracer !== undefined || duration !== undefined) {
    const { observer, abandon } = traceStatements({
      tracer,
      duration,
      spanAttributes,
      // The semantic conventions' attributes of db.client.operation.duration (each one multiplies the series).
      metricAttributes: spanAttributes,
      recordParameters: options.recordParameters ?? false,
    })
    stops.push(observeStatements(engine, observer))
    const onInvalidate = (connection: unknown): void => abandon(connection, 'the connection was invalidated')
    const onClose = (connection: unknown): void => abandon(connection, 'the connection was closed')
    target.pool.on('invalidate', onInvalidate).on('close', onClose)
    stops.push(() => void target.pool.off('invalidate', onInvalidate).off('close', onClose))
  }
  let stopped = false
  const stop = (): void => {
    if (stopped) return
    stopped = true
    for (const s of stops) s()
  }
  return { poolName: target.poolName, stop, [Symbol.dispose]: stop }
}
