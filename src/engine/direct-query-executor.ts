import { DefaultQueryExecutor, Kysely } from 'kysely'
import { callerSite, withCallerFrames, withCallerStack } from './caller-stack.js'
import type {
  CompiledQuery,
  DatabaseIntrospector,
  Dialect,
  Driver,
  ConnectionProvider,
  DatabaseConnection,
  DialectAdapter,
  KyselyPlugin,
  QueryCompiler,
  QueryExecutor,
  QueryId,
  QueryResult,
  RootOperationNode,
} from 'kysely'

/**
 * What {@link DirectQueryExecutor} needs from its driver: Kysely's connection
 * hand-out, and one whole statement run (on `engine.db`: check out, run,
 * check in; on `conn.db`: run on the held connection).
 *
 * ```ts
 * const runner: StatementRunner = new EnginePoolDriver(pool, dialect, false)
 * ```
 */
export interface StatementRunner extends ConnectionProvider {
  /** Runs `query` on a connection of the runner's choosing. */
  runStatement<R>(query: CompiledQuery): Promise<QueryResult<R>>
  /**
   * Kysely's `.stream()`: the connection is held until the iterator ends and
   * is back (in the pool, or free for its holder) once `return()` settles.
   * Absent: Kysely's executor streams through `provideConnection`.
   */
  streamStatement?<R>(query: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>>
}

const NO_PLUGINS: readonly KyselyPlugin[] = Object.freeze([])

/**
 * A Kysely on `driver` with a {@link DirectQueryExecutor}: what
 * `new Kysely({ dialect })` builds, minus the layers between executor and
 * driver. `dialect` supplies the compiler, adapter and introspector.
 *
 * ```ts
 * const db = createDirectKysely<DB>(dialect, new EnginePoolDriver(pool, driver, false))
 * ```
 */
export function createDirectKysely<DB>(
  dialect: Dialect,
  driver: Driver & StatementRunner,
  parts: KyselyParts = partsOf(dialect),
  plugins: readonly KyselyPlugin[] = NO_PLUGINS,
): Kysely<DB> {
  const executor = new DirectQueryExecutor(parts.compiler, parts.adapter, driver, plugins)
  return new Kysely<DB>({ config: { dialect, plugins: [...plugins] }, dialect, driver, executor })
}

/**
 * `base`'s dialect with its own driver: what a Kysely bound to one holder
 * (a Connection, a Session) is built from. A class, not an object of arrow
 * functions, so a checkout allocates no closures.
 *
 * ```ts
 * const db = createDirectKysely<DB>(new BoundDialect(engine.kyselyDialect, driver), driver, partsOf(engine.kyselyDialect))
 * ```
 */
export class BoundDialect implements Dialect {
  constructor(
    private readonly base: Dialect,
    private readonly driver: Driver,
  ) {}

  createAdapter(): DialectAdapter {
    return this.base.createAdapter()
  }

  createDriver(): Driver {
    return this.driver
  }

  createQueryCompiler(): QueryCompiler {
    return this.base.createQueryCompiler()
  }

  // Kysely's own signature takes an untyped Kysely.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return this.base.createIntrospector(db)
  }
}

/** A dialect's query compiler and adapter. */
export interface KyselyParts {
  readonly compiler: QueryCompiler
  readonly adapter: DialectAdapter
}

const PARTS = new WeakMap<Dialect, KyselyParts>()

/**
 * The compiler and adapter of `dialect`, made once and shared by every Kysely
 * built on it (one per Connection, one per Session): compiling is synchronous,
 * so sharing is safe, and a compiler is a hundred closures not worth making
 * per checkout.
 *
 * ```ts
 * const db = createDirectKysely<DB>(perConnection, driver, partsOf(engine.kyselyDialect))
 * ```
 */
export function partsOf(dialect: Dialect): KyselyParts {
  let parts = PARTS.get(dialect)
  if (parts === undefined) {
    parts = Object.freeze({ compiler: dialect.createQueryCompiler(), adapter: dialect.createAdapter() })
    PARTS.set(dialect, parts)
  }
  return parts
}

/**
 * The query executor of `engine.db` and `conn.db`. Kysely's default one
 * reaches the driver through a connection provider and a runtime wrapper,
 * several awaits and closures per statement; this one hands a statement
 * without plugins straight to the driver (on `engine.db`: check out, run and
 * check in under one promise). Statements with plugins, streams,
 * `db.connection()` and `db.transaction()` take Kysely's own path, so they
 * behave exactly as with Kysely's executor.
 *
 * ```ts
 * const executor = new DirectQueryExecutor(dialect.createQueryCompiler(), dialect.createAdapter(), driver)
 * const db = new Kysely<DB>({ config: { dialect }, dialect, driver, executor })
 * ```
 */
