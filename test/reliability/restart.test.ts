/**
 * Scenario 1, server restart under load: 64 workers on a pool of 10 + 10
 * overflow against a PRIVATE PostgreSQL (the shared one is never restarted).
 * No crash and no unhandled rejection; errors only while the server is down,
 * each a typed athanor error; once it is back, with `poolPrePing`, every
 * request succeeds, each within one second.
 */
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/index.js'
import { AthanorError } from '../../src/pool/index.js'
import { countBy, describeError, now, report, sleep, watchProcessFailures, withAppName } from '../support/reliability.js'
import { privatePostgresAvailable, startPrivatePostgres, type PrivatePostgres } from '../support/server-control.js'
import { REQUIRE_SERVERS } from '../support/servers.js'

/** Needs PostgreSQL's binaries (a private server is started); REQUIRE_SERVERS=1 makes their absence a failure. */
const canRestart = REQUIRE_SERVERS || privatePostgresAvailable

const WORKERS = 64
const DOWN_MS = 700
const AFTER_MS = 1500

interface Request {
  readonly start: number
  readonly end: number
  readonly error?: unknown
}

describe.skipIf(!canRestart)('scenario 1: server restart under load (private PostgreSQL 15)', () => {
  let server: PrivatePostgres | undefined
  beforeAll(async () => {
    server = await startPrivatePostgres()
  }, 60_000)
  afterAll(async () => {
    await server?.remove()
  })

  const restartUnderLoad = async (mode: 'fast' | 'immediate'): Promise<void> => {
    const crashes = watchProcessFailures()
    const engine = createEngine<unknown>(withAppName(server!.url, `restart_test_${mode}`), {
      poolSize: 10,
      maxOverflow: 10,
      poolPrePing: true,
      poolTimeout: 2000,
      connectTimeout: 1000,
      // A dead server is retried soon after it comes back, but not hammered.
      connectBackoff: 50,
      connectBackoffMax: 250,
    })
    const db = engine.db
    const requests: Request[] = []
    let running = true
    const worker = async (): Promise<void> => {
      while (running) {
        const start = now()
        try {
          await sql`select 1`.execute(db)
          requests.push({ start, end: now() })
          await sleep(2)
        } catch (error) {
          requests.push({ start, end: now(), error })
          // A client that backs off a little after an error, as real ones do.
          await sleep(20)
        }
      }
    }
    const workers = Array.from({ length: WORKERS }, () => worker())

    await sleep(500)
    const tDown = now()
    await server!.stop(mode)
    await sleep(DOWN_MS)
    await server!.start()
    const tUp = now()
    await sleep(AFTER_MS)
    running = false
    await Promise.all(workers)

    const failed = requests.filter((r) => r.error !== undefined)
    const untyped = failed.filter((r) => !(r.error instanceof AthanorError)).map((r) => describeError(r.error))
    expect(untyped).toEqual([])
    // The outage was real...
    expect(failed.length).toBeGreaterThan(0)
    // ...and errors happened only while the server was down: each request that
    // failed was under way at some moment between the stop and the start.
    const outside = failed.filter((r) => !(r.start < tUp && r.end > tDown))
    expect(outside.map((r) => `${(r.start - tDown).toFixed(0)}..${(r.end - tDown).toFixed(0)} ms: ${describeError(r.error)}`)).toEqual([])
    const before = requests.filter((r) => r.end <= tDown)
    expect(before.length).toBeGreaterThan(WORKERS)
    // After the restart every request succeeds, each within 1 s.
    const after = requests.filter((r) => r.start >= tUp)
    expect(after.length).toBeGreaterThan(WORKERS)
    expect(after.filter((r) => r.error !== undefined).map((r) => describeError(r.error))).toEqual([])
    const slowest = Math.max(...after.map((r) => r.end - r.start))
    expect(slowest).toBeLessThan(1000)
    const firstOk = Math.min(...requests.filter((r) => r.error === undefined && r.end >= tUp).map((r) => r.end))
    // The pool is sane after the storm. checkedOut() counts opens still under
    // way (as SQLAlchemy's does): one started for a caller that gave up during
    // the outage may finish just after the last worker, so wait for it.
    await expect.poll(() => engine.pool.checkedOut(), { timeout: 5_000 }).toBe(0)
    expect(engine.pool.checkedIn()).toBeLessThanOrEqual(10)

    expect(crashes.stop()).toEqual([])
    report(`restart-${mode}`, {
      workers: WORKERS,
      downMs: tUp - tDown,
      requests: requests.length,
      outageErrors: failed.length,
      errors: JSON.stringify(countBy(failed, (r) => (r.error as AthanorError).code)),
      firstSuccessAfterUpMs: firstOk - tUp,
      slowestAfterUpMs: slowest,
    })
    await engine.dispose({ timeout: 1000 })
  }

  it('shutdown (fast: sessions are told): no crash, typed errors only while down, every request after restart succeeds within 1 s', async () => {
    await restartUnderLoad('fast')
  }, 30_000)

  it('crash (immediate: no goodbye): no crash, typed errors only while down, every request after restart succeeds within 1 s', async () => {
    await restartUnderLoad('immediate')
  }, 30_000)
})
