import type { CompiledQuery, Kysely, QueryCompiler, TransactionSettings } from 'kysely'
import { kyselyOnDialect, type EngineKyselyOptions } from '../kysely-options.js'
import { EngineOptionError } from '../errors.js'
import type { Connection, ConnectOptions, DialectCapabilities, DialectName, Engine, EngineOptions, InsertManyOptions } from '../types.js'
import type { EngineUrl } from '../url.js'
import { ReplicaNode } from './replica-node.js'
import { Router } from './router.js'
import { RoutingConnection } from './routing-connection.js'
import { routedDialect, type PinnedTransaction } from './routing-driver.js'
import type { ReplicaRoutingOptions, RoutingEngine, RoutingStatus } from './types.js'

type EngineFactory = <DB>(url: string | EngineUrl, options?: EngineOptions) => Engine<DB>

/**
 * The engine `createEngine(primaryUrl, { replicas })` returns: see
 * {@link RoutingEngine}. PostgreSQL only (read-your-writes reads WAL positions).
 *
 * ```ts
 * const engine = createEngine<DB>(primaryUrl, { replicas: [replicaUrl] }) as RoutingEngine<DB>
 * ```
 */
export class ReplicaRoutingEngine<DB> implements RoutingEngine<DB> {
  readonly primary: Engine<DB>
  readonly replicas: readonly Engine<DB>[]
  readonly db: Kysely<DB>
  private readonly router: Router<DB>
  private readonly nodes: readonly ReplicaNode<DB>[]

  constructor(primary: Engine<DB>, replicas: readonly Engine<DB>[], routing: ReplicaRoutingOptions) {
    this.primary = primary
    this.replicas = Object.freeze([...replicas])
    const settings = {
      maxLagMs: routing.maxLagMs ?? 10_000,
      checkIntervalMs: routing.checkIntervalMs ?? 1_000,
      backoffMs: routing.backoffMs ?? 250,
      maxBackoffMs: routing.maxBackoffMs ?? 5_000,
    }
    this.nodes = replicas.map((r) => new ReplicaNode(r, settings))
    this.router = new Router(primary, this.nodes, routing.readYourWrites ?? 'wait', routing.maxWaitMs ?? 1_000)
    this.db = this.kysely<DB>()
  }

  /** {@inheritDoc Engine.kysely} */
  kysely<T = DB>(options?: EngineKyselyOptions): Kysely<T> {
    const dialect = routedDialect(this.primary.kyselyDialect, {
      run: (query) => this.router.execute(query, this.router.scope()),
      beginTransaction: (settings) => this.pinTransaction(settings),
    })
    return kyselyOnDialect<T>(dialect, options)
  }

  get url(): Engine<DB>['url'] {
    return this.primary.url
  }

  get dialect(): DialectName {
    return this.primary.dialect
  }

  get capabilities(): DialectCapabilities {
    return this.primary.capabilities
  }

  get pool(): Engine<DB>['pool'] {
    return this.primary.pool
  }

  get kyselyDialect(): Engine<DB>['kyselyDialect'] {
    return this.primary.kyselyDialect
  }

  scope<T>(fn: () => Promise<T>): Promise<T> {
    return this.router.runScoped(fn)
  }

  async connect(options?: ConnectOptions): Promise<Connection<DB>> {
    return new RoutingConnection<DB>(this, this.router, this.router.scope(), options?.isolationLevel === undefined ? undefined : options)
  }

  async begin<T>(fn: (conn: Connection<DB>) => Promise<T>, options?: ConnectOptions): Promise<T> {
    const conn = await this.connect(options)
    try {
      await conn.begin()
      let result: T
      try {
        result = await fn(conn)
      } catch (error) {
        await conn.rollback().catch(() => undefined)
        throw error
      }
      await conn.commit()
      return result
    } finally {
      await conn.close()
    }
  }

  async insertMany<R extends Record<string, unknown>>(
    table: string,
    rows: readonly Record<string, unknown>[],
    options?: InsertManyOptions,
  ): Promise<R[]> {
    const scope = this.router.scope()
    try {
      return await this.primary.insertMany<R>(table, rows, options)
    } finally {
      this.router.wrote(scope)
    }
  }

  /** {@inheritDoc RoutingEngine.status} */
  status(): RoutingStatus {
    return {
      primaryReads: this.router.primaryReads,
      writes: this.router.writes,
      pool: this.primary.pool.status(),
      replicas: this.nodes.map((node, i) => node.status(this.replicas[i].url.toString())),
    }
  }

  async dispose(options?: { close?: boolean; timeout?: number }): Promise<void> {
    await Promise.all([this.primary.dispose(options), ...this.nodes.map((n) => n.dispose())])
  }

  toString(): string {
    return `RoutingEngine(${this.primary.url.toString()}, ${this.replicas.length} replica${this.replicas.length === 1 ? '' : 's'})`
  }

  /** `engine.db.transaction()`: a primary connection, its commit a write of the caller's scope. */
  private async pinTransaction(settings: TransactionSettings): Promise<PinnedTransaction> {
    const scope = this.router.scope()
    const level = settings.isolationLevel?.toUpperCase() as ConnectOptions['isolationLevel']
    const conn = await this.primary.connect(level === undefined ? undefined : { isolationLevel: level })
    try {
      await conn.begin()
    } catch (error) {
      await conn.close()
      throw error
    }
    const router = this.router
    const savepoints = new Map<string, { commit(): Promise<void>; rollback(): Promise<void> }>()
    return {
      run: <R>(query: CompiledQuery) => conn.db.executeQuery<R>(query),
      commit: async () => {
        await conn.commit()
        router.wrote(scope)
      },
      rollback: () => conn.rollback(),
      section: async (kind, name, compile: QueryCompiler['compileQuery']) => {
        void compile
        if (kind === 'savepoint') {
          const sp = await conn.beginNested()
          savepoints.set(name, sp)
        } else {
          const sp = savepoints.get(name)
          savepoints.delete(name)
          if (sp !== undefined) await (kind === 'rollbackToSavepoint' ? sp.rollback() : sp.commit())
        }
      },
      release: () => conn.close(),
    }
  }
}

/**
 * Builds a routing engine: `createEngine(primaryUrl, { replicas, replicaRouting })`
 * calls it. Every replica gets the primary's pool options.
 *
 * ```ts
 * const engine = createRoutingEngine<DB>(primaryUrl, { replicas: [replicaUrl] }, createEngine)
 * ```
 */
export function createRoutingEngine<DB>(url: string | EngineUrl, options: EngineOptions, factory: EngineFactory): RoutingEngine<DB> {
  const { replicas = [], replicaRouting = {}, ...rest } = options
  const primary = factory<DB>(url, rest)
  if (primary.dialect !== 'postgresql') {
    void primary.dispose()
    throw new EngineOptionError(`replicas need PostgreSQL (read-your-writes reads WAL positions); ${primary.dialect} is not supported`, 'replicas')
  }
  const engines: Engine<DB>[] = []
  try {
    for (const replica of replicas) engines.push(factory<DB>(replica, rest))
  } catch (error) {
    void primary.dispose()
    for (const e of engines) void e.dispose()
    throw error
  }
  return new ReplicaRoutingEngine<DB>(primary, engines, replicaRouting)
}
