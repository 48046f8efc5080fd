/**
 * Drives two transactions on a MySQL/MariaDB table with rows 1 and 2 into a
 * real InnoDB deadlock: each locks one row, then wants the other's. The
 * server rolls one back (errno 1213), the victim. Each side's session gets a
 * short lock wait timeout: give them connections that are not reused (a
 * `poolClass: 'null'` engine, or sessions on one).
 */
import type mysql from 'mysql2/promise'
import { expect } from 'vitest'

/** One side: runs SQL in its transaction, and ends its block (commit). */
export interface DeadlockSide {
  run(text: string): Promise<unknown>
  finish(): Promise<unknown>
}

/** Waits (by progress, not time) until a transaction on `table` waits for a row lock, or `settled` says the waiter is done. */
async function someoneWaits(admin: mysql.Connection, table: string, settled: () => boolean): Promise<void> {
  // INNODB_TRX names each transaction's state and running statement on every MariaDB and MySQL
  // version (INNODB_LOCK_WAITS is gone from MySQL 8 and reports waits only while it can see the lock).
  const query = "SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT' AND trx_query LIKE ?"
  for (let i = 0; i < 10_000 && !settled(); i++) {
    const [rows] = await admin.query(query, [`%${table}%`])
    if (Number((rows as { n: number }[])[0].n) > 0) return
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  if (!settled()) throw new Error('no transaction ever waited for a lock')
}

/** `UPDATE table SET <set>` on row 1 then 2 (a) and 2 then 1 (b); returns who was rolled back. */
export async function deadlock<S extends DeadlockSide>(
  admin: mysql.Connection,
  table: string,
  set: string,
  a: S,
  b: S,
): Promise<{ victim: S; survivor: S; error: unknown }> {
  const bump = (id: number) => `UPDATE ${table} SET ${set} WHERE id = ${id}`
  // A wait that is not this deadlock ends soon with 1205 (and fails the test) instead of hanging it.
  for (const side of [a, b]) await side.run('SET SESSION innodb_lock_wait_timeout = 10')
  await a.run(bump(1))
  await b.run(bump(2))
  let firstSettled = false
  const first = a.run(bump(2))
  first.then(
    () => (firstSettled = true),
    () => (firstSettled = true),
  )
  await someoneWaits(admin, table, () => firstSettled)
  const second = b.run(bump(1))
  const [ra, rb] = await Promise.allSettled([first, second])
  expect(ra.status === 'rejected' && rb.status === 'rejected').toBe(false)
  const failed = ra.status === 'rejected' ? ra : rb.status === 'rejected' ? rb : undefined
  expect(failed, 'one of the two must be the deadlock victim').toBeDefined()
  const error = (failed as PromiseRejectedResult).reason
  expect(error).toMatchObject({ errno: 1213 })
  return ra.status === 'rejected' ? { victim: a, survivor: b, error } : { victim: b, survivor: a, error }
}
