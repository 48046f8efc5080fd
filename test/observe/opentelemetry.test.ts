import { SpanKind, SpanStatusCode } from '@opentelemetry/api'
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics'
import type { DataPoint, Histogram, MetricData } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { sql } from 'kysely'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createEngine, IntegrityError, PoolTimeoutError } from '../../src/index.js'
import type { Engine, EngineOptions } from '../../src/index.js'
import { instrument } from '../../src/integrations/opentelemetry/index.js'
import { scoped } from '../support/reliability.js'
import { MYSQL_URL, PG_URL, runMysql, runPg } from '../support/servers.js'
import { PGLITE_START, SLOW_SETUP_MS } from '../support/slow-setup.js'
import { inAnotherTask } from '../support/another-task.js'

/** A real SDK meter provider whose reader exports to memory on demand. */
function metricsHarness() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })
  const meterProvider = new MeterProvider({ readers: [reader] })
  return {
    meterProvider,
    /** Collects now; returns the metrics by name. */
    async collect(): Promise<Map<string, MetricData>> {
      exporter.reset()
      await reader.forceFlush()
      const byName = new Map<string, MetricData>()
      for (const rm of exporter.getMetrics()) for (const sm of rm.scopeMetrics) for (const m of sm.metrics) byName.set(m.descriptor.name, m)
      return byName
    },
    shutdown: () => meterProvider.shutdown(),
  }
}

function tracesHarness() {
  const exporter = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  return { tracerProvider, spans: (): ReadableSpan[] => exporter.getFinishedSpans(), reset: () => exporter.reset() }
}

function point(metrics: Map<string, MetricData>, name: string, attributes: Record<string, string> = {}): DataPoint<unknown> | undefined {
  const metric = metrics.get(name)
  if (metric === undefined) return undefined
  return (metric.dataPoints as DataPoint<unknown>[]).find((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v))
}

function value(metrics: Map<string, MetricData>, name: string, attributes: Record<string, string> = {}): number | undefined {
  return point(metrics, name, attributes)?.value as number | undefined
}

function histogramCount(metrics: Map<string, MetricData>, name: string): number {
  return (point(metrics, name)?.value as Histogram | undefined)?.count ?? 0
}

interface Backend {
  readonly name: string
  readonly url: string
  readonly system: string
  readonly namespace: string | undefined
  readonly options: EngineOptions
  /** Connections the pool may hold at once, as configured in `options`. */
  readonly max: number
  readonly idleMax: number
  /** The pool test times a checkout out with a short poolTimeout: not for PGlite, whose start needs a long one. */
  readonly poolTest: boolean
}

const dbName = (url: string) => new URL(url.replace(/^[a-z0-9+]+:/, 'http:')).pathname.slice(1)

const table = scoped('observe_otel')

const backends: Backend[] = [
  { name: 'sqlite://', url: 'sqlite://', system: 'sqlite', namespace: undefined, options: { poolTimeout: 1_500 }, max: 1, idleMax: 1, poolTest: true },
  { name: 'pglite://', url: 'pglite://', system: 'postgresql', namespace: undefined, options: PGLITE_START, max: 1, idleMax: 1, poolTest: false },
  ...(runPg
    ? [
        {
          name: 'PostgreSQL',
          url: PG_URL,
          system: 'postgresql',
          namespace: dbName(PG_URL),
          options: { poolSize: 2, maxOverflow: 1, name: 'otel-test', poolTimeout: 1_500 },
          max: 3,
          idleMax: 2,
          poolTest: true,
        },
      ]
    : []),
  ...(runMysql
    ? [
        {
          name: 'MariaDB',
          url: MYSQL_URL,
          system: 'mysql',
          namespace: dbName(MYSQL_URL),
          options: { poolSize: 2, maxOverflow: 1, name: 'otel-test', poolTimeout: 1_500 },
          max: 3,
          idleMax: 2,
          poolTest: true,
        },
      ]
    : []),
]

