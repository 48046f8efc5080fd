import { BasePool, createPool, resolvePoolOptions } from '../pool/index.js'
import type { Pool, PoolClassName, PoolFactory, PoolOptions } from '../pool/types.js'
import type { DbConnection, EngineContext } from './dialect.js'
import { createDialectDriver } from './dialects/index.js'
import { checkIsolationLevel, DatabaseEngine } from './engine.js'
import { EngineOptionError } from './errors.js'
import { defaultLogFormat, echoPoolEvents, statementLogger } from './echo.js'
import { poolNameOf } from './pool-name.js'
import { addObserver } from './statement-observer.js'
import { watchConnectionBudget } from './connection-budget.js'
import { createRoutingEngine } from './replicas/routing-engine.js'
import { invalidateConnection, createPoolDialect } from './kysely-driver.js'
import { ENGINE_OPTION_NAMES, validateEngineOptions } from './options.js'
import type { Engine, EngineOptions, Logger } from './types.js'
import { EngineUrl, parseUrl } from './url.js'

/**
 * Creates an engine: a pool of connections to the database at `url` and a
 * typed Kysely on it. Synchronous: nothing connects until the first query.
 *
 * URLs: `postgresql://user:pass@host:5432/db`, `mysql://...`, `mariadb://...`,
 * `sqlite:///relative.db`, `sqlite:////absolute.db`, `sqlite://` (memory),
 * `pglite://` (memory), `pglite:///path/to/dir`.
 *
 * Pool class: `'queue'` by default; `'single'` (one connection, checkouts
 * serialized) for SQLite and PGlite, whose drivers run one statement at a time
 * in this process anyway. An in-memory database with `'queue'` or `'null'` is
 * an {@link EngineOptionError}: each connection would see its own empty database.
 *
 * ```ts
 * interface DB { person: { id: Generated<number>; name: string } }
 * const engine = createEngine<DB>('postgresql://app:secret@localhost/app', { poolSize: 10, echo: true })
 * const people = await engine.db.selectFrom('person').selectAll().execute()
 * ```
 */
export function createEngine<DB>(url: string | EngineUrl, options: EngineOptions = {}): Engine<DB> {
  const parsed = toUrl(url)
  validateEngineOptions(options)
  if (options.replicas !== undefined) return createRoutingEngine<DB>(parsed, options, createEngine)
  const poolOptions = poolOptionsOf(options)
  // Every pool class gets its option values checked, even those that ignore some.
  resolvePoolOptions(poolOptions)
  const logger: Logger = options.logger ?? console
  let pool: Pool<DbConnection> | undefined
  const logFormat = options.logFormat ?? defaultLogFormat(options.logger)
  const context: EngineContext = {
    // In 'object' format statements are logged once they have run, by an observer (below).
    echo: logFormat === 'text' ? (options.echo ?? false) : false,
    logger,
    hideParameters: options.hideParameters ?? false,
    invalidate: (connection, error) => {
      if (pool !== undefined) invalidateConnection(pool, connection, error)
    },
    isDisposed: () => pool instanceof BasePool && pool.isDisposed,
  }
  const dialectDriver = createDialectDriver({
    url: parsed,
    connectArgs: options.connectArgs ?? {},
    isolationLevel: options.isolationLevel,
    statementTimeout: options.statementTimeout,
    context,
  })
  if (options.isolationLevel !== undefined) checkIsolationLevel(dialectDriver, options.isolationLevel, 'isolationLevel')
  const poolClass = choosePoolClass(parsed, options.poolClass)
  pool = createPool(poolClass, dialectDriver, poolOptions) as Pool<DbConnection>
  const poolName = poolNameOf(pool.options, parsed)
  if (options.echoPool) echoPoolEvents(pool, logger, options.echoPool === 'debug', parsed.toString(), logFormat, poolName)
  if (options.echo && logFormat === 'object') {
    const debug = options.echo === 'debug'
    addObserver(context, statementLogger(logger, { debug, hideParameters: context.hideParameters, pool: poolName }))
  }
  const budget =
    // Behind PgBouncer the server's slots are the pooler's to share: its own limits apply.
    options.connectionBudget === false || poolClass !== 'queue' || parsed.query.pgbouncer !== undefined
      ? undefined
      : watchConnectionBudget(dialectDriver, pool, poolMaxOf(pool), options.connectionBudget ?? {}, logger, parsed.toString())
  return new DatabaseEngine<DB>({
    budget,
    url: parsed,
    pool,
    dialectDriver,
    kyselyDialect: createPoolDialect(pool, dialectDriver, options.isolationLevel === 'AUTOCOMMIT'),
    options,
  })
}

function toUrl(url: string | EngineUrl): EngineUrl {
  if (typeof url === 'string') return parseUrl(url)
  if (url instanceof EngineUrl) return url
  throw new EngineOptionError(`createEngine needs a URL string or an EngineUrl, got ${url === null ? 'null' : typeof url}`, 'url')
}

/** The pool class for a URL: the user's, checked against in-memory databases, or the dialect's default. */
function choosePoolClass(url: EngineUrl, requested: PoolClassName | PoolFactory | undefined): PoolClassName | PoolFactory {
  const local = url.dialect === 'sqlite' || url.dialect === 'pglite'
  if (requested === undefined) return local ? 'single' : 'queue'
  if (url.inMemory && (requested === 'queue' || requested === 'null')) {
    throw new EngineOptionError(
      `poolClass '${requested}' cannot serve an in-memory database (${url.toString()}): every connection would open its own, empty one. ` +
        `Use 'single' (the default), 'static' or 'assertion'.`,
      'poolClass',
    )
  }
  return requested
}

/** Most connections a queue pool opens at once. */
function poolMaxOf(pool: Pool<DbConnection>): number {
  const o = pool.options
  return o.maxOverflow === -1 ? Infinity : o.poolSize + o.maxOverflow
}

/** The pool's share of the options. */
function poolOptionsOf(options: EngineOptions): PoolOptions {
  const own = new Set<string>(ENGINE_OPTION_NAMES)
  const poolOptions: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(options)) if (!own.has(key)) poolOptions[key] = value
  return poolOptions as PoolOptions
}
