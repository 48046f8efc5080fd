/**
 * Where the real servers are, and whether a suite may run against them.
 *
 * URLs come from the environment (PG_URL, MYSQL_URL) with the local defaults.
 * Without REQUIRE_SERVERS=1 a suite whose server is down is skipped (and the
 * global setup says so loudly); with it, the suite fails.
 */
import net from 'node:net'

export const PG_URL = process.env.PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/test'
export const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test'
export const REQUIRE_SERVERS = process.env.REQUIRE_SERVERS === '1'
/** PgBouncer (pool_mode = transaction) in front of PostgreSQL: scripts/pgbouncer.sh starts it. */
export const PGBOUNCER_URL = process.env.PGBOUNCER_URL ?? 'postgresql://postgres@127.0.0.1:6432/test'

function hostPort(url: string, defaultPort: number): { host: string; port: number } {
  const u = new URL(url.replace(/^[a-z0-9+]+:/, 'http:'))
  return { host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1', port: Number(u.port || defaultPort) }
}

export const PG = hostPort(PG_URL, 5432)
export const MYSQL = hostPort(MYSQL_URL, 3306)
export const PGBOUNCER = hostPort(PGBOUNCER_URL, 6432)

/** Connection settings for using pg / mysql2 directly in tests. */
export const pgConfig = {
  host: PG.host,
  port: PG.port,
  user: new URL(PG_URL.replace(/^[a-z0-9+]+:/, 'http:')).username || 'postgres',
  database: new URL(PG_URL.replace(/^[a-z0-9+]+:/, 'http:')).pathname.slice(1) || 'test',
}
export const mysqlConfig = {
  host: MYSQL.host,
  port: MYSQL.port,
  user: new URL(MYSQL_URL.replace(/^[a-z0-9+]+:/, 'http:')).username || 'root',
  database: new URL(MYSQL_URL.replace(/^[a-z0-9+]+:/, 'http:')).pathname.slice(1) || 'test',
}

/** True when something accepts TCP connections at host:port within 1 s. */
export function reachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

export const pgUp = await reachable(PG.host, PG.port)
export const mysqlUp = await reachable(MYSQL.host, MYSQL.port)
export const pgbouncerUp = await reachable(PGBOUNCER.host, PGBOUNCER.port)

/**
 * `describe.skipIf(!runPg)` for PostgreSQL suites. With REQUIRE_SERVERS=1 this
 * is always true, so a missing server fails the suite instead of skipping it.
 */
export const runPg = REQUIRE_SERVERS || pgUp
export const runMysql = REQUIRE_SERVERS || mysqlUp
/** `describe.skipIf(!runPgbouncer)` for suites through PgBouncer; REQUIRE_SERVERS=1 makes a missing one fail. */
export const runPgbouncer = REQUIRE_SERVERS || pgbouncerUp

/**
 * `url` with `?pgbouncer=<mode>` added (or `&`): the engine then knows the pooler is there.
 *
 * ```ts
 * withPooler(PGBOUNCER_URL, 'transaction') // 'postgresql://postgres@127.0.0.1:6432/test?pgbouncer=transaction'
 * ```
 */
export function withPooler(url: string, mode: 'transaction' | 'session'): string {
  return `${url}${url.includes('?') ? '&' : '?'}pgbouncer=${mode}`
}
