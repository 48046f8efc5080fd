/**
 * Settings shared by every benchmark, read once from the environment.
 *
 * `BENCH_QUICK=1` runs fewer and shorter rounds (for development on a busy
 * machine); the published figures come from a full run on a quiet one.
 *
 * ```ts
 * import { QUICK, PG_URL, pgReachable } from './support/config.js'
 * if (await pgReachable()) ...
 * ```
 */
import { MYSQL, MYSQL_URL as TEST_MYSQL_URL, PG, PG_URL as TEST_PG_URL, reachable } from '../../test/support/servers.js'

export const QUICK = process.env.BENCH_QUICK === '1'

/** PostgreSQL the benchmarks run on (PG_URL, as for the tests). */
export const PG_URL = TEST_PG_URL

/** MariaDB / MySQL the benchmarks run on (MYSQL_URL, as for the tests). */
export const MYSQL_URL = TEST_MYSQL_URL

export { mysqlConfig, pgConfig } from '../../test/support/servers.js'

/** Whether host:port accepts connections, trying a few times so a busy machine or a restarting server is not taken for a missing one. */
async function reachableWithRetry(host: string, port: number): Promise<boolean> {
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await reachable(host, port, 2000)) return true
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
  return false
}

/** True when PostgreSQL at PG_URL accepts connections. */
export const pgReachable = () => reachableWithRetry(PG.host, PG.port)

/** True when MariaDB/MySQL at MYSQL_URL accepts connections. */
export const mysqlReachable = () => reachableWithRetry(MYSQL.host, MYSQL.port)
