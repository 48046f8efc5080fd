import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { sql } from 'kysely'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEngine, EngineOptionError, PoolTimeoutError } from '../../src/index.js'
import type { Engine, EngineOptions } from '../../src/index.js'
import { collectPoolMetrics } from '../../src/integrations/prometheus/index.js'
import { PG_URL, runPg } from '../support/servers.js'
import { inAnotherTask } from '../support/another-task.js'

/** A real /metrics endpoint on an ephemeral port, serving `registry`. */
async function serve(registry: Registry): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end()
      return
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => res.writeHead(500).end(String(error)),
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/metrics`, server }
}

/** Scrapes and parses the exposition text: `name{labels}` -> value. */
async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(url)
  expect(response.status).toBe(200)
  const samples = new Map<string, number>()
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    samples.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return samples
}

interface Backend {
  readonly name: string
  readonly url: string
  readonly options: EngineOptions
  readonly max: number
}

const backends: Backend[] = [
  { name: 'sqlite://', url: 'sqlite://', options: { name: 'mem', poolTimeout: 1_500 }, max: 1 },
  ...(runPg ? [{ name: 'PostgreSQL', url: PG_URL, options: { name: 'pg', poolSize: 2, maxOverflow: 1, poolTimeout: 1_500 }, max: 3 }] : []),
]

for (const backend of backends) {
  describe(`Prometheus collector on ${backend.name}, scraped over HTTP`, () => {
    let engine: Engine<Record<string, never>>
    let registry: Registry
    let endpoint: { url: string; server: Server }

    beforeAll(async () => {
      engine = createEngine(backend.url, backend.options)
      registry = new Registry()
      endpoint = await serve(registry)
    })
    afterAll(async () => {
      await new Promise((resolve) => endpoint.server.close(resolve))
      await engine.dispose()
    })

    it("exposes HikariCP's metric set while the engine works", async () => {
      const collector = collectPoolMetrics(engine, { registry })
      const pool = `pool="${backend.name === 'sqlite://' ? 'mem' : 'pg'}"`
      try {
        // Work: concurrent statements, then every connection held and one caller waiting.
        await Promise.all(Array.from({ length: 8 }, (_, i) => sql`SELECT ${i} AS i`.execute(engine.db)))
        // Held as other requests would hold them (a same-context waiter is refused on an in-memory engine).
        const held = []
        while (engine.pool.checkedOut() < backend.max) held.push(await inAnotherTask(() => engine.connect()))
        const waiting = engine.connect()
        await expect.poll(() => engine.pool.stats().waiting).toBe(1)

        let m = await scrape(endpoint.url)
        expect(m.get(`athanor_connections_active{${pool}}`)).toBe(backend.max)
        expect(m.get(`athanor_connections_idle{${pool}}`)).toBe(0)
        expect(m.get(`athanor_connections{${pool}}`)).toBe(engine.pool.stats().open)
        expect(m.get(`athanor_connections_pending{${pool}}`)).toBe(1)
        expect(m.get(`athanor_connections_max{${pool}}`)).toBe(backend.max)
        expect(m.get(`athanor_connections_min{${pool}}`)).toBe(0)
        expect(m.get(`athanor_connections_timeout_total{${pool}}`)).toBe(0)

        await expect(waiting).rejects.toBeInstanceOf(PoolTimeoutError)
        for (const c of held) await c.close()

        m = await scrape(endpoint.url)
        expect(m.get(`athanor_connections_timeout_total{${pool}}`)).toBe(1)
        expect(m.get(`athanor_connections_active{${pool}}`)).toBe(0)
        expect(m.get(`athanor_connections_pending{${pool}}`)).toBe(0)
        const checkouts = 8 + backend.max
        expect(m.get(`athanor_connections_acquire_seconds_count{${pool}}`)).toBe(checkouts)
        expect(m.get(`athanor_connections_usage_seconds_count{${pool}}`)).toBe(checkouts)
        expect(m.get(`athanor_connections_acquire_seconds_bucket{le="+Inf",${pool}}`)).toBe(checkouts)
        expect(m.get(`athanor_connections_creation_seconds_count{${pool}}`)).toBe(engine.pool.stats().created)
        expect(m.get(`athanor_connections_usage_seconds_sum{${pool}}`)).toBeGreaterThan(0)
      } finally {
        collector.stop()
      }
      // Stopped: the metrics are gone from the registry.
      const after = await scrape(endpoint.url)
      expect([...after.keys()].filter((k) => k.startsWith('athanor_'))).toEqual([])
    })

    it('takes a prefix (HikariCP names) and refuses the same pool twice in one registry', async () => {
      const collector = collectPoolMetrics(engine, { registry, prefix: 'hikaricp_', poolName: 'orders' })
      try {
        expect(() => collectPoolMetrics(engine, { registry, prefix: 'hikaricp_', poolName: 'orders' })).toThrow(EngineOptionError)
        const other = collectPoolMetrics(engine, { registry, prefix: 'hikaricp_', poolName: 'orders-replica' })
        const m = await scrape(endpoint.url)
        expect(m.has('hikaricp_connections_active{pool="orders"}')).toBe(true)
        expect(m.has('hikaricp_connections_active{pool="orders-replica"}')).toBe(true)
        other.stop()
        const after = await scrape(endpoint.url)
        expect(after.has('hikaricp_connections_active{pool="orders-replica"}')).toBe(false)
        expect(after.has('hikaricp_connections_active{pool="orders"}')).toBe(true)
      } finally {
        collector.stop()
      }
    })
  })
}
