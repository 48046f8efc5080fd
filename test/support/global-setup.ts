import { MYSQL, MYSQL_URL, PG, PG_URL, PGBOUNCER, PGBOUNCER_URL, REQUIRE_SERVERS, reachable } from './servers.js'

/** Says loudly, once per run, which server suites are skipped and why. */
export default async function setup(): Promise<void> {
  const missing: string[] = []
  if (!(await reachable(PG.host, PG.port))) missing.push(`PostgreSQL (${PG_URL})`)
  if (!(await reachable(MYSQL.host, MYSQL.port))) missing.push(`MariaDB/MySQL (${MYSQL_URL})`)
  if (!(await reachable(PGBOUNCER.host, PGBOUNCER.port))) missing.push(`PgBouncer (${PGBOUNCER_URL}; scripts/pgbouncer.sh start)`)
  if (missing.length === 0) return
  const line = '!'.repeat(78)
  if (REQUIRE_SERVERS) {
    console.error(`\n${line}\n!! REQUIRE_SERVERS=1 but not reachable: ${missing.join(', ')}\n!! Their suites will FAIL.\n${line}\n`)
  } else {
    console.warn(
      `\n${line}\n!! SKIPPING the server suites: not reachable: ${missing.join(', ')}\n` +
        `!! Set PG_URL / MYSQL_URL, or start the servers; REQUIRE_SERVERS=1 makes this a failure.\n${line}\n`,
    )
  }
}
