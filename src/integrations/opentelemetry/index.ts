/**
 * athanor/opentelemetry: OpenTelemetry metrics and spans for an engine.
 * `@opentelemetry/api` is an optional peer dependency, loaded only by this
 * entry point.
 *
 * ```ts
 * import { createEngine } from 'athanor'
 * import { instrument } from 'athanor/opentelemetry'
 *
 * const engine = createEngine('sqlite://')
 * const otel = instrument(engine)
 * otel.stop()
 * await engine.dispose()
 * ```
 */
export { instrument, INSTRUMENTATION_SCOPE } from './instrument.js'
export type { InstrumentOptions, Instrumentation } from './instrument.js'
export { DURATION_BUCKETS } from '../duration-buckets.js'
