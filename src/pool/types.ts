/**
 * The contract between a pool and whatever it pools.
 *
 * A pool knows nothing of SQL: it opens, closes, pings and resets opaque
 * connections through this interface, which each engine dialect (or a user,
 * for any other resource) supplies. Only `open` and `close` are required.
 *
 * ```ts
 * const driver: PoolDriver<net.Socket> = {
 *   open: () => connectSocket(),
 *   close: async (s) => void s.destroy(),
 *   ping: async (s) => !s.destroyed,
 * }
 * ```
 */
export interface PoolDriver<C> {
  /**
   * Opens a new connection. A rejection becomes a {@link PoolConnectError},
   * unless {@link isTemporaryOpenError} calls it temporary.
   */
  open(): Promise<C>
  /** Closes a connection; errors are reported as events, never thrown to a caller. */
  close(connection: C): Promise<void> | void
  /** `true` when the connection is alive; `false` or a rejection means dead. */
  ping?(connection: C): Promise<boolean> | boolean
  /**
   * Ends whatever transaction a returned connection is in. Called on return
   * when `poolResetOnReturn` is not `null`; a rejection closes the connection.
   * A driver that knows the connection is idle should answer without a round trip.
   */
  reset?(connection: C, mode: ResetMode): Promise<void> | void
  /**
   * `true` when an `open()` rejection means "not now" rather than "not at all":
   * the server is at its connection limit (PostgreSQL 53300, MySQL 1040). The
   * pool then treats it as back-pressure: the caller keeps waiting for a
   * returned connection while the open is retried (with `connectBackoff`),
   * and only a caller whose `poolTimeout` runs out fails, with a
   * {@link PoolTimeoutError} that names the refusal.
   *
   * ```ts
   * isTemporaryOpenError: (e) => (e as { code?: string }).code === '53300'
   * ```
   */
  isTemporaryOpenError?(error: unknown): boolean
}

/**
 * What a returned connection's open transaction becomes (SQLAlchemy's
 * `reset_on_return`); `'reset'` also clears the session's state (variables,
 * temporary tables, prepared statements): a database's own reset command.
 */
export type ResetMode = 'rollback' | 'commit' | 'reset'

/** SQLAlchemy's pool options, plus HikariCP / asyncpg / pgx ones. Durations are milliseconds. */
export interface PoolOptions {
  /** Connections kept open. Default 5. `0` means no limit for QueuePool (as in SQLAlchemy). */
  readonly poolSize?: number
  /** Extra connections opened under load and closed on return. Default 10; `-1` = no limit. */
  readonly maxOverflow?: number
  /**
   * Longest wait for a connection: a {@link PoolTimeoutError} when the pool is
   * full, a {@link PoolConnectError} when opens failed or hung. Default 30 000; must be > 0.
   */
  readonly poolTimeout?: number
  /** Replace a connection older than this at checkout. Default -1 (off). */
  readonly poolRecycle?: number
  /**
   * Up to this many ms are taken off each connection's `poolRecycle` at random,
   * so connections opened together do not all expire together.
   * Default: 2.5% of `poolRecycle` (HikariCP's variance).
   */
  readonly poolRecycleJitter?: number
  /** Ping a connection at checkout and replace it if dead. Default false. */
  readonly poolPrePing?: boolean
  /**
   * How long a pre-ping may take before the connection counts as dead. The
   * caller's `poolTimeout` is separate: a caller whose wait ends during a ping
   * gets a {@link PoolTimeoutError}, and the connection goes back to the pool
   * if the ping then answers. Default 5 000 (HikariCP's `validationTimeout`).
   */
  readonly poolPrePingTimeout?: number
  /** Hand out the most recently returned connection first. Default false (FIFO). */
  readonly poolUseLifo?: boolean
  /**
   * What a returned connection's transaction becomes. Default 'rollback';
   * `'reset'` also clears session state (one more round trip per checkin).
   */
  readonly poolResetOnReturn?: ResetMode | null
  /** Connections opened at start and kept open even when idle (at most `poolSize`). Default 0. */
  readonly minIdle?: number
  /** Close connections idle longer than this, never going below `minIdle`. Default -1 (off). */
  readonly idleTimeout?: number
  /** Close a connection after it has been checked out this many times. Default -1 (off). */
  readonly maxUses?: number
  /** Longest time one `open()` may take before it counts as failed. Default 10 000. */
  readonly connectTimeout?: number
  /**
   * After a failed open, wait this long before the next attempt, doubling per
   * consecutive failure up to `connectBackoffMax`. Default 100.
   */
  readonly connectBackoff?: number
  /** Upper bound of the creation back-off. Default 1 000 (so a recovered database is used within a second). */
  readonly connectBackoffMax?: number
  /**
   * Warn (event `leak`, with the stack of the checkout) when a connection is
   * held longer than this. Default -1 (off). Turning it on also makes timeout
   * errors list the checkout stacks of whoever holds the connections.
   */
  readonly leakDetectionThreshold?: number
  /** A name shown in `status()` and errors. Default `''`. */
  readonly name?: string
}

