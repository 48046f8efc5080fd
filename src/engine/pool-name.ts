/**
 * The name logs and metrics give an engine's pool: its `name` option, or
 * `host:port/database` for a server (`dialect:database` for a file or memory),
 * never with the user name or password, as OpenTelemetry's
 * `db.client.connection.pool.name` recommends.
 *
 * ```ts
 * poolNameOf({ name: '' }, { dialect: 'postgresql', host: 'db', port: 5432, database: 'app' }) // 'db:5432/app'
 * poolNameOf({ name: 'orders' }, url) // 'orders'
 * ```
 */
export function poolNameOf(
  options: { readonly name: string },
  url: { readonly dialect: string; readonly host?: string; readonly port?: number; readonly database?: string },
): string {
  if (options.name !== '') return options.name
  if (url.host !== undefined && url.host !== '') {
    return `${url.host}${url.port === undefined ? '' : `:${url.port}`}/${url.database ?? ''}`
  }
  return `${url.dialect}:${url.database === undefined || url.database === '' ? ':memory:' : url.database}`
}
