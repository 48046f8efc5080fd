/**
 * athanor/prometheus: an engine's pool as Prometheus metrics (prom-client),
 * with HikariCP's metric set. `prom-client` is an optional peer dependency,
 * loaded only by this entry point.
 *
 * ```ts
 * import { Registry } from 'prom-client'
 * import { createEngine } from 'athanor'
 * import { collectPoolMetrics } from 'athanor/prometheus'
 *
 * const registry = new Registry()
 * const engine = createEngine('sqlite://')
 * const collector = collectPoolMetrics(engine, { registry })
 * console.log(await registry.metrics())
 * collector.stop()
 * await engine.dispose()
 * ```
 */
export { collectPoolMetrics } from './pool-collector.js'
export type { PoolCollector, PrometheusOptions } from './pool-collector.js'
