import type { DialectConfig, DialectDriver } from '../dialect.js'
import { MysqlDriver } from './mysql.js'
import { PgliteDriver } from './pglite.js'
import { PostgresDriver } from './postgres.js'
import { SqliteDriver } from './sqlite.js'

/**
 * The dialect driver for a URL's dialect. Synchronous: optional drivers are
 * only checked for presence here and imported at the first connection.
 *
 * ```ts
 * const driver = createDialectDriver({ url, connectArgs: {}, context })
 * ```
 */
export function createDialectDriver(config: DialectConfig): DialectDriver {
  switch (config.url.dialect) {
    case 'postgresql':
      return new PostgresDriver(config)
    case 'mysql':
      return new MysqlDriver(config)
    case 'sqlite':
      return new SqliteDriver(config)
    case 'pglite':
      return new PgliteDriver(config)
  }
}
