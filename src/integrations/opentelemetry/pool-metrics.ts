import type { Attributes, BatchObservableCallback, Meter } from '@opentelemetry/api'
import { ValueType } from '@opentelemetry/api'
import type { Pool } from '../../pool/types.js'
import { DURATION_BUCKETS } from '../duration-buckets.js'
import { poolLimits } from '../pool-limits.js'
import { watchPoolTimings } from '../pool-timings.js'


/**
 * Registers OpenTelemetry's connection-pool metrics for one pool
 * (`db.client.connection.*`, each with `db.client.connection.pool.name`);
 * returns the function that unregisters them. Gauges are read from
 * `pool.stats()` at each collection; the three durations are recorded from
 * the pool's events, in seconds.
 *
 * ```ts
 * const stop = recordPoolMetrics(meterProvider.getMeter('athanor'), engine.pool, 'db:5432/app')
 * ```
 */
export function recordPoolMetrics(meter: Meter, pool: Pool<unknown>, poolName: string): () => void {
  const attributes: Attributes = { 'db.client.connection.pool.name': poolName }
  const idle: Attributes = { ...attributes, 'db.client.connection.state': 'idle' }
  const used: Attributes = { ...attributes, 'db.client.connection.state': 'used' }
  const int = { valueType: ValueType.INT }
  const count = meter.createObservableUpDownCounter('db.client.connection.count', {
    ...int,
    unit: '{connection}',
    description: 'The number of connections that are currently in the state described by the state attribute.',
  })
  const max = meter.createObservableUpDownCounter('db.client.connection.max', {
    ...int,
    unit: '{connection}',
    description: 'The maximum number of open connections allowed.',
  })
  const idleMax = meter.createObservableUpDownCounter('db.client.connection.idle.max', {
    ...int,
    unit: '{connection}',
    description: 'The maximum number of idle open connections allowed.',
  })
  const idleMin = meter.createObservableUpDownCounter('db.client.connection.idle.min', {
    ...int,
    unit: '{connection}',
    description: 'The minimum number of idle open connections allowed.',
  })
  const pending = meter.createObservableUpDownCounter('db.client.connection.pending_requests', {
    ...int,
    unit: '{request}',
    description: 'The number of current pending requests for an open connection.',
  })
  const timeouts = meter.createObservableCounter('db.client.connection.timeouts', {
    ...int,
    unit: '{timeout}',
    description: 'The number of connection timeouts that have occurred trying to obtain a connection from the pool.',
  })
  const limits = poolLimits(pool)
  const observe: BatchObservableCallback = (result) => {
    const stats = pool.stats()
    result.observe(count, stats.idle, idle)
    result.observe(count, stats.inUse, used)
    if (limits.max !== undefined) result.observe(max, limits.max, attributes)
    if (limits.idleMax !== undefined) result.observe(idleMax, limits.idleMax, attributes)
    result.observe(idleMin, limits.idleMin, attributes)
    result.observe(pending, stats.waiting, attributes)
    result.observe(timeouts, stats.timeouts, attributes)
  }
  const observables = [count, max, idleMax, idleMin, pending, timeouts]
  meter.addBatchObservableCallback(observe, observables)

  const histogram = (name: string, description: string) =>
    meter.createHistogram(name, { unit: 's', description, advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] } })
  const createTime = histogram('db.client.connection.create_time', 'The time it took to create a new connection.')
  const waitTime = histogram('db.client.connection.wait_time', 'The time it took to obtain an open connection from the pool.')
  const useTime = histogram('db.client.connection.use_time', 'The time between borrowing a connection and returning it to the pool.')
  const stopTimings = watchPoolTimings(pool, {
    opened: (ms) => createTime.record(ms / 1000, attributes),
    waited: (ms) => waitTime.record(ms / 1000, attributes),
    used: (ms) => useTime.record(ms / 1000, attributes),
  })
  return () => {
    meter.removeBatchObservableCallback(observe, observables)
    stopTimings()
  }
}
