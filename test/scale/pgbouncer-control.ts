/**
 * Private PgBouncer instances for tests (scripts/pgbouncer.sh on a free
 * port), in front of the PostgreSQL of PG_URL, on its database.
 *
 * ```ts
 * const bouncer = await startPgbouncer('session')
 * const engine = createEngine(bouncer.url)
 * await bouncer.stop()
 * ```
 */
import { execFile } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { freePort } from '../support/server-control.js'
import { PG_URL } from '../support/servers.js'

const run = promisify(execFile)
const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../scripts/pgbouncer.sh')

export interface PgbouncerInstance {
  readonly port: number
  /** `postgresql://postgres@127.0.0.1:<port>/<PG_URL's database>` (no `?pgbouncer=`). */
  readonly url: string
  /** Stops the daemon (its clients' connections drop). */
  stop(): Promise<void>
  /** Starts it again on the same port, same mode. */
  start(): Promise<void>
}

export async function startPgbouncer(mode: 'transaction' | 'session', poolSize = 20): Promise<PgbouncerInstance> {
  const port = await freePort()
  const env = { ...process.env, PGBOUNCER_PORT: String(port), PGBOUNCER_POOL_MODE: mode, PGBOUNCER_POOL_SIZE: String(poolSize), PG_URL }
  const database = new URL(PG_URL.replace(/^[a-z0-9+]+:/, 'http:')).pathname.slice(1) || 'test'
  const instance: PgbouncerInstance = {
    port,
    url: `postgresql://postgres@127.0.0.1:${port}/${database}`,
    stop: async () => void (await run('bash', [SCRIPT, 'stop'], { env })),
    start: async () => void (await run('bash', [SCRIPT, 'start'], { env })),
  }
  await instance.start()
  return instance
}
