import type { Engine } from '../types.js'

/**
 * How a routing engine keeps a caller's reads consistent with its own
 * writes, and when it gives up on a replica.
 *
 * ```ts
 * createEngine(primaryUrl, { replicas: [replicaUrl], replicaRouting: { readYourWrites: 'wait', maxWaitMs: 500 } })
 * ```
 */
export interface ReplicaRoutingOptions {
  /**
   * After a write in the same scope (see {@link RoutingEngine.scope}), a read
   * goes to a replica only once it has replayed that write's WAL position:
   * `'wait'` (default) waits up to `maxWaitMs`, then reads from the primary;
   * `'primary'` reads from the primary at once; `'off'` reads whatever the
   * replica has (stale reads possible).
   */
  readonly readYourWrites?: 'wait' | 'primary' | 'off'
  /** Longest wait for a replica to catch up with a scope's writes. Default 1 000 ms. */
  readonly maxWaitMs?: number
  /** A replica more than this behind (replay time) is skipped. Default 10 000 ms. */
  readonly maxLagMs?: number
  /** Health check period per replica. Default 1 000 ms. */
  readonly checkIntervalMs?: number
  /** First back-off after a replica failed; doubles per failure up to `maxBackoffMs`. Default 250 ms. */
  readonly backoffMs?: number
  /** Upper bound of the back-off. Default 5 000 ms. */
  readonly maxBackoffMs?: number
}

/**
 * One replica as `status()` reports it.
 *
 * ```ts
 * for (const r of engine.status().replicas) if (!r.healthy) alert(r.url, r.lastError)
 * ```
 */
export interface ReplicaStatus {
  /** Password masked. */
  readonly url: string
  readonly healthy: boolean
  /** Replay lag in ms at the last check (0 when it had replayed all it received). */
  readonly lagMs: number
  /** `pg_last_wal_replay_lsn()` at the last check or read. */
  readonly replayLsn: string
  /** Reads it served. */
  readonly reads: number
  /** Reads that went elsewhere because it was behind the scope's writes. */
  readonly behind: number
  /** Times it failed (a read or a health check) and was taken out. */
  readonly failures: number
  readonly lastError: string | undefined
  /** Its pool's status line. */
  readonly pool: string
}

/**
 * A routing engine's figures.
 *
 * ```ts
 * const { primaryReads, replicas } = engine.status()
 * ```
 */
export interface RoutingStatus {
  /** Reads served by the primary: no replica usable or caught up, or a replica failed. */
  readonly primaryReads: number
  /** Statements and transactions sent to the primary as writes. */
  readonly writes: number
  readonly replicas: readonly ReplicaStatus[]
  /** The primary's pool status line. */
  readonly pool: string
}

/**
 * An engine over a primary and read replicas (made by `createEngine(url, {
 * replicas })`). `db` and Sessions read from a healthy replica and write to
 * the primary; `connect()`/`begin()` on it route the same way (a connection
 * moves to the primary at its first write and stays there).
 *
 * ```ts
 * const engine = createEngine<DB>(primaryUrl, { replicas: [replicaUrl] }) as RoutingEngine<DB>
 * await engine.scope(async () => {
 *   await engine.db.insertInto('person').values({ name: 'Ada' }).execute()
 *   await engine.db.selectFrom('person').selectAll().execute() // sees Ada
 * })
 * ```
 */
export interface RoutingEngine<DB> extends Engine<DB> {
  /** The primary's own engine: everything on it goes to the primary (force a read there). */
  readonly primary: Engine<DB>
  /** The replicas' engines, in the order given. */
  readonly replicas: readonly Engine<DB>[]
  /**
   * Runs `fn` in a read-your-writes scope (a request): its reads wait for (or
   * skip) replicas behind its own writes only. Outside any scope the engine
   * is one scope: every read is ordered after every write it committed.
   */
  scope<T>(fn: () => Promise<T>): Promise<T>
  /** Per replica: health, lag, replay position, reads routed, failures, and its pool's status line. */
  status(): RoutingStatus
}
