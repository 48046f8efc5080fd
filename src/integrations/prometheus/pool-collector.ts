import { Counter, Gauge, Histogram, register as defaultRegistry } from 'prom-client'
import type { Registry } from 'prom-client'
import { EngineOptionError } from '../../engine/errors.js'
import type { Engine } from '../../engine/types.js'
import type { Pool } from '../../pool/types.js'
import { DURATION_BUCKETS } from '../duration-buckets.js'
import { engineTarget } from '../engine-target.js'
import { poolLimits } from '../pool-limits.js'
import { watchPoolTimings } from '../pool-timings.js'

/**
 * Options of {@link collectPoolMetrics}.
 *
 * ```ts
 * const options: PrometheusOptions = { registry: new Registry(), prefix: 'hikaricp_', poolName: 'orders' }
 * ```
 */
export interface PrometheusOptions {
  /** Where the metrics are registered. Default: prom-client's global `register`. */
  readonly registry?: Registry
  /**
   * Prepended to every metric name. Default `'athanor_'`; `'hikaricp_'` gives
   * HikariCP's own names (Micrometer's), for dashboards made for it.
   */
  readonly prefix?: string
  /** The `pool` label. Default: the pool's `name` option, or `host:port/database`. */
  readonly poolName?: string
}

/**
 * What {@link collectPoolMetrics} returns: `stop()` (or `using`) removes the
 * pool's series, and the metrics themselves once no pool is left.
 *
 * ```ts
 * using _metrics = collectPoolMetrics(engine)
 * ```
 */
export interface PoolCollector extends Disposable {
  /** The `pool` label in use. */
  readonly poolName: string
  /** Unregisters the metrics and removes the pool listeners. */
  stop(): void
}

/** The metrics of one registry and prefix, shared by every pool collected into it. */
interface SharedMetrics {
  readonly pools: Map<string, WatchedPool>
  readonly timeouts: Counter<'pool'>
  readonly acquire: Histogram<'pool'>
  readonly usage: Histogram<'pool'>
  readonly creation: Histogram<'pool'>
  readonly all: readonly string[]
}

interface WatchedPool {
  readonly pool: Pool<unknown>
  /** `stats().timeouts` already counted. */
  timeoutsSeen: number
}

const shared = new WeakMap<Registry, Map<string, SharedMetrics>>()

/**
 * Collects an engine's pool into Prometheus (prom-client), with HikariCP's
 * metric set; every series has the label `pool`:
 *
 * | metric (default prefix `athanor_`)        | type      | what                                      |
 * |-------------------------------------------|-----------|-------------------------------------------|
 * | `athanor_connections`                     | gauge     | open connections (idle + active)          |
 * | `athanor_connections_idle`                | gauge     | idle connections                          |
 * | `athanor_connections_active`              | gauge     | connections checked out                   |
 * | `athanor_connections_pending`             | gauge     | callers waiting for a connection          |
 * | `athanor_connections_max`                 | gauge     | most connections open at once (if bounded)|
 * | `athanor_connections_min`                 | gauge     | connections kept open at least (`minIdle`)|
 * | `athanor_connections_timeout_total`       | counter   | checkouts that ran out of `poolTimeout`   |
 * | `athanor_connections_acquire_seconds`     | histogram | wait for a connection                     |
 * | `athanor_connections_usage_seconds`       | histogram | checkout to checkin                       |
 * | `athanor_connections_creation_seconds`    | histogram | opening a connection                      |
 *
 * Gauges are read from `pool.stats()` at each scrape; histograms are fed by
 * the pool's events. Several engines can be collected into one registry.
 *
 * ```ts
 * import { createServer } from 'node:http'
 * import { register } from 'prom-client'
 * import { createEngine } from 'athanor'
 * import { collectPoolMetrics } from 'athanor/prometheus'
 *
 * const engine = createEngine('postgresql://app@db/app')
 * collectPoolMetrics(engine)
 * createServer(async (_req, res) => res.end(await register.metrics())).listen(9464)
 * ```
 */