/** Every option resolved to a concrete value. */
export type ResolvedPoolOptions = {
  readonly [K in keyof PoolOptions]-?: Exclude<PoolOptions[K], undefined>
}

/**
 * A checkout: one connection, held until `release()`. SQLAlchemy's
 * "connection fairy". Obtained with `pool.checkout()`.
 *
 * ```ts
 * const pc = await pool.checkout()
 * try { await use(pc.connection) } finally { pc.release() }
 * ```
 */
export interface PooledConnection<C> {
  /** The driver's connection itself (not a stand-in). */
  readonly connection: C
  /** Per-connection storage that lives as long as the connection (SQLAlchemy's `.info`). */
  readonly info: Map<string, unknown>
  /** When the underlying connection was opened (`Date.now()` ms). */
  readonly openedAt: number
  /** Returns the connection to the pool. A second call throws {@link PoolReleaseError}. */
  release(): void
  /**
   * Marks the connection dead. Hard (default): closed now, and every
   * connection opened before it is marked stale. Soft: closed on return.
   */
  invalidate(error?: unknown, options?: InvalidateOptions): void
}

export interface InvalidateOptions {
  /** Close on return instead of now, and leave other connections alone. */
  readonly soft?: boolean
}

/** Pool events and their listeners' arguments. */
export interface PoolEventMap<C> {
  /** A connection was opened; `openMs` is how long opening it took (retries of a refused open included). */
  connect: [connection: C, openMs: number]
  /** A connection was handed out; `waitedMs` is how long the caller waited for it (0 when one was idle). */
  checkout: [connection: C, waitedMs: number]
  checkin: [connection: C]
  reset: [connection: C, mode: ResetMode]
  invalidate: [connection: C, error: unknown, soft: boolean]
  close: [connection: C]
  /** A checkout ran out of `poolTimeout` (exhausted or unreachable alike). */
  timeout: [waitedMs: number, status: string]
  /** A connection held longer than `leakDetectionThreshold`; `stack` is where it was checked out. */
  leak: [connection: C, heldMs: number, stack: string]
  /** A background error: a failed close, a failed minIdle fill. Never thrown. */
  error: [error: unknown]
  /**
   * The pool could take more of the server's free connections than its share
   * (raised once, by the engine, at the first connection; see `connectionBudget`).
   */
  budget: [report: ConnectionBudgetReport]
}

/**
 * The server's connection limit as seen at an engine's first connection, and
 * what this pool may take of it. Numbers only: the engine fills it in.
 *
 * ```ts
 * engine.pool.on('budget', (r) => metrics.gauge('db.processes_that_fit', r.processesThatFit))
 * ```
 */
export interface ConnectionBudgetReport {
  /** The server's `max_connections`. */
  readonly maxConnections: number
  /** Slots ordinary users cannot take (PostgreSQL: superuser_reserved_connections + reserved_connections). */
  readonly reserved: number
  /** Client connections open on the server at the check, other than the one that checked. */
  readonly inUse: number
  /** `maxConnections - reserved - inUse`. */
  readonly free: number
  /** Most connections this pool opens at once (`poolSize + maxOverflow`; Infinity for -1). */
  readonly poolMax: number
  /** The share of `free` one pool may plan to take. */
  readonly share: number
  /** How many processes with a pool of this size fit in what is free (at their peak). */
  readonly processesThatFit: number
  /** `poolMax > share * free`. */
  readonly exceeded: boolean
}

export type PoolEventName = keyof PoolEventMap<unknown>

/** Totals a dashboard needs. */
export interface PoolStats {
  readonly open: number
  readonly idle: number
  readonly inUse: number
  readonly waiting: number
  readonly pending: number
  readonly created: number
  readonly closed: number
  readonly invalidated: number
  readonly timeouts: number
  readonly connectErrors: number
  readonly acquires: number
  /**
   * Acquire-time figures in ms over all completed checkouts (a wait that begins
   * and ends within one turn of the event loop may count as 0).
   */
  readonly acquireTimeMean: number
  readonly acquireTimeMax: number
}

