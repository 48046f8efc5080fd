/**
 * One benchmark run at a time per server: two runs at once would share table
 * names (and spoil each other's timings). A session-level advisory lock is
 * taken before the tables are touched and released at the end; a second run
 * says it is waiting and waits.
 *
 * ```ts
 * await withPgBenchLock(client, 'uow', async () => { ... })
 * ```
 */
import type pg from 'pg'

/** Runs `fn` holding PostgreSQL advisory lock `athanor-bench-<name>` on `client`'s session. */
export async function withPgBenchLock<T>(client: pg.Client | pg.PoolClient, name: string, fn: () => Promise<T>): Promise<T> {
  const key = `athanor-bench-${name}`
  const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [key])
  if (!rows[0].ok) {
    console.log(`  another '${name}' benchmark run holds the PostgreSQL lock ${key}: waiting for it to finish`)
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [key])
  }
  try {
    return await fn()
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [key]).catch(() => undefined)
  }
}

/** The part of a mysql2 promise connection this needs. */
export interface MysqlQueryable {
  query(sql: string, values?: unknown[]): Promise<unknown>
}

/** Runs `fn` holding MariaDB/MySQL named lock `athanor-bench-<name>` on `connection`. */
export async function withMysqlBenchLock<T>(connection: MysqlQueryable, name: string, fn: () => Promise<T>): Promise<T> {
  const key = `athanor-bench-${name}`
  const [rows] = (await connection.query('SELECT GET_LOCK(?, 0) AS ok', [key])) as [{ ok: number }[]]
  if (Number(rows[0].ok) !== 1) {
    console.log(`  another '${name}' benchmark run holds the MariaDB lock ${key}: waiting for it to finish`)
    await connection.query('SELECT GET_LOCK(?, -1)', [key])
  }
  try {
    return await fn()
  } finally {
    await connection.query('SELECT RELEASE_LOCK(?)', [key]).catch(() => undefined)
  }
}