export function collectPoolMetrics<DB>(engine: Engine<DB>, options: PrometheusOptions = {}): PoolCollector {
  const registry = options.registry ?? defaultRegistry
  const prefix = options.prefix ?? 'athanor_'
  const target = engineTarget(engine, options.poolName)
  const poolName = target.poolName
  const metrics = metricsFor(registry, prefix)
  if (metrics.pools.has(poolName)) {
    throw new EngineOptionError(
      `collectPoolMetrics: a pool named ${JSON.stringify(poolName)} is already collected into this registry; give each engine its own poolName`,
      'poolName',
    )
  }
  metrics.pools.set(poolName, { pool: target.pool, timeoutsSeen: 0 })
  const labels = { pool: poolName }
  const stopTimings = watchPoolTimings(target.pool, {
    opened: (ms) => metrics.creation.observe(labels, ms / 1000),
    waited: (ms) => metrics.acquire.observe(labels, ms / 1000),
    used: (ms) => metrics.usage.observe(labels, ms / 1000),
  })
  let stopped = false
  const stop = (): void => {
    if (stopped) return
    stopped = true
    stopTimings()
    metrics.pools.delete(poolName)
    for (const name of metrics.all) (registry.getSingleMetric(name) as { remove?(labels: object): void } | undefined)?.remove?.(labels)
    if (metrics.pools.size === 0) {
      for (const name of metrics.all) registry.removeSingleMetric(name)
      shared.get(registry)?.delete(prefix)
    }
  }
  return { poolName, stop, [Symbol.dispose]: stop }
}

/** The registry's metrics for `prefix`, registered on first use. */
function metricsFor(registry: Registry, prefix: string): SharedMetrics {
  let byPrefix = shared.get(registry)
  if (byPrefix === undefined) shared.set(registry, (byPrefix = new Map()))
  const existing = byPrefix.get(prefix)
  if (existing !== undefined) return existing
  const pools = new Map<string, WatchedPool>()
  const registers = [registry]
  const labelNames = ['pool'] as const

  const gauge = (suffix: string, help: string, read: (pool: Pool<unknown>) => number | undefined): string => {
    const name = `${prefix}${suffix}`
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        for (const [pool, watched] of pools) {
          const value = read(watched.pool)
          if (value !== undefined) this.set({ pool }, value)
        }
      },
    })
    return name
  }
  const names = [
    gauge('connections', 'Open connections (idle and active)', (p) => p.stats().open),
    gauge('connections_idle', 'Idle connections', (p) => p.stats().idle),
    gauge('connections_active', 'Connections checked out', (p) => p.stats().inUse),
    gauge('connections_pending', 'Callers waiting for a connection', (p) => p.stats().waiting),
    gauge('connections_max', 'Most connections the pool holds open at once', (p) => poolLimits(p).max),
    gauge('connections_min', 'Connections the pool keeps open at least (minIdle)', (p) => poolLimits(p).idleMin),
  ]
  const timeoutsName = `${prefix}connections_timeout_total`
  const timeouts = new Counter({
    name: timeoutsName,
    help: 'Checkouts that ran out of poolTimeout',
    labelNames,
    registers,
    collect() {
      for (const [pool, watched] of pools) {
        const total = watched.pool.stats().timeouts
        // Counted from the pool's start, so a collector added late still reports every timeout.
        this.inc({ pool }, total - watched.timeoutsSeen)
        watched.timeoutsSeen = total
      }
    },
  })
  const histogram = (suffix: string, help: string): Histogram<'pool'> =>
    new Histogram({ name: `${prefix}${suffix}`, help, labelNames, registers, buckets: [...DURATION_BUCKETS] })
  const acquire = histogram('connections_acquire_seconds', 'Time waited for a connection')
  const usage = histogram('connections_usage_seconds', 'Time a connection was checked out')
  const creation = histogram('connections_creation_seconds', 'Time to open a connection')
  const all = [...names, timeoutsName, `${prefix}connections_acquire_seconds`, `${prefix}connections_usage_seconds`, `${prefix}connections_creation_seconds`]
  const metrics: SharedMetrics = { pools, timeouts, acquire, usage, creation, all }
  byPrefix.set(prefix, metrics)
  return metrics
}