export class DirectQueryExecutor implements QueryExecutor {
  readonly #compiler: QueryCompiler
  readonly #adapter: DialectAdapter
  readonly #runner: StatementRunner
  readonly #plugins: readonly KyselyPlugin[]
  /** Kysely's executor on the same runner, built on first need (plugins, streams). */
  #kysely: DefaultQueryExecutor | undefined

  constructor(compiler: QueryCompiler, adapter: DialectAdapter, runner: StatementRunner, plugins: readonly KyselyPlugin[] = NO_PLUGINS) {
    this.#compiler = compiler
    this.#adapter = adapter
    this.#runner = runner
    this.#plugins = plugins
  }

  get adapter(): DialectAdapter {
    return this.#adapter
  }

  get plugins(): readonly KyselyPlugin[] {
    return this.#plugins
  }

  transformQuery<T extends RootOperationNode>(node: T, queryId: QueryId): T {
    const plugins = this.#plugins
    for (let i = 0; i < plugins.length; i++) {
      const transformed = plugins[i]!.transformQuery({ node, queryId })
      // Kysely's own check: a plugin may not change the kind of statement.
      if (transformed.kind !== node.kind) {
        throw new Error(
          `KyselyPlugin.transformQuery must return a node of the same kind that was given to it. The plugin was given a ${node.kind} but it returned a ${transformed.kind}`,
        )
      }
      node = transformed as T
    }
    return node
  }

  compileQuery<R = unknown>(node: RootOperationNode, queryId: QueryId): CompiledQuery<R> {
    return this.#compiler.compileQuery(node, queryId) as CompiledQuery<R>
  }

  provideConnection<T>(consumer: (connection: DatabaseConnection) => Promise<T>): Promise<T> {
    return this.#runner.provideConnection(consumer)
  }

  executeQuery<R>(compiledQuery: CompiledQuery<R>): Promise<QueryResult<R>> {
    // Plugins may rewrite results (asynchronously): Kysely's path runs them.
    if (this.#plugins.length !== 0) return this.#default().executeQuery(compiledQuery)
    // A failed statement's error gets the caller's frames (about 0.1 µs per statement: bench/caller-stacks.ts).
    return withCallerStack(this.#runner.runStatement<R>(compiledQuery))
  }

  stream<R>(compiledQuery: CompiledQuery<R>, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
    if (this.#runner.streamStatement === undefined) return this.#default().stream(compiledQuery, chunkSize)
    return this.#stream(compiledQuery, chunkSize)
  }

  /** Straight from the runner, so a `break` out of the loop returns the connection before the loop is left. */
  async *#stream<R>(compiledQuery: CompiledQuery<R>, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
    const plugins = this.#plugins
    const rows = this.#runner.streamStatement!<R>(compiledQuery, chunkSize)
    let finished = false
    try {
      for (;;) {
        let next: IteratorResult<QueryResult<R>>
        try {
          next = await rows.next()
        } catch (error) {
          finished = true
          // The consumer's for-await is in the await chain: its frames go on the error.
          throw withCallerFrames(error, callerSite())
        }
        if (next.done === true) {
          finished = true
          return
        }
        // Plugins see untyped rows, as in Kysely's own executor.
        let result = next.value as QueryResult<Record<string, unknown>>
        for (const plugin of plugins) result = await plugin.transformResult({ result, queryId: compiledQuery.queryId })
        yield result as QueryResult<R>
      }
    } finally {
      // Broken out of early, or a plugin threw: end the driver's stream, which gives the connection back.
      if (!finished) await rows.return?.()
    }
  }

  /** Kysely's transactions and `db.connection()` run on one connection through Kysely's executor. */
  withConnectionProvider(connectionProvider: ConnectionProvider): QueryExecutor {
    return new DefaultQueryExecutor(this.#compiler, this.#adapter, connectionProvider, [...this.#plugins])
  }

  withPlugin(plugin: KyselyPlugin): QueryExecutor {
    return this.#with([...this.#plugins, plugin])
  }

  withPlugins(plugins: readonly KyselyPlugin[]): QueryExecutor {
    return this.#with([...this.#plugins, ...plugins])
  }

  withPluginAtFront(plugin: KyselyPlugin): QueryExecutor {
    return this.#with([plugin, ...this.#plugins])
  }

  withoutPlugins(): QueryExecutor {
    return this.#with(NO_PLUGINS)
  }

  #with(plugins: readonly KyselyPlugin[]): DirectQueryExecutor {
    return new DirectQueryExecutor(this.#compiler, this.#adapter, this.#runner, plugins)
  }

  #default(): DefaultQueryExecutor {
    return (this.#kysely ??= new DefaultQueryExecutor(this.#compiler, this.#adapter, this.#runner, [...this.#plugins]))
  }
}
