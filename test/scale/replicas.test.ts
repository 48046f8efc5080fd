/**
 * Read replicas with read-your-writes, for real: a private PostgreSQL 15
 * primary and a streaming replica (pg_basebackup -R) that applies WAL 300 ms
 * late. Write-then-read loops in concurrent scopes never read stale data;
 * without read-your-writes they do (the replica is really behind); reads that
 * follow no write go to the replica; a replica stopped mid-load is skipped
 * and reads fall back to the primary, with no error.
 */
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEngine, EngineOptionError, type RoutingEngine } from '../../src/engine/index.js'
import { sessionmaker } from '../../src/session/index.js'
import { library } from '../session/fixtures.js'
import { report, sleep } from '../support/reliability.js'
import { REQUIRE_SERVERS } from '../support/servers.js'
import { SLOW_SETUP_MS } from '../support/slow-setup.js'
import { replicaClusterAvailable, startReplicaCluster, type ReplicaCluster } from './replica-cluster.js'

const canRun = REQUIRE_SERVERS || replicaClusterAvailable
const APPLY_DELAY_MS = 300

interface DB {
  ryw_item: { id: number; loop: number; step: number }
}

describe.skipIf(!canRun)('read replicas (private primary + streaming replica, recovery_min_apply_delay 300ms)', () => {
  let cluster: ReplicaCluster | undefined
  let nextId = 1
  beforeAll(async () => {
    cluster = await startReplicaCluster({ applyDelayMs: APPLY_DELAY_MS })
    const admin = createEngine(cluster.primary.url)
    await sql`CREATE TABLE ryw_item (id integer PRIMARY KEY, loop integer NOT NULL, step integer NOT NULL)`.execute(admin.db)
    await admin.dispose()
    // The replica has the table once it has replayed its creation.
    const replica = createEngine(cluster.replica.url)
    for (let seen = false; !seen; ) {
      seen = (await sql<{ t: string | null }>`SELECT to_regclass('ryw_item')::text AS t`.execute(replica.db)).rows[0].t === 'ryw_item'
      if (!seen) await sleep(50)
    }
    await replica.dispose()
  }, SLOW_SETUP_MS)
  afterAll(async () => {
    await cluster?.remove()
  })

  const routing = (readYourWrites: 'wait' | 'primary' | 'off'): RoutingEngine<DB> =>
    createEngine<DB>(cluster!.primary.url, {
      poolSize: 6,
      maxOverflow: 6,
      replicas: [cluster!.replica.url],
      replicaRouting: { readYourWrites, maxWaitMs: 5_000, checkIntervalMs: 200, backoffMs: 100, maxBackoffMs: 1_000 },
    }) as RoutingEngine<DB>

  /** Loops of insert-then-read in concurrent scopes; returns how many reads missed their own row. */
  async function writeThenRead(engine: RoutingEngine<DB>, loops: number, steps: number, via: 'db' | 'connection'): Promise<number> {
    let stale = 0
    await Promise.all(
      Array.from({ length: loops }, (_, loop) =>
        engine.scope(async () => {
          for (let step = 0; step < steps; step++) {
            const id = nextId++
            if (via === 'db') await engine.db.insertInto('ryw_item').values({ id, loop, step }).execute()
            else await engine.begin((c) => c.db.insertInto('ryw_item').values({ id, loop, step }).execute())
            // A new connection (as a new Session's would be), or engine.db: either way a read after the write.
            const row =
              via === 'db'
                ? await engine.db.selectFrom('ryw_item').selectAll().where('id', '=', id).executeTakeFirst()
                : await engine.begin((c) => c.db.selectFrom('ryw_item').selectAll().where('id', '=', id).executeTakeFirst())
            if (row === undefined) stale++
          }
        }),
      ),
    )
    return stale
  }

  it('reads that follow no write go to the replica; writes go to the primary; engine.primary forces the primary', async () => {
    const engine = routing('wait')
    try {
      await expect.poll(() => engine.status().replicas[0].healthy).toBe(true)
      const readsBefore = engine.status().replicas[0].reads
      await engine.scope(async () => {
        for (let i = 0; i < 20; i++) await sql`SELECT 1`.execute(engine.db)
        await engine.db.selectFrom('ryw_item').selectAll().execute()
      })
      // The replica says it is one: pg_is_in_recovery() is true where the reads went.
      const where = await engine.scope(async () => (await sql<{ r: boolean }>`SELECT pg_is_in_recovery() AS r`.execute(engine.db)).rows[0].r)
      expect(where).toBe(true)
      const forced = (await sql<{ r: boolean }>`SELECT pg_is_in_recovery() AS r`.execute(engine.primary.db)).rows[0].r
      expect(forced).toBe(false)
      const s = engine.status()
      expect(s.replicas[0].reads - readsBefore).toBe(22)
      expect(s.primaryReads).toBe(0)
      // A write inside a transaction, and everything after it, runs on the primary.
      const inTx = await engine.begin(async (c) => {
        const before = (await sql<{ r: boolean }>`SELECT pg_is_in_recovery() AS r`.execute(c.db)).rows[0].r
        await c.db.insertInto('ryw_item').values({ id: nextId++, loop: -1, step: 0 }).execute()
        const after = (await sql<{ r: boolean }>`SELECT pg_is_in_recovery() AS r`.execute(c.db)).rows[0].r
        return { before, after }
      })
      expect(inTx).toEqual({ before: true, after: false })
      // db.transaction() is the primary's from the start.
      const tx = await engine.db.transaction().execute(async (trx) => (await sql<{ r: boolean }>`SELECT pg_is_in_recovery() AS r`.execute(trx)).rows[0].r)
      expect(tx).toBe(false)
      expect(engine.status().writes).toBeGreaterThanOrEqual(2)
    } finally {
      await engine.dispose()
    }
  })

  it('read-your-writes: concurrent write-then-read loops never read stale data (engine.db and connections)', async () => {
    const engine = routing('wait')
    try {
      await expect.poll(() => engine.status().replicas[0].healthy).toBe(true)
      // Readers that follow no write run alongside, in their own scopes: they go to the replica.
      let readerReads = 0
      let stop = false
      const readsBefore = engine.status().replicas[0].reads
      const readers = Array.from({ length: 2 }, () =>
        engine.scope(async () => {
          while (!stop) {
            await engine.db.selectFrom('ryw_item').select('id').limit(1).execute()
            readerReads++
          }
        }),
      )
      const staleDb = await writeThenRead(engine, 6, 4, 'db')
      const staleConn = await writeThenRead(engine, 6, 3, 'connection')
      stop = true
      await Promise.all(readers)
      expect(staleDb).toBe(0)
      expect(staleConn).toBe(0)
      const s = engine.status()
      // Every reader's read, and the writers' reads once the replica caught up, went to the replica.
      expect(s.replicas[0].reads - readsBefore).toBeGreaterThanOrEqual(readerReads)
      expect(readerReads).toBeGreaterThan(0)
      report('replicas-read-your-writes', { loops: 12, staleReads: staleDb + staleConn, readerReplicaReads: readerReads, primaryReads: s.primaryReads, replicaReads: s.replicas[0].reads, behind: s.replicas[0].behind })
    } finally {
      await engine.dispose()
    }
  })

  it("without read-your-writes the replica's delay shows as stale reads; 'primary' reads them from the primary", async () => {
    const off = routing('off')
    const primaryMode = routing('primary')
    try {
      await expect.poll(() => off.status().replicas[0].healthy).toBe(true)
      await expect.poll(() => primaryMode.status().replicas[0].healthy).toBe(true)
      const stale = await writeThenRead(off, 4, 3, 'db')
      expect(stale).toBeGreaterThan(0)
      const staleWithPrimary = await writeThenRead(primaryMode, 4, 3, 'db')
      expect(staleWithPrimary).toBe(0)
      expect(primaryMode.status().primaryReads).toBeGreaterThan(0)
      report('replicas-stale-without-ryw', { reads: 12, staleWithout: stale, staleWithPrimaryMode: staleWithPrimary })
    } finally {
      await off.dispose()
      await primaryMode.dispose()
    }
  })

  it('a replica stopped mid-load is skipped: reads fall back to the primary with no error, and come back after', async () => {
    const engine = routing('wait')
    try {
      await expect.poll(() => engine.status().replicas[0].healthy).toBe(true)
      const errors: unknown[] = []
      let reads = 0
      let stop = false
      let slowest = 0
      let tStop = Infinity
      let slowestAfterStop = 0
      const readers = Array.from({ length: 8 }, () =>
        engine.scope(async () => {
          while (!stop) {
            const t = performance.now()
            try {
              await engine.db.selectFrom('ryw_item').select('id').limit(1).execute()
              reads++
            } catch (error) {
              errors.push(error)
            }
            const took = performance.now() - t
            if (took > slowest) slowest = took
            if (t >= tStop - took && took > slowestAfterStop) slowestAfterStop = took
          }
        }),
      )
      await expect.poll(() => reads >= 100).toBe(true)
      tStop = performance.now()
      await cluster!.replica.stop('fast')
      const primaryBefore = engine.status().primaryReads
      await expect.poll(() => engine.status().primaryReads > primaryBefore + 100).toBe(true)
      const firstFallbackMs = performance.now() - tStop
      expect(engine.status().replicas[0].healthy).toBe(false)
      expect(engine.status().replicas[0].failures).toBeGreaterThan(0)
      await cluster!.replica.start()
      const replicaBefore = engine.status().replicas[0].reads
      await expect.poll(() => engine.status().replicas[0].reads > replicaBefore + 50, { timeout: 60_000 }).toBe(true)
      stop = true
      await Promise.all(readers)
      expect(errors).toEqual([])
      report('replicas-fallback', { reads, slowestReadMs: Math.round(slowest), slowestReadAroundStopMs: Math.round(slowestAfterStop), hundredFallbackReadsWithinMs: Math.round(firstFallbackMs) })
    } finally {
      await engine.dispose()
    }
  })

  it('a Session reads from the replica until it writes; after its commit, its next reads see the write', async () => {
    const { metadata, Author } = library('ryw_s')
    const admin = createEngine(cluster!.primary.url)
    await metadata.createAll(admin)
    await admin.dispose()
    const engine = createEngine(cluster!.primary.url, {
      replicas: [cluster!.replica.url],
      replicaRouting: { maxWaitMs: 5_000, checkIntervalMs: 200 },
    }) as RoutingEngine<unknown>
    const Session = sessionmaker({ bind: engine })
    try {
      await expect.poll(() => engine.status().replicas[0].healthy).toBe(true)
      // The replica has the tables once it has replayed their creation.
      await expect.poll(async () => (await sql<{ t: string | null }>`SELECT to_regclass('ryw_s_author')::text AS t`.execute(engine.replicas[0].db)).rows[0].t).toBe('ryw_s_author')
      let stale = 0
      await Promise.all(
        Array.from({ length: 4 }, (_, loop) =>
          engine.scope(async () => {
            for (let step = 0; step < 3; step++) {
              const writer = Session()
              const author = new Author({ name: `loop ${loop} step ${step}` })
              writer.add(author)
              await writer.commit()
              const id = author.id
              await writer.close()
              const reader = Session()
              const found = await reader.get(Author, id)
              if (found === undefined || found === null) stale++
              await reader.close()
            }
          }),
        ),
      )
      expect(stale).toBe(0)
      // A session that only reads stays on the replica.
      const before = engine.status().replicas[0].reads
      await engine.scope(async () => {
        const reader = Session()
        await reader.get(Author, 1)
        await reader.close()
      })
      expect(engine.status().replicas[0].reads).toBeGreaterThan(before)
    } finally {
      await engine.dispose()
    }
  })
})

describe('replica options', () => {
  it('refuses replicas for a dialect without WAL positions, and bad routing options', () => {
    expect(() => createEngine('sqlite://', { replicas: ['sqlite://'] })).toThrow(EngineOptionError)
    expect(() => createEngine('sqlite://', { replicas: 'x' as never })).toThrow(/replicas/)
    expect(() => createEngine('sqlite://', { replicaRouting: { readYourWrites: 'maybe' as 'off' } })).toThrow(/readYourWrites/)
    expect(() => createEngine('sqlite://', { replicaRouting: { maxWaitMs: -1 } })).toThrow(/maxWaitMs/)
  })
})