for (const backend of backends) {
  describe(`OpenTelemetry on ${backend.name}`, () => {
    let engine: Engine<Record<string, never>>
    let metrics: ReturnType<typeof metricsHarness>
    let traces: ReturnType<typeof tracesHarness>
    let otel: ReturnType<typeof instrument>

    beforeAll(async () => {
      engine = createEngine(backend.url, backend.options)
      await sql`DROP TABLE IF EXISTS ${sql.table(table)}`.execute(engine.db)
      await sql`CREATE TABLE ${sql.table(table)} (id INTEGER PRIMARY KEY, name VARCHAR(50) UNIQUE)`.execute(engine.db)
    }, SLOW_SETUP_MS)
    afterAll(async () => {
      await sql`DROP TABLE IF EXISTS ${sql.table(table)}`.execute(engine.db)
      await engine.dispose()
    })
    afterEach(async () => {
      otel?.stop()
      await metrics?.shutdown()
    })

    const start = (recordParameters = false) => {
      metrics = metricsHarness()
      traces = tracesHarness()
      otel = instrument(engine, { meterProvider: metrics.meterProvider, tracerProvider: traces.tracerProvider, recordParameters })
    }

    it.runIf(backend.poolTest)('reports the pool: connections by state, limits, pending requests, timeouts and the three durations', async () => {
      start()
      const poolName = backend.options.name ?? 'sqlite::memory:'
      expect(otel.poolName).toBe(poolName)
      // Held as another request would hold them: on an in-memory engine a waiter of the
      // holder's own async context would be refused at once (SameContextCheckoutError).
      const conn = await inAnotherTask(() => engine.connect())
      await sql`SELECT 1`.execute(conn.db)
      let m = await metrics.collect()
      const attrs = { 'db.client.connection.pool.name': poolName }
      expect(value(m, 'db.client.connection.count', { ...attrs, 'db.client.connection.state': 'used' })).toBe(1)
      expect(value(m, 'db.client.connection.count', { ...attrs, 'db.client.connection.state': 'idle' })).toBe(engine.pool.checkedIn())
      expect(value(m, 'db.client.connection.max', attrs)).toBe(backend.max)
      expect(value(m, 'db.client.connection.idle.max', attrs)).toBe(backend.idleMax)
      expect(value(m, 'db.client.connection.idle.min', attrs)).toBe(0)
      expect(value(m, 'db.client.connection.pending_requests', attrs)).toBe(0)

      // Every connection held: the next caller waits (pending), then times out.
      const held = [conn]
      while (engine.pool.checkedOut() < backend.max) held.push(await inAnotherTask(() => engine.connect()))
      const timeoutsBefore = engine.pool.stats().timeouts
      const waiting = engine.connect()
      await expect.poll(() => engine.pool.stats().waiting).toBe(1)
      m = await metrics.collect()
      expect(value(m, 'db.client.connection.pending_requests', attrs)).toBe(1)
      await expect(waiting).rejects.toBeInstanceOf(PoolTimeoutError)
      m = await metrics.collect()
      expect(value(m, 'db.client.connection.timeouts', attrs)).toBe(timeoutsBefore + 1)
      expect(value(m, 'db.client.connection.pending_requests', attrs)).toBe(0)
      for (const c of held) await c.close()

      m = await metrics.collect()
      expect(value(m, 'db.client.connection.count', { ...attrs, 'db.client.connection.state': 'used' })).toBe(0)
      expect(histogramCount(m, 'db.client.connection.wait_time')).toBe(held.length)
      expect(histogramCount(m, 'db.client.connection.use_time')).toBe(held.length)
      const createTime = point(m, 'db.client.connection.create_time')
      if (engine.pool.stats().created > 1 || backend.name !== 'sqlite://') {
        // sqlite's only connection may have opened before instrument(): then nothing was created since.
        expect((createTime?.value as Histogram | undefined)?.count ?? 0).toBeGreaterThan(0)
      }
      expect(m.get('db.client.connection.use_time')?.descriptor.unit).toBe('s')
      expect(histogramCount(m, 'db.client.operation.duration')).toBeGreaterThan(0)
    })

    it('makes a CLIENT span per statement with the database attributes, never the parameters', async () => {
      start()
      await sql`SELECT ${'secret-value'} AS v`.execute(engine.db)
      const span = traces.spans().find((s) => String(s.attributes['db.query.text']).includes('AS v'))
      expect(span).toBeDefined()
      expect(span!.kind).toBe(SpanKind.CLIENT)
      expect(span!.name).toBe('SELECT')
      expect(span!.attributes['db.system']).toBe(backend.system)
      expect(span!.attributes['db.namespace']).toBe(backend.namespace)
      expect(span!.attributes['db.operation.name']).toBe('SELECT')
      expect(span!.attributes['db.response.returned_rows']).toBe(1)
      expect(span!.instrumentationScope.name).toBe('athanor')
      expect(JSON.stringify(traces.spans().map((s) => s.attributes))).not.toContain('secret-value')
      if (backend.url === PG_URL) expect(span!.attributes['server.port']).toBe(Number(new URL(PG_URL.replace(/^[a-z0-9+]+:/, 'http:')).port || 5432))
    })

    it('records the parameters only when asked', async () => {
      start(true)
      await sql`SELECT ${'shown-value'} AS v, ${7} AS n`.execute(engine.db)
      const span = traces.spans().find((s) => String(s.attributes['db.query.text']).includes('AS v'))
      expect(span!.attributes['db.query.parameter.0']).toBe('shown-value')
      expect(span!.attributes['db.query.parameter.1']).toBe(7)
    })

    it('makes a span per transaction, its statements inside it; a failed statement is an error span', async () => {
      start()
      await engine.begin(async (conn) => {
        await conn.db.insertInto(table as never).values({ id: 1, name: 'ada' } as never).execute()
      })
      const rolledBack = engine.begin(async (conn) => {
        await conn.db.insertInto(table as never).values({ id: 2, name: 'ada' } as never).execute()
      })
      await expect(rolledBack).rejects.toBeInstanceOf(IntegrityError)

      const spans = traces.spans()
      const transactions = spans.filter((s) => s.name === 'TRANSACTION')
      expect(transactions.map((t) => t.attributes['athanor.transaction.outcome'])).toEqual(['committed', 'rolled back'])
      const [committed, failed] = transactions
      const children = (tx: ReadableSpan) => spans.filter((s) => s.parentSpanContext?.spanId === tx.spanContext().spanId).map((s) => s.name)
      expect(children(committed!)).toEqual(['BEGIN', 'INSERT', 'COMMIT'])
      expect(children(failed!)).toEqual(['BEGIN', 'INSERT', 'ROLLBACK'])
      expect(committed!.attributes['db.system']).toBe(backend.system)

      const insert = spans.find((s) => s.name === 'INSERT' && s.parentSpanContext?.spanId === failed!.spanContext().spanId)!
      expect(insert.status.code).toBe(SpanStatusCode.ERROR)
      expect(insert.attributes['error.type']).toBe('DB_INTEGRITY')
      // The status says what failed without the server's message (which may quote values).
      expect(insert.status.message).toBe('DB_INTEGRITY')
      if (backend.system === 'postgresql') expect(insert.attributes['db.response.status_code']).toBe('23505')
      if (backend.system === 'mysql') expect(insert.attributes['db.response.status_code']).toBe('23000')
      await sql`DELETE FROM ${sql.table(table)}`.execute(engine.db)
    })

    it('stop() removes everything it added', async () => {
      start()
      otel.stop()
      await sql`SELECT 1`.execute(engine.db)
      expect(traces.spans()).toEqual([])
      const m = await metrics.collect()
      expect(m.get('db.client.connection.count')?.dataPoints ?? []).toEqual([])
      expect(histogramCount(m, 'db.client.connection.wait_time')).toBe(0)
    })
  })
}
