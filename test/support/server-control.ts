/**
 * Server-side faults for the reliability scenarios: kill sessions, set short
 * idle limits, and restart a PRIVATE PostgreSQL instance.
 *
 * Other test files share the PostgreSQL on 5432 and the MariaDB on 3306, so
 * every helper here is scoped: PostgreSQL sessions are found by their own
 * `application_name`, MariaDB ones by connection id or by a MariaDB user of
 * the scenario's own; the shared servers are never stopped or restarted.
 *
 * ```ts
 * const killed = await terminatePg('reliab_ledger_pg')   // 3 sessions terminated
 * const pg15 = await startPrivatePostgres()
 * await pg15.restart({ downMs: 500 })
 * await pg15.remove()
 * ```
 */
import { execFile, spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import mysql from 'mysql2/promise'
import pg from 'pg'
import { mysqlConfig, pgConfig } from './servers.js'

const run = promisify(execFile)

/** The application_name of the control connection itself, so it never kills itself. */
const CONTROL_APP = 'athanor_server_control'

async function withPg<T>(fn: (c: pg.Client) => Promise<T>, config: pg.ClientConfig = pgConfig): Promise<T> {
  const c = new pg.Client({ ...config, application_name: CONTROL_APP })
  c.on('error', () => {})
  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.end().catch(() => {})
  }
}

async function withMysql<T>(fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const c = await mysql.createConnection(mysqlConfig)
  c.on('error', () => {})
  try {
    return await fn(c)
  } finally {
    await c.end().catch(() => {})
  }
}

/**
 * Terminates every PostgreSQL backend whose `application_name` is exactly
 * `applicationName` (at most `limit` of them, picked at random). Returns how
 * many were terminated.
 *
 * With `waitMs`, resolves only once each backend has exited (PostgreSQL 14+
 * `pg_terminate_backend(pid, timeout)`), so its client has been told by then:
 * what a test does next is ordered after the kill by progress, not by a sleep.
 * A backend that outlives `waitMs` is an error.
 *
 * ```ts
 * await terminatePg('reliab_ledger_pg', { limit: 2, waitMs: 10_000 })
 * ```
 */
export async function terminatePg(
  applicationName: string,
  options: { limit?: number; config?: pg.ClientConfig; waitMs?: number } = {},
): Promise<number> {
  if (!applicationName || applicationName === CONTROL_APP) throw new Error('terminatePg: a unique application_name is required')
  return withPg(async (c) => {
    // A backend that exits by itself meanwhile makes the waiting form warn and answer false: not killed by us.
    const r = await c.query<{ ok: boolean }>(
      `SELECT pg_terminate_backend(pid, $3::bigint) AS ok FROM (
         SELECT pid FROM pg_stat_activity
         WHERE application_name = $1 AND pid <> pg_backend_pid()
         ORDER BY random() LIMIT $2) t`,
      [applicationName, options.limit ?? 1_000_000, Math.max(0, Math.floor(options.waitMs ?? 0))],
    )
    return r.rows.filter((x) => x.ok).length
  }, options.config)
}

/**
 * Terminates one PostgreSQL backend by pid and waits (up to `waitMs`) until
 * it has exited. Returns whether it was terminated.
 *
 * ```ts
 * await terminatePgBackend(pid) // the backend is gone; its client gets the error next
 * ```
 */
export async function terminatePgBackend(pid: number, options: { waitMs?: number; config?: pg.ClientConfig } = {}): Promise<boolean> {
  return withPg(async (c) => {
    const r = await c.query<{ ok: boolean }>('SELECT pg_terminate_backend($1::int, $2::bigint) AS ok', [pid, options.waitMs ?? 10_000])
    return r.rows[0]?.ok === true
  }, options.config)
}

/**
 * How many PostgreSQL backends carry `applicationName` (in `state`, if given).
 *
 * ```ts
 * expect(await pgBackends('reliab_ledger_pg')).toBeLessThanOrEqual(5)
 * await expect.poll(() => pgBackends('shutdown', { state: 'active' })).toBe(2) // queries running
 * ```
 */
export async function pgBackends(
  applicationName: string,
  options: { config?: pg.ClientConfig; state?: 'active' | 'idle' | 'idle in transaction' } = {},
): Promise<number> {
  return withPg(async (c) => {
    const r = await c.query<{ n: string }>(
      'SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1 AND ($2::text IS NULL OR state = $2)',
      [applicationName, options.state ?? null],
    )
    return Number(r.rows[0].n)
  }, options.config)
}

