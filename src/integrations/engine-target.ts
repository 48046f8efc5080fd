import type { Engine } from '../engine/types.js'
import type { Pool } from '../pool/types.js'
import { poolNameOf } from '../engine/pool-name.js'

/**
 * What exporters say about the database an engine talks to: OpenTelemetry's
 * `db.system` value (`postgresql`, `mysql`, `mariadb`, `sqlite`), the
 * database name (`db.namespace`), the server's address and port, and the
 * pool's name. Never the user name or password.
 *
 * ```ts
 * engineTarget(createEngine('postgresql://app:pw@db:5432/shop'))
 * // { system: 'postgresql', namespace: 'shop', address: 'db', port: 5432, poolName: 'db:5432/shop', pool }
 * ```
 */
export interface EngineTarget {
  readonly system: string
  readonly namespace: string | undefined
  readonly address: string | undefined
  readonly port: number | undefined
  readonly poolName: string
  readonly pool: Pool<unknown>
}

/**
 * Reads an {@link EngineTarget} from an engine made by `createEngine`;
 * `poolName` overrides the pool's own name.
 *
 * ```ts
 * const { system, poolName } = engineTarget(engine, 'orders')
 * ```
 */
export function engineTarget<DB>(engine: Engine<DB>, poolName?: string): EngineTarget {
  const url = engine.url as { dialect: string; backend?: string; host?: string; port?: number; database?: string }
  const system =
    engine.dialect === 'pglite' ? 'postgresql' : url.backend === 'mariadb' ? 'mariadb' : engine.dialect === 'mysql' ? 'mysql' : engine.dialect
  const inMemory = url.database === undefined || url.database === '' || url.database === ':memory:'
  return {
    system,
    namespace: inMemory ? undefined : url.database,
    address: url.host === '' ? undefined : url.host,
    port: url.port,
    poolName: poolName ?? poolNameOf(engine.pool.options, url),
    pool: engine.pool,
  }
}