export interface DisposeOptions {
  /**
   * Close connections (default true). `false` forgets them without closing,
   * for a forked child that must not touch its parent's sockets.
   */
  readonly close?: boolean
  /** Force-close checked-out connections still held after this many ms. Default: wait for them. */
  readonly timeout?: number
}

/**
 * A pool of connections. Every pool class implements it.
 *
 * `acquire()` hands out a stand-in for the connection, one per checkout: it
 * forwards every property and method to the connection while the checkout
 * lasts, and is dead once released, so a stale `release()` can never return
 * a later holder's checkout. (A primitive resource, such as a number, cannot
 * have a stand-in: it is handed out as is; use `checkout()` for those.)
 *
 * ```ts
 * const c = await pool.acquire()
 * try { await work(c) } finally { pool.release(c) }
 * pool.release(c) // PoolReleaseError: already released
 * ```
 */
export interface Pool<C> {
  readonly options: ResolvedPoolOptions
  /**
   * Checks a connection out: idle, newly opened, or after waiting up to
   * `poolTimeout`. Returns this checkout's stand-in for the connection.
   */
  acquire(): Promise<C>
  /**
   * Returns what `acquire()` gave. A second release, a stand-in of an older
   * checkout, the bare connection or another pool's throws {@link PoolReleaseError}.
   */
  release(connection: C): void
  /** Like `acquire()`, but returns the per-checkout handle, whose `connection` is the connection itself. */
  checkout(): Promise<PooledConnection<C>>
  /**
   * Invalidates what `acquire()` gave (see {@link PooledConnection.invalidate}); a
   * released checkout or a stranger throws {@link PoolReleaseError}.
   */
  invalidate(connection: C, error?: unknown, options?: InvalidateOptions): void
  /** Marks every open connection stale: each is replaced at its next checkout. */
  invalidateAll(): void
  /** SQLAlchemy's status line. */
  status(): string
  /** `poolSize`: the connections kept open (SQLAlchemy's `size()`). */
  size(): number
  /** Idle connections, ready for a checkout. */
  checkedIn(): number
  /** Connections handed out and not yet returned (open minus idle). */
  checkedOut(): number
  /**
   * Open (and opening) connections minus `poolSize`: starts at `-poolSize`, as
   * SQLAlchemy's does. `checkedIn() + checkedOut() === size() + overflow()`.
   */
  overflow(): number
  /**
   * Totals for a dashboard: open, idle, in use, waiting, opens in flight,
   * created, closed, invalidated, timeouts, connect errors and acquire times.
   *
   * @example
   * ```ts
   * const { inUse, waiting, timeouts } = engine.pool.stats()
   * ```
   */
  stats(): PoolStats
  /**
   * Listens to a pool event (`connect`, `checkout`, `checkin`, `reset`,
   * `invalidate`, `close`, `timeout`, `leak`, `error`). Events cost nothing
   * when nobody listens.
   *
   * @example
   * ```ts
   * engine.pool.on('timeout', (waitedMs, status) => log.warn({ waitedMs, status }, 'pool exhausted'))
   * ```
   */
  on<E extends PoolEventName>(event: E, listener: (...args: PoolEventMap<C>[E]) => void): this
  /** Removes a listener added with {@link Pool.on}. */
  off<E extends PoolEventName>(event: E, listener: (...args: PoolEventMap<C>[E]) => void): this
  /** Closes idle connections, closes checked-out ones on return, rejects waiters. */
  dispose(options?: DisposeOptions): Promise<void>
  /** A new, empty pool with the same driver, options and listeners. */
  recreate(): Pool<C>
  /**
   * Changes `poolSize` and `maxOverflow` while the pool runs (asyncpg's
   * `set_size`). Growing opens connections for the callers waiting now;
   * shrinking closes idle connections at once and the excess held ones as
   * they come back, never taking one from its holder. Bad values throw
   * {@link PoolOptionError}; only QueuePool resizes (the others throw it too).
   *
   * ```ts
   * pool.resize({ poolSize: 20, maxOverflow: 5 })
   * ```
   */
  resize(sizes: PoolResize): void
}

/** What {@link Pool.resize} changes; an absent field keeps its value. */
export interface PoolResize {
  readonly poolSize?: number
  readonly maxOverflow?: number
}

/** Builds a pool: what `poolClass` accepts besides the built-in names. */
export type PoolFactory = <C>(driver: PoolDriver<C>, options: PoolOptions) => Pool<C>

/** Built-in pool classes by name. */
export type PoolClassName = 'queue' | 'null' | 'static' | 'assertion' | 'single'