/**
 * Kills MariaDB connections by id (`KILL CONNECTION id`); ids already gone
 * are ignored. Returns how many were killed. With `waitMs`, resolves only
 * once the server lists none of them any more (an error after `waitMs`).
 *
 * ```ts
 * await killMysql([conn.threadId], { waitMs: 10_000 })
 * ```
 */
export async function killMysql(ids: readonly number[], options: { waitMs?: number } = {}): Promise<number> {
  return withMysql(async (c) => {
    let n = 0
    for (const id of ids) {
      try {
        await c.query(`KILL CONNECTION ${Number(id)}`)
        n++
      } catch (e) {
        // ER_NO_SUCH_THREAD: it ended on its own meanwhile.
        if ((e as { errno?: number }).errno !== 1094) throw e
      }
    }
    if (options.waitMs !== undefined && ids.length > 0) {
      const deadline = Date.now() + options.waitMs
      while ((await mysqlIdsAlive(ids)) > 0) {
        if (Date.now() > deadline) throw new Error(`killMysql: connections ${ids.join(',')} still listed after ${options.waitMs} ms`)
        await new Promise((r) => setTimeout(r, 10))
      }
    }
    return n
  })
}

/**
 * How many of these PostgreSQL backend pids are still alive on the server.
 *
 * ```ts
 * await until(async () => (await pgPidsAlive(pids)) === 0) // the server has cut them
 * ```
 */
export async function pgPidsAlive(pids: readonly number[]): Promise<number> {
  if (pids.length === 0) return 0
  return withPg(async (c) => {
    const r = await c.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE pid = ANY($1::int[])', [pids.map(Number)])
    return Number(r.rows[0].n)
  })
}

/**
 * How many of these MariaDB connection ids are still listed by the server.
 *
 * ```ts
 * expect(await mysqlIdsAlive([conn.threadId])).toBe(0)
 * ```
 */
export async function mysqlIdsAlive(ids: readonly number[]): Promise<number> {
  if (ids.length === 0) return 0
  return withMysql(async (c) => {
    const [rows] = await c.query<mysql.RowDataPacket[]>(
      `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID IN (${ids.map(Number).join(',')})`,
    )
    return Number(rows[0].n)
  })
}

/**
 * Ids of the MariaDB connections logged in as `user` (a user of the scenario's own).
 *
 * ```ts
 * await killMysql(await mysqlConnectionIds('reliab_ledger'))
 * ```
 */
export async function mysqlConnectionIds(user: string): Promise<number[]> {
  return withMysql(async (c) => {
    const [rows] = await c.query<mysql.RowDataPacket[]>(
      'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ? AND ID <> CONNECTION_ID()',
      [user],
    )
    return rows.map((r) => Number(r.id))
  })
}

/**
 * Creates (or re-creates) a password-less MariaDB user with all rights on the
 * test database, so a scenario's connections can be told apart from every
 * other test file's. Returns a URL for it. Drop it with {@link dropMysqlUser}.
 *
 * ```ts
 * const url = await createMysqlUser('reliab_idle')
 * ```
 */
export async function createMysqlUser(user: string): Promise<string> {
  if (!/^[a-z0-9_]{1,32}$/.test(user)) throw new Error(`createMysqlUser: bad user name ${user}`)
  await withMysql(async (c) => {
    await c.query(`DROP USER IF EXISTS '${user}'@'%'`)
    await c.query(`CREATE USER '${user}'@'%'`)
    await c.query(`GRANT ALL PRIVILEGES ON \`${mysqlConfig.database}\`.* TO '${user}'@'%'`)
  })
  return `mysql://${user}@${mysqlConfig.host}:${mysqlConfig.port}/${mysqlConfig.database}`
}

/**
 * Drops a user made by {@link createMysqlUser}, killing its connections first.
 *
 * ```ts
 * await dropMysqlUser('reliab_idle')
 * ```
 */
export async function dropMysqlUser(user: string): Promise<void> {
  await killMysql(await mysqlConnectionIds(user))
  await withMysql(async (c) => {
    await c.query(`DROP USER IF EXISTS '${user}'@'%'`)
  })
}

/**
 * The statement that gives one MariaDB session a short idle limit: the
 * server closes it after `seconds` of silence ("server has gone away").
 *
 * ```ts
 * await mysqlConn.query(mysqlIdleLimitSql(2))
 * ```
 */
export function mysqlIdleLimitSql(seconds: number): string {
  return `SET SESSION wait_timeout = ${Math.max(1, Math.floor(seconds))}`
}

