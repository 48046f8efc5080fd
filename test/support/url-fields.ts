import type { EngineUrl } from '../../src/engine/url.js'

/**
 * The parsed fields a user reads, password included (it is not enumerable,
 * so `{ ...url }` would leave it out).
 *
 * ```ts
 * expect(urlFields(parseUrl('sqlite://'))).toMatchObject({ dialect: 'sqlite', inMemory: true })
 * ```
 */
export function urlFields(url: EngineUrl) {
  return {
    drivername: url.drivername,
    dialect: url.dialect,
    backend: url.backend,
    driver: url.driver,
    username: url.username,
    password: url.password,
    host: url.host,
    port: url.port,
    database: url.database,
    query: url.query,
    inMemory: url.inMemory,
  }
}
