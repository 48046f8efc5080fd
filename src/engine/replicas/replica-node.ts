import { sql } from 'kysely'
import type { Engine } from '../types.js'
import { formatLsn, parseLsn } from './lsn.js'
import type { ReplicaStatus } from './types.js'

/** What a replica node needs of the routing options. */
export interface NodeSettings {
  readonly maxLagMs: number
  readonly checkIntervalMs: number
  readonly backoffMs: number
  readonly maxBackoffMs: number
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * One read replica: its engine, its health (checked on a timer, with
 * back-off after failures) and what it has replayed.
 *
 * ```ts
 * const node = new ReplicaNode(createEngine(url), settings)
 * if (node.usable()) await node.engine.db.selectFrom('t').selectAll().execute()
 * ```
 */
export class ReplicaNode<DB> {
  healthy = true
  lagMs = 0
  /** `pg_last_wal_replay_lsn()` as last seen (-1: unknown). */
  replayLsn = -1n
  reads = 0
  behind = 0
  failures = 0
  lastError: string | undefined = undefined
  /** Consecutive failures, for the back-off. */
  private streak = 0
  private downUntil = 0
  private timer: ReturnType<typeof setTimeout> | undefined
  private disposed = false

  constructor(
    readonly engine: Engine<DB>,
    private readonly settings: NodeSettings,
  ) {
    this.schedule(0)
  }

  /** Healthy, out of back-off, and not lagging past `maxLagMs`. */
  usable(): boolean {
    return this.healthy && this.lagMs <= this.settings.maxLagMs && performance.now() >= this.downUntil
  }

  /** Takes the replica out after a failure; the health check brings it back. */
  fail(error: unknown): void {
    this.failures++
    this.streak++
    this.healthy = false
    this.lastError = error instanceof Error ? error.message : String(error)
    const backoff = Math.min(this.settings.backoffMs * 2 ** Math.min(this.streak - 1, 20), this.settings.maxBackoffMs)
    this.downUntil = performance.now() + backoff
    this.schedule(backoff)
  }

  /**
   * Whether the replica has replayed `lsn`; with `waitMs` > 0, polls until it
   * has or the time is up. Reads the replica only when its last known
   * position is not enough.
   */
  async caughtUp(lsn: bigint, waitMs: number): Promise<boolean> {
    if (this.replayLsn >= lsn) return true
    const deadline = performance.now() + waitMs
    for (let pause = 2; ; pause = Math.min(pause * 2, 25)) {
      await this.readPosition()
      if (this.replayLsn >= lsn) return true
      const left = deadline - performance.now()
      if (left <= 0) return false
      await sleep(Math.min(pause, left))
    }
  }

  status(url: string): ReplicaStatus {
    return {
      url,
      healthy: this.usable(),
      lagMs: this.lagMs,
      replayLsn: formatLsn(this.replayLsn),
      reads: this.reads,
      behind: this.behind,
      failures: this.failures,
      lastError: this.lastError,
      pool: this.engine.pool.status(),
    }
  }

  dispose(): Promise<void> {
    this.disposed = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    return this.engine.dispose()
  }

  private async readPosition(): Promise<void> {
    const { rows } = await sql<{ lsn: string | null }>`SELECT pg_last_wal_replay_lsn()::text AS lsn`.execute(this.engine.db)
    const lsn = parseLsn(rows[0]?.lsn)
    if (lsn > this.replayLsn) this.replayLsn = lsn
  }

  private schedule(ms: number): void {
    if (this.disposed) return
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = setTimeout(() => void this.check(), ms)
    // Health checks must not keep the process alive.
    this.timer.unref?.()
  }

  /** The health check: reachable, in recovery, and how far behind. */
  private async check(): Promise<void> {
    this.timer = undefined
    if (this.disposed) return
    try {
      const { rows } = await sql<{ lsn: string | null; lag_ms: number | string | null }>`
        SELECT pg_last_wal_replay_lsn()::text AS lsn,
               CASE WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0
                    ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000, 0) END AS lag_ms`.execute(this.engine.db)
      if (this.disposed) return
      const lsn = parseLsn(rows[0]?.lsn)
      if (lsn > this.replayLsn) this.replayLsn = lsn
      this.lagMs = Math.max(0, Math.round(Number(rows[0]?.lag_ms ?? 0)))
      this.healthy = true
      this.streak = 0
      this.downUntil = 0
      this.schedule(this.settings.checkIntervalMs)
    } catch (error) {
      if (this.disposed) return
      this.fail(error)
    }
  }
}
