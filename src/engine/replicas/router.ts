import { AsyncLocalStorage } from 'node:async_hooks'
import { sql } from 'kysely'
import type { CompiledQuery, QueryResult } from 'kysely'
import { ConnectTimeoutError, PoolConnectError, PoolTimeoutError } from '../../pool/errors.js'
import { DatabaseError, DisconnectError } from '../errors.js'
import type { Engine } from '../types.js'
import { isReadOnly } from './classify.js'
import { parseLsn } from './lsn.js'
import type { ReplicaNode } from './replica-node.js'

/** A read-your-writes scope: the newest primary WAL position its reads must see. */
export interface WriteScope {
  /** A write finished since `lsn` was read: read the primary's position again before the next read. */
  dirty: boolean
  lsn: bigint
  /** The position being read for the scope's readers. */
  pending: Promise<bigint> | undefined
}

/** The server refuses in a replica what the primary would run (read-only transaction, recovery conflict). */
const PRIMARY_ONLY_STATES = new Set(['25006', '40001'])

function newScope(): WriteScope {
  return { dirty: false, lsn: -1n, pending: undefined }
}

/**
 * Sends each statement to the primary or a replica, and orders a scope's
 * reads after its writes by WAL position. Internal to the routing engine.
 *
 * ```ts
 * const router = new Router(primary, nodes, 'wait', 1000)
 * await router.execute(query, router.scope())
 * ```
 */
export class Router<DB> {
  primaryReads = 0
  writes = 0
  private next = 0
  private readonly scopes = new AsyncLocalStorage<WriteScope>()
  /** The scope of code outside any `scope()`: the whole engine. */
  private readonly engineScope = newScope()

  constructor(
    readonly primary: Engine<DB>,
    readonly nodes: readonly ReplicaNode<DB>[],
    private readonly mode: 'wait' | 'primary' | 'off',
    private readonly maxWaitMs: number,
  ) {}

  scope(): WriteScope {
    return this.scopes.getStore() ?? this.engineScope
  }

  runScoped<T>(fn: () => Promise<T>): Promise<T> {
    return this.scopes.run(newScope(), fn)
  }

  /** A write in `scope` has committed: its next read must see it. */
  wrote(scope: WriteScope): void {
    scope.dirty = true
    this.writes++
  }

  async execute<R>(query: CompiledQuery, scope: WriteScope): Promise<QueryResult<R>> {
    if (isReadOnly(query)) return this.read<R>(query, scope)
    try {
      return await this.primary.db.executeQuery<R>(query)
    } finally {
      // Even a failed statement may have written (a COMMIT whose answer was lost).
      this.wrote(scope)
    }
  }

  /** A read: on a usable replica that has replayed the scope's writes, else on the primary. */
  async read<R>(query: CompiledQuery, scope: WriteScope): Promise<QueryResult<R>> {
    if (this.nodes.length !== 0) {
      const result = await this.readOnReplica<R>(query, scope)
      if (result !== undefined) return result
    }
    this.primaryReads++
    return this.primary.db.executeQuery<R>(query)
  }

  private async readOnReplica<R>(query: CompiledQuery, scope: WriteScope): Promise<QueryResult<R> | undefined> {
    let need: bigint
    try {
      need = await this.required(scope)
    } catch {
      // The primary's position is unknown: only the primary is sure to have the writes.
      return undefined
    }
    const n = this.nodes.length
    for (let i = 0; i < n; i++) {
      const node = this.nodes[this.next++ % n]
      if (!node.usable()) continue
      try {
        if (need >= 0n && !(await node.caughtUp(need, this.mode === 'wait' ? this.maxWaitMs : 0))) {
          node.behind++
          continue
        }
        const result = await node.engine.db.executeQuery<R>(query)
        node.reads++
        return result
      } catch (error) {
        if (isUnreachable(error)) {
          node.fail(error)
          continue
        }
        if (error instanceof DatabaseError && error.sqlState !== undefined && PRIMARY_ONLY_STATES.has(error.sqlState)) return undefined
        throw error
      }
    }
    return undefined
  }

  /** The WAL position the scope's reads must see (-1: none). */
  private async required(scope: WriteScope): Promise<bigint> {
    if (this.mode === 'off') return -1n
    if (scope.dirty) {
      scope.dirty = false
      const pending: Promise<bigint> = this.primaryPosition().then(
        (lsn) => {
          if (lsn > scope.lsn) scope.lsn = lsn
          if (scope.pending === pending) scope.pending = undefined
          return scope.lsn
        },
        (error: unknown) => {
          if (scope.pending === pending) scope.pending = undefined
          scope.dirty = true
          throw error
        },
      )
      scope.pending = pending
    }
    // Readers that came after the write wait for the same answer.
    if (scope.pending !== undefined) return scope.pending
    return scope.lsn
  }

  /** The primary's WAL position now: at or after every commit it has acknowledged. */
  private async primaryPosition(): Promise<bigint> {
    const { rows } = await sql<{ lsn: string }>`SELECT pg_current_wal_lsn()::text AS lsn`.execute(this.primary.db)
    return parseLsn(rows[0]?.lsn)
  }
}

/** The replica could not be reached or used at all: take it out and read elsewhere. */
export function isUnreachable(error: unknown): boolean {
  return (
    error instanceof DisconnectError ||
    error instanceof PoolConnectError ||
    error instanceof PoolTimeoutError ||
    error instanceof ConnectTimeoutError
  )
}
