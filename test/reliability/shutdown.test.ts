/**
 * Scenario 6, graceful shutdown: `dispose()` with queries in flight finishes
 * them, rejects waiters with a typed error, closes everything within its
 * deadline, and a process that disposes its engine exits by itself.
 */
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/index.js'
import { AthanorError, PoolDisposedError } from '../../src/pool/index.js'
import { probeLateness } from '../support/lateness.js'
import { describeError, now, report, scoped, sleep, watchProcessFailures, withAppName } from '../support/reliability.js'
import { pgBackends } from '../support/server-control.js'
import { PG_URL, pgConfig, runPg } from '../support/servers.js'

/**
 * A PostgreSQL advisory lock held by the test: statements that take it stay
 * in flight until the test releases it (not for a fixed time), so "still
 * running when dispose() is called" holds however slow the machine is.
 */
async function holdLock(): Promise<{ key: number; release(): Promise<void> }> {
  const key = 8_000_000 + (process.pid % 1_000_000)
  const c = new pg.Client(pgConfig)
  c.on('error', () => {})
  await c.connect()
  await c.query('SELECT pg_advisory_lock($1)', [key])
  return {
    key,
    async release() {
      await c.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => {})
      await c.end().catch(() => {})
    },
  }
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T; at: number } | { ok: false; error: unknown; at: number }> {
  return p.then(
    (value) => ({ ok: true as const, value, at: now() }),
    (error: unknown) => ({ ok: false as const, error, at: now() }),
  )
}

describe.skipIf(!runPg)('scenario 6: graceful shutdown (PostgreSQL)', () => {
  it('dispose() finishes in-flight queries, rejects waiters with PoolDisposedError, closes every connection', async () => {
    const crashes = watchProcessFailures()
    const APP = scoped('shutdown_test_graceful')
    const engine = createEngine<unknown>(withAppName(PG_URL, APP), { poolSize: 2, maxOverflow: 0, poolTimeout: 10_000 })
    // Both statements wait for the test's lock: in flight until it is released.
    const lock = await holdLock()
    const inFlight = [1, 2].map((n) =>
      settle(sql<{ n: number }>`select ${n}::int as n from (select pg_advisory_xact_lock_shared(${lock.key}::bigint)) l`.execute(engine.db)),
    )
    // Wait until both statements really run on the server (not merely their connections opening).
    await expect.poll(() => pgBackends(APP, { state: 'active' }), { interval: 10 }).toBe(2)
    const waiters = [3, 4, 5].map((n) => settle(sql`select ${n}::int as n`.execute(engine.db)))
    await expect.poll(() => engine.pool.stats().waiting, { interval: 5 }).toBe(3)

    const t0 = now()
    const disposed = settle(engine.dispose({ timeout: 30_000 }))
    // Waiters are told at once, with a typed error; nobody waits for poolTimeout
    // (10 s), nor for the statements in flight, which wait for the lock until
    // the waiters are settled (or 5 s have passed, so a pool that keeps them
    // waiting fails below instead of hanging).
    const allWaiters = Promise.all(waiters)
    await Promise.race([allWaiters, sleep(5_000)])
    await lock.release()
    const w = await allWaiters
    for (const r of w) {
      expect(r.ok).toBe(false)
      if (!r.ok) {
        expect(r.error, describeError(r.error)).toBeInstanceOf(PoolDisposedError)
        expect((r.error as AthanorError).code).toBe('POOL_DISPOSED')
      }
    }
    const waitersRejectedMs = Math.max(...w.map((r) => r.at)) - t0
    // In-flight queries complete with their results, after the waiters were already told.
    const f = await Promise.all(inFlight)
    expect(Math.max(...w.map((r) => r.at))).toBeLessThan(Math.min(...f.map((r) => r.at)))
    expect(f.map((r) => (r.ok ? (r.value as { rows: { n: number }[] }).rows[0].n : describeError(r.error)))).toEqual([1, 2])
    const d = await disposed
    expect(d.ok).toBe(true)
    const disposeMs = d.at - t0
    // dispose() resolves only after the in-flight work returned its connections.
    expect(d.at).toBeGreaterThanOrEqual(Math.max(...f.map((r) => r.at)))
    expect(engine.pool.stats().open).toBe(0)
    await expect.poll(() => pgBackends(APP)).toBe(0)
    // After dispose, a checkout is refused with the same typed error.
    await expect(engine.connect()).rejects.toBeInstanceOf(PoolDisposedError)
    expect(crashes.stop()).toEqual([])
    report('shutdown-graceful', { inFlight: 2, waitersRejected: 3, waitersRejectedMs, disposeMs })
  })

  it('dispose({ timeout }) force-closes a connection still held at the deadline', async () => {
    const crashes = watchProcessFailures()
    const APP = scoped('shutdown_test_deadline')
    const engine = createEngine<unknown>(withAppName(PG_URL, APP), { poolSize: 1, maxOverflow: 0 })
    // Stuck until the test releases its lock: still running at the deadline, however slow the machine.
    const lock = await holdLock()
    try {
      const stuck = settle(sql`select pg_advisory_xact_lock_shared(${lock.key}::bigint)`.execute(engine.db))
      await expect.poll(() => pgBackends(APP, { state: 'active' }), { interval: 10 }).toBe(1)
      const DEADLINE = 300
      const loop = probeLateness()
      const t0 = now()
      await engine.dispose({ timeout: DEADLINE })
      const disposeMs = now() - t0
      // The deadline timer may fire late by what the event loop alone was late (measured over the same window).
      const lateness = loop.stop()
      expect(disposeMs).toBeGreaterThanOrEqual(DEADLINE - 1)
      expect(disposeMs).toBeLessThan(DEADLINE + 200 + lateness.allowanceMs)
      expect(engine.pool.stats().open).toBe(0)
      // The stuck query ends with a typed error, not a hang and not a crash.
      const r = await stuck
      expect(r.ok).toBe(false)
      if (!r.ok) expect(r.error, describeError(r.error)).toBeInstanceOf(AthanorError)
      expect(crashes.stop()).toEqual([])
      report('shutdown-deadline', { deadlineMs: DEADLINE, disposeMs, loopLateMaxMs: lateness.maxMs })
    } finally {
      await lock.release()
    }
  })

  it('a process that disposes its engine exits by itself', async () => {
    const APP = scoped('shutdown_test_child')
    const t0 = now()
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/shutdown-child.ts'], {
      cwd: ROOT,
      env: { ...process.env, ATHANOR_CHILD_APP: APP },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (b: Buffer) => (out += b.toString()))
    child.stderr.on('data', (b: Buffer) => (out += b.toString()))
    let killed = false
    // A hang guard, not a speed bound: starting tsx takes 1-3 s, over 10 s on a loaded machine.
    const guard = setTimeout(() => {
      killed = true
      child.kill('SIGKILL')
    }, 60_000)
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
    clearTimeout(guard)
    const exitMs = now() - t0
    expect(killed, `the child did not exit by itself:\n${out}`).toBe(false)
    expect(code, out).toBe(0)
    const line = /athanor-child: done (.*)/.exec(out)
    expect(line, out).not.toBeNull()
    expect(JSON.parse(line![1])).toEqual({ queries: 10, inFlight: 42, open: 0 })
    await expect.poll(() => pgBackends(APP)).toBe(0)
    report('shutdown-child', { exitedByItself: true, exitMs })
  }, 90_000)
})