/**
 * The libpq `options` value that gives each PostgreSQL session an idle limit
 * (`idle_session_timeout`, PostgreSQL 14+): pass it as pg's `options`
 * connect argument or the URL's `options` parameter.
 *
 * ```ts
 * createEngine(PG_URL, { connectArgs: { options: pgIdleLimitOptions(2000) } })
 * ```
 */
export function pgIdleLimitOptions(ms: number): string {
  return `-c idle_session_timeout=${Math.max(1, Math.floor(ms))}`
}

/**
 * A free TCP port on 127.0.0.1 (asked from the kernel, then released).
 *
 * ```ts
 * const port = await freePort()
 * ```
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo
      s.close(() => resolve(port))
    })
  })
}

/** A PostgreSQL 15 cluster of a test's own, in a temporary directory: see {@link startPrivatePostgres}. */
export interface PrivatePostgres {
  readonly port: number
  readonly dir: string
  /** `postgresql://postgres@127.0.0.1:PORT/postgres` */
  readonly url: string
  readonly config: pg.ClientConfig
  /** Stops the server (`fast`: sessions get 57P01; `immediate`: no goodbye). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>
  start(): Promise<void>
  /** Stops, waits `downMs`, starts again. Resolves when it accepts connections. */
  restart(options?: { downMs?: number; mode?: 'fast' | 'immediate' }): Promise<void>
  /** Stops the server if running and deletes its directory. */
  remove(): Promise<void>
}

const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin'

/**
 * Whether {@link startPrivatePostgres} can work here: PostgreSQL's binaries in
 * `PG_BIN` (default /usr/lib/postgresql/15/bin), a `postgres` OS user, and
 * root to switch to it.
 *
 * ```ts
 * describe.skipIf(!privatePostgresAvailable)('restart', () => { ... })
 * ```
 */
export const privatePostgresAvailable: boolean =
  existsSync(path.join(PG_BIN, 'initdb')) &&
  process.getuid?.() === 0 &&
  spawnSync('id', ['-u', 'postgres']).status === 0

async function asPostgres(cmd: string, args: string[]): Promise<void> {
  // initdb and postgres refuse to run as root.
  await run('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, cmd), ...args], { timeout: 60_000 })
}

/**
 * initdb + start a private PostgreSQL on a free port (trust auth, unix socket
 * in its own directory). Takes a few seconds; `remove()` it at the end.
 * `maxConnections` (default 200) sets its `max_connections`.
 *
 * ```ts
 * const server = await startPrivatePostgres()
 * const engine = createEngine(server.url, { poolPrePing: true })
 * await server.restart({ downMs: 1000 })
 * ```
 */
export async function startPrivatePostgres(options: { maxConnections?: number } = {}): Promise<PrivatePostgres> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'athanor-pg-'))
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim())
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim())
  chownSync(dir, uid, gid)
  const data = path.join(dir, 'data')
  await asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'])
  let port = await freePort()
  let running = false

  const start = async (): Promise<void> => {
    const pgOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=${options.maxConnections ?? 200}`
    await asPostgres('pg_ctl', ['-D', data, '-o', pgOptions, '-l', path.join(dir, 'log'), 'start', '-w', '-t', '60'])
    running = true
  }
  const stop = async (mode: 'fast' | 'immediate' = 'fast'): Promise<void> => {
    await asPostgres('pg_ctl', ['-D', data, 'stop', '-m', mode, '-w', '-t', '60'])
    running = false
  }
  // The free port can be taken by another process between freePort() and the
  // server's bind (several suites run at once): try another one.
  for (let attempt = 1; ; attempt++) {
    try {
      await start()
      break
    } catch (e) {
      if (attempt >= 3) throw e
      port = await freePort()
    }
  }
  // If the test process dies before remove(), do not leave a server behind.
  const onExit = (): void => {
    if (!running) return
    spawnSync('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, 'pg_ctl'), '-D', data, 'stop', '-m', 'immediate'])
    rmSync(dir, { recursive: true, force: true })
  }
  process.once('exit', onExit)

  return {
    port,
    dir,
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    config: { host: '127.0.0.1', port, user: 'postgres', database: 'postgres' },
    stop,
    start,
    async restart(options = {}) {
      await stop(options.mode)
      if (options.downMs) await new Promise((r) => setTimeout(r, options.downMs))
      await start()
    },
    async remove() {
      process.off('exit', onExit)
      if (running) await stop('immediate').catch(() => {})
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
