/**
 * Scenario 6, graceful shutdown: `dispose()` with queries in flight finishes
 * them, rejects waiters with a typed error, closes everything within its
 * deadline, and a process that disposes its engine exits by itself.
 */
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/index.js'
import { AthanorError, PoolDisposedError } from '../../src/pool/index.js'
import { describeError, now, report, scoped, watchProcessFailures, withAppName } from '../support/reliability.js'
import { pgBackends } from '../support/server-control.js'
import { PG_URL, runPg } from '../support/servers.js'

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
    const inFlight = [1, 2].map((n) => settle(sql<{ n: number }>`select ${n}::int as n from pg_sleep(0.6)`.execute(engine.db)))
    // Wait until both statements really run on the server (not merely their connections opening).
    await expect.poll(() => pgBackends(APP, { state: 'active' }), { interval: 10 }).toBe(2)
    const waiters = [3, 4, 5].map((n) => settle(sql`select ${n}::int as n`.execute(engine.db)))
    await expect.poll(() => engine.pool.stats().waiting, { interval: 5 }).toBe(3)

    const t0 = now()
    const disposed = settle(engine.dispose({ timeout: 5_000 }))
    // Waiters are told at once, with a typed error; nobody waits for poolTimeout.
    const w = await Promise.all(waiters)
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
    await expect.poll(() => pgBackends(APP), { timeout: 2000 }).toBe(0)
    // After dispose, a checkout is refused with the same typed error.
    await expect(engine.connect()).rejects.toBeInstanceOf(PoolDisposedError)
    expect(crashes.stop()).toEqual([])
    report('shutdown-graceful', { inFlight: 2, waitersRejected: 3, waitersRejectedMs, disposeMs })
  })

  it('dispose({ timeout }) force-closes a connection still held at the deadline', async () => {
    const crashes = watchProcessFailures()
    const APP = scoped('shutdown_test_deadline')
    const engine = createEngine<unknown>(withAppName(PG_URL, APP), { poolSize: 1, maxOverflow: 0 })
    const stuck = settle(sql`select pg_sleep(3)`.execute(engine.db))
    await expect.poll(() => pgBackends(APP, { state: 'active' }), { interval: 10 }).toBe(1)
    const DEADLINE = 300
    const t0 = now()
    await engine.dispose({ timeout: DEADLINE })
    const disposeMs = now() - t0
    expect(disposeMs).toBeGreaterThanOrEqual(DEADLINE - 1)
    expect(disposeMs).toBeLessThan(DEADLINE + 200)
    expect(engine.pool.stats().open).toBe(0)
    // The stuck query ends with a typed error, not a hang and not a crash.
    const r = await stuck
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error, describeError(r.error)).toBeInstanceOf(AthanorError)
    expect(crashes.stop()).toEqual([])
    report('shutdown-deadline', { deadlineMs: DEADLINE, disposeMs })
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
    const guard = setTimeout(() => {
      killed = true
      child.kill('SIGKILL')
    }, 20_000)
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
    clearTimeout(guard)
    const exitMs = now() - t0
    expect(killed, `the child did not exit by itself:\n${out}`).toBe(false)
    expect(code, out).toBe(0)
    const line = /athanor-child: done (.*)/.exec(out)
    expect(line, out).not.toBeNull()
    expect(JSON.parse(line![1])).toEqual({ queries: 10, inFlight: 42, open: 0 })
    await expect.poll(() => pgBackends(APP), { timeout: 2000 }).toBe(0)
    report('shutdown-child', { exitedByItself: true, exitMs })
  }, 30_000)
})
