import { UrlError } from './errors.js'
import type { DialectName } from './types.js'

/**
 * The parts a URL is made of, as {@link EngineUrl.create} and
 * {@link EngineUrl.with} take them: decoded values, never percent-encoded.
 *
 * ```ts
 * const url = EngineUrl.create({ drivername: 'postgresql', username: 'app', password: 'p@ss', host: 'db', database: 'app' })
 * url.render({ hidePassword: false }) // 'postgresql://app:p%40ss@db/app'
 * ```
 */
export interface UrlParts {
  /** `dialect[+driver]`, e.g. `'postgresql'`, `'postgresql+pg'`, `'mariadb'`. */
  readonly drivername: string
  readonly username?: string
  readonly password?: string
  /** An IPv6 address without brackets, a host name, or an IPv4 address. */
  readonly host?: string
  readonly port?: number
  /** The database name; for sqlite the file path, for pglite the data directory. */
  readonly database?: string
  /** Query parameters; a repeated key holds an array. */
  readonly query?: Readonly<Record<string, string | readonly string[]>>
}

/**
 * How {@link EngineUrl.render} prints a URL.
 *
 * ```ts
 * url.render({ hidePassword: true }) // same as String(url)
 * ```
 */
export interface RenderOptions {
  /** Print the password as `***`. */
  readonly hidePassword: boolean
}

/**
 * The query parameters each dialect understands; any other is a {@link UrlError}.
 *
 * ```ts
 * KNOWN_QUERY_PARAMETERS.postgresql // ['sslmode', 'application_name', 'connect_timeout', 'options', 'client_encoding']
 * ```
 */
export const KNOWN_QUERY_PARAMETERS: Readonly<Record<DialectName, readonly string[]>> = Object.freeze({
  postgresql: Object.freeze(['sslmode', 'application_name', 'connect_timeout', 'options', 'client_encoding', 'pgbouncer']),
  mysql: Object.freeze(['charset', 'connect_timeout', 'timezone', 'ssl']),
  sqlite: Object.freeze(['mode', 'timeout']),
  pglite: Object.freeze([] as string[]),
})

/** What each scheme's dialect part stands for, and the drivers it can use (default first). */
interface Backend {
  readonly dialect: DialectName
  readonly drivers: readonly string[]
}

const POSTGRESQL: Backend = { dialect: 'postgresql', drivers: ['pg'] }
const MYSQL: Backend = { dialect: 'mysql', drivers: ['mysql2'] }

const BACKENDS: Readonly<Record<string, Backend>> = {
  postgresql: POSTGRESQL,
  postgres: POSTGRESQL,
  mysql: MYSQL,
  mariadb: MYSQL,
  sqlite: { dialect: 'sqlite', drivers: ['better-sqlite3'] },
  pglite: { dialect: 'pglite', drivers: ['pglite'] },
}

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify']
const SQLITE_MODES = ['ro', 'rw', 'rwc']

/** Checks one query value; returns what is wrong with it, or undefined. */
type ValueCheck = (value: string) => string | undefined

const wholeSeconds: ValueCheck = (v) => (/^\d+$/.test(v) ? undefined : 'must be a whole number of seconds')
const oneOf =
  (allowed: readonly string[]): ValueCheck =>
  (v) =>
    allowed.includes(v) ? undefined : `must be one of ${allowed.join(', ')}`

const VALUE_CHECKS: Readonly<Record<DialectName, Readonly<Record<string, ValueCheck>>>> = {
  postgresql: {
    sslmode: oneOf(SSL_MODES),
    connect_timeout: wholeSeconds,
    // pg's protocol layer always announces UTF8 and decodes UTF-8; any other encoding would garble text.
    client_encoding: (v) => (/^(?:utf-?8|unicode)$/i.test(v) ? undefined : 'must be UTF8 (pg speaks only UTF-8)'),
    // The pooler in front of the server (docs/scale-out.md): what athanor may keep per session.
    pgbouncer: oneOf(['transaction', 'session']),
  },
  mysql: {
    connect_timeout: wholeSeconds,
    // mysql2's forms; '+' means a space in a query, so '+05:00' arrives as ' 05:00'.
    timezone: (v) => (/^(?:local|Z|[+-]\d\d:\d\d)$/.test(v) ? undefined : 'must be local, Z or +HH:MM / -HH:MM (write "+" as %2B)'),
  },
  sqlite: { mode: oneOf(SQLITE_MODES), timeout: (v) => (/^\d+$/.test(v) ? undefined : 'must be a whole number of milliseconds') },
  pglite: {},
}

/** A query parameter's name looks like it holds a secret: its value is masked in error messages. */
const SECRET_KEY = /pass|pwd|secret|token|credential/i
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/
const LONE_SURROGATE = /[\uD800-\uDFFF]/u
const HOST_CHARS = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$/

let construct: (parts: UrlParts, shown: string) => EngineUrl

/**
 * A parsed database URL: an immutable value. Prints with its password as
 * `***` (`toString()`, `JSON.stringify`, `console.log`); the password is
 * readable as a property but not enumerable, so spreading or logging the
 * object does not show it either.
 *
 * ```ts
 * const url = parseUrl('postgresql://app:s3cret@db.internal:5432/app?sslmode=require')
 * url.dialect   // 'postgresql'
 * url.driver    // 'pg'
 * String(url)   // 'postgresql://app:***@db.internal:5432/app?sslmode=require'
 * ```
 */
export class EngineUrl {
  /** The scheme as written: `'postgresql+pg'`, `'mariadb'`, ... */
  readonly drivername: string
  /** The dialect: `'postgresql'` for postgresql/postgres, `'mysql'` for mysql/mariadb, `'sqlite'`, `'pglite'`. */
  readonly dialect: DialectName
  /** The scheme's dialect part as written, lower-cased: `'postgres'`, `'mariadb'`, ... */
  readonly backend: string
  /** The driver: as written after `+` (lower-cased), or the dialect's default (`'pg'`, `'mysql2'`, `'better-sqlite3'`, `'pglite'`). */
  readonly driver: string
  readonly username?: string
  /** Not enumerable, so that spreading or inspecting the URL never shows it. */
  declare readonly password?: string
  /** Without brackets for IPv6. */
  readonly host?: string
  readonly port?: number
  /** For sqlite the file path (`':memory:'` or undefined: in memory); for pglite the directory (undefined: in memory). */
  readonly database?: string
  readonly query: Readonly<Record<string, string | readonly string[]>>
  /** An in-memory sqlite or pglite database: one connection, gone when it closes. */
  readonly inMemory: boolean

  private constructor(parts: NormalizedParts) {
    this.drivername = parts.drivername
    this.dialect = parts.dialect
    this.backend = parts.backend
    this.driver = parts.driver
    if (parts.username !== undefined) this.username = parts.username
    Object.defineProperty(this, 'password', { value: parts.password, enumerable: false })
    if (parts.host !== undefined) this.host = parts.host
    if (parts.port !== undefined) this.port = parts.port
    if (parts.database !== undefined) this.database = parts.database
    this.query = parts.query
    this.inMemory = parts.inMemory
    Object.freeze(this)
  }

  /**
   * Parses a URL string; throws {@link UrlError} for anything malformed.
   *
   * ```ts
   * EngineUrl.parse('sqlite:///app.db').database // 'app.db'
   * ```
   */
  static parse(text: string): EngineUrl {
    return parseUrl(text)
  }

  /**
   * Builds a URL from decoded parts, validated as `parse` validates.
   *
   * ```ts
   * EngineUrl.create({ drivername: 'mysql', host: '::1', port: 3306 }).toString() // 'mysql://[::1]:3306'
   * ```
   */
  static create(parts: UrlParts): EngineUrl {
    return new EngineUrl(normalize(parts, (problem) => new UrlError(`invalid database URL: ${problem}`)))
  }

  static {
    // parse()'s way in: its errors show the masked text it was given.
    construct = (parts, shown) => new EngineUrl(normalize(parts, (problem) => urlError(problem, shown)))
  }

  /**
   * A copy with some parts changed; `undefined` removes a part.
   *
   * ```ts
   * const admin = url.with({ username: 'postgres', password: undefined, database: 'postgres' })
   * ```
   */
  with(changes: Partial<UrlParts>): EngineUrl {
    return EngineUrl.create({ ...this.parts(), ...changes })
  }

  /**
   * The URL as a string. `hidePassword: false` prints the real password,
   * percent-encoded, so that `parseUrl(url.render({ hidePassword: false }))`
   * equals `url`.
   *
   * ```ts
   * url.render({ hidePassword: false }) // 'postgresql://app:s3cret@db/app'
   * ```
   */
  render({ hidePassword }: RenderOptions): string {
    let out = `${this.drivername}://`
    if (this.username !== undefined || this.password !== undefined) {
      out += encodeURIComponent(this.username ?? '')
      if (this.password !== undefined) out += ':' + (hidePassword ? '***' : encodeURIComponent(this.password))
      out += '@'
    }
    if (this.host !== undefined) out += renderHost(this.host)
    if (this.port !== undefined) out += `:${this.port}`
    if (this.database === ':memory:' && this.dialect === 'sqlite') out += ':memory:'
    else if (this.database !== undefined) out += '/' + encodeURIComponent(this.database).replace(/%2F/g, '/')
    const query = Object.entries(this.query).flatMap(([key, value]) =>
      (typeof value === 'string' ? [value] : value).map((v) => `${encodeURIComponent(key)}=${encodeURIComponent(v)}`),
    )
    if (query.length > 0) out += '?' + query.join('&')
    return out
  }

  /**
   * The URL with its password as `***`.
   *
   * ```ts
   * `${parseUrl('mysql://root:pw@db/app')}` // 'mysql://root:***@db/app'
   * ```
   */
  toString(): string {
    return this.render({ hidePassword: true })
  }

  /**
   * `JSON.stringify` prints the masked string.
   *
   * ```ts
   * JSON.stringify({ url }) // '{"url":"postgresql://app:***@db/app"}'
   * ```
   */
  toJSON(): string {
    return this.toString()
  }

  /**
   * True when both URLs have the same parts.
   *
   * ```ts
   * parseUrl('mysql://db/app?charset=utf8mb4').equals(parseUrl('mysql://db/app?charset=utf8mb4&')) // true
   * ```
   */
  equals(other: EngineUrl): boolean {
    return this.render({ hidePassword: false }) === other.render({ hidePassword: false })
  }

  /**
   * `text` with every occurrence of this URL's password (as is and
   * percent-encoded) replaced by `***`: for driver messages that might echo it.
   *
   * ```ts
   * url.redact(String(driverError)) // never contains the password
   * ```
   */
  redact(text: string): string {
    const password = this.password
    if (password === undefined || password === '') return text
    let out = text
    for (const form of new Set([password, encodeURIComponent(password)])) out = out.split(form).join('***')
    return out
  }

  /** The decoded parts, for `with()`. */
  private parts(): UrlParts {
    return {
      drivername: this.drivername,
      username: this.username,
      password: this.password,
      host: this.host,
      port: this.port,
      database: this.database,
      query: this.query,
    }
  }

  /** `console.log(url)` and `util.inspect` print the masked string. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `EngineUrl(${this.toString()})`
  }
}

/**
 * Parses `dialect[+driver]://user:password@host:port/database?key=value`.
 * Throws {@link UrlError} (code `URL_INVALID`) for anything malformed or
 * unknown; the message names the problem and never shows the password.
 *
 * Percent-encode `@ : / ? # %` in user names and passwords. An `@` the parser
 * could read as part of a password and as a separator is refused, never guessed.
 *
 * ```ts
 * parseUrl('postgresql://app:p%40ss@[::1]:5432/app').host // '::1'
 * parseUrl('sqlite:////var/data/app.db').database          // '/var/data/app.db'
 * parseUrl('pglite://').inMemory                           // true
 * ```
 */
export function parseUrl(text: string): EngineUrl {
  if (typeof text !== 'string') {
    throw new UrlError(`a database URL must be a string, not ${text === null ? 'null' : typeof text}`)
  }
  const shown = maskUrl(text)
  let server = false
  const fail = (problem: string): never => {
    // A URL that does not parse because of a raw password says so (its text never appears).
    throw urlError((server ? rawCredentialProblem(text) : undefined) ?? problem, shown)
  }
  if (text === '') fail('the URL is empty')
  if (CONTROL.test(text)) fail('the URL contains a control character (a trailing newline?)')
  if (LONE_SURROGATE.test(text)) fail('the URL is not well-formed Unicode (unpaired surrogate)')
  if (text.trim() !== text) fail('the URL has leading or trailing whitespace')

  const sep = text.indexOf('://')
  if (sep < 0) {
    const scheme = /^([A-Za-z][A-Za-z0-9_+.-]*):/.exec(text)?.[1]
    if (scheme !== undefined) fail(`missing "//" after "${scheme}:" (write ${scheme}://...)`)
    fail('missing "://": a URL starts with dialect[+driver]://')
  }
  const drivername = text.slice(0, sep)
  if (drivername === '') fail('the dialect before "://" is empty')
  if (!/^[A-Za-z0-9_.+-]+$/.test(drivername)) {
    fail('the text before "://" is not dialect[+driver] (letters, digits, "_", "-" and one "+")')
  }
  const backend = resolveScheme(drivername, (problem) => urlError(problem, shown))

  const rest = text.slice(sep + 3)
  const authEnd = firstOf(rest, '/?')
  const authority = rest.slice(0, authEnd)
  const qAt = rest.indexOf('?', authEnd)
  const path = rest.slice(authEnd, qAt < 0 ? rest.length : qAt)
  const queryText = qAt < 0 ? undefined : rest.slice(qAt + 1)
  server = backend.dialect === 'postgresql' || backend.dialect === 'mysql'

  if (authority.includes('#')) fail('an unencoded "#" before the host: percent-encode it as %23')
  const ats = count(authority, '@')
  if (ats > 1) fail('more than one "@" before the host: percent-encode an "@" in the user name or password as %40')
  if (server) {
    // An '@' after the host may end a user part cut short by an unencoded '/'
    // or '?'; reading it either way could be wrong, so it must be encoded.
    if (path.includes('@')) {
      fail('an unencoded "@" after the host: write it as %40 in a database name, and percent-encode "/", "?", "#" and "@" in a password')
    }
    if (ats === 0 && queryText?.includes('@')) {
      fail('an unencoded "@" after the host: percent-encode "/", "?", "#" and "@" in a user name or password, and "@" in query values (%40)')
    }
  }

  const at = authority.indexOf('@')
  const userinfo = at < 0 ? undefined : authority.slice(0, at)
  const hostport = authority.slice(at + 1)
  let username: string | undefined
  let password: string | undefined
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':')
    username = decode(colon < 0 ? userinfo : userinfo.slice(0, colon), fail, 'the user name')
    if (colon >= 0) password = decode(userinfo.slice(colon + 1), fail, 'the password')
  }

  let host: string | undefined
  let port: number | undefined
  let database: string | undefined
  if (!server) {
    if (authority === ':memory:') database = ':memory:'
    else if (authority !== '') {
      fail(
        `a ${backend.dialect} URL takes no user, password, host or port: write ${drivername}:// (in memory), ` +
          `${drivername}:///relative/path or ${drivername}:////absolute/path`,
      )
    }
    if (path !== '' && database === ':memory:') fail('nothing may follow ":memory:" but a query')
  } else {
    ;({ host, port } = parseHostPort(hostport, fail))
  }
  if (path.length > 1) database = decode(path.slice(1), fail, 'the database')

  const query = queryText === undefined ? {} : parseQuery(queryText, fail)
  return construct({ drivername, username, password, host, port, database, query }, shown)
}

/**
 * When a URL that failed to parse has a user name or password holding one of
 * `@ / ? #` (the characters that end the user part early), the problem to
 * report instead: percent-encode it, and how. `undefined` otherwise.
 */
function rawCredentialProblem(text: string): string | undefined {
  const rest = text.slice(text.indexOf('://') + 3)
  const lastAt = rest.lastIndexOf('@')
  if (lastAt < 0) return undefined
  const userinfo = rest.slice(0, lastAt)
  const colon = userinfo.indexOf(':')
  const user = colon < 0 ? userinfo : userinfo.slice(0, colon)
  const what = /[@/?#]/.test(user) ? 'user name' : colon >= 0 && /[@/?#]/.test(userinfo.slice(colon + 1)) ? 'password' : undefined
  if (what === undefined) return undefined
  return (
    `the ${what} holds a character a URL reserves ("@", ":", "/", "?" or "#"), so it must be percent-encoded: ` +
    `write encodeURIComponent(${what === 'password' ? 'password' : 'user'}) in its place ` +
    '("@" is %40, ":" %3A, "/" %2F, "?" %3F, "#" %23; e.g. "p@ss/w:rd" is "p%40ss%2Fw%3Ard"), ' +
    'or build the URL with EngineUrl.create({ drivername, username, password, host, port, database }); ' +
    'an "@" in a database name is %40 too'
  )
}

/**
 * `text` with anything that could be a password replaced by `***`, for
 * showing a URL that may not even parse. Over-masks rather than under-masks.
 *
 * ```ts
 * maskUrl('postgresql://app:p@ss@db/app') // 'postgresql://app:***@db/app'
 * ```
 */
export function maskUrl(text: string): string {
  const sep = text.indexOf('://')
  const start = sep < 0 ? 0 : sep + 3
  let rest = text.slice(start)
  const lastAt = rest.lastIndexOf('@')
  const colon = rest.indexOf(':')
  if (lastAt >= 0) {
    if (colon >= 0 && colon < lastAt) rest = rest.slice(0, colon + 1) + '***' + rest.slice(lastAt)
  } else {
    // No '@': a 'user:password/...' missing its host would show the password as a port.
    const authority = rest.slice(0, firstOf(rest, '/?'))
    const port = authority.slice(authority.lastIndexOf(':') + 1)
    if (colon >= 0 && colon < authority.length && !/^\d*$/.test(port) && !authority.startsWith('[') && authority !== ':memory:') {
      rest = rest.slice(0, colon + 1) + '***' + rest.slice(authority.length)
    }
  }
  const q = rest.indexOf('?')
  if (q >= 0) {
    const masked = rest
      .slice(q + 1)
      .split('&')
      .map((pair) => {
        const eq = pair.indexOf('=')
        return eq >= 0 && SECRET_KEY.test(pair.slice(0, eq)) ? `${pair.slice(0, eq)}=***` : pair
      })
    rest = rest.slice(0, q + 1) + masked.join('&')
  }
  return text.slice(0, start) + rest
}

/** A URL's parts after validation, plus what follows from the scheme. */
type NormalizedParts = Pick<
  EngineUrl,
  'drivername' | 'dialect' | 'backend' | 'driver' | 'username' | 'password' | 'host' | 'port' | 'database' | 'query' | 'inMemory'
>

type Fail = (problem: string) => never

function urlError(problem: string, shown: string): UrlError {
  // A runaway string (a whole config file pasted in) should not become a megabyte message.
  const brief = shown.length > 300 ? `${shown.slice(0, 300)}...` : shown
  return new UrlError(`invalid database URL ${JSON.stringify(brief)}: ${problem}`, shown)
}

function normalize(parts: UrlParts, error: (problem: string) => UrlError): NormalizedParts {
  const fail: Fail = (problem) => {
    throw error(problem)
  }
  if (parts === null || typeof parts !== 'object') fail('the URL parts must be an object')
  if (typeof parts.drivername !== 'string' || parts.drivername === '') fail('the dialect is empty')
  const drivername = parts.drivername
  const backend = resolveScheme(drivername, error)
  const plus = drivername.indexOf('+')
  const dialect = backend.dialect
  for (const key of ['username', 'password', 'host', 'database'] as const) {
    const value = parts[key]
    if (value === undefined) continue
    if (typeof value !== 'string') fail(`${key} must be a string`)
    if (LONE_SURROGATE.test(value)) fail(`${key} is not well-formed Unicode (unpaired surrogate)`)
  }
  const port = parts.port
  if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)) {
    fail(`the port ${String(port)} is out of range (1-65535)`)
  }
  const server = dialect === 'postgresql' || dialect === 'mysql'
  if (!server && (parts.username !== undefined || parts.password !== undefined || parts.host !== undefined || port !== undefined)) {
    fail(`a ${dialect} URL takes no user, password, host or port`)
  }
  let database = parts.database === '' ? undefined : parts.database
  if (dialect === 'pglite' && database === ':memory:') database = undefined
  const host = parts.host === '' ? undefined : parts.host
  // A password needs a user name slot in front of it ('':pw@host), so keep them paired.
  const username = parts.username ?? (parts.password !== undefined ? '' : undefined)
  return {
    drivername,
    dialect,
    backend: (plus < 0 ? drivername : drivername.slice(0, plus)).toLowerCase(),
    driver: plus < 0 ? backend.drivers[0] : drivername.slice(plus + 1).toLowerCase(),
    username,
    password: parts.password,
    host,
    port,
    database,
    query: normalizeQuery(parts.query ?? {}, dialect, fail),
    inMemory: !server && (database === undefined || database === ':memory:'),
  }
}

/** Finds the backend for `dialect[+driver]`, or throws naming what is unknown. */
function resolveScheme(drivername: string, error: (problem: string) => UrlError): Backend {
  const plus = drivername.indexOf('+')
  const name = (plus < 0 ? drivername : drivername.slice(0, plus)).toLowerCase()
  const driver = plus < 0 ? undefined : drivername.slice(plus + 1).toLowerCase()
  if (name === '') throw error('the dialect before "+" is empty')
  if (!Object.hasOwn(BACKENDS, name)) {
    throw error(`unknown dialect ${JSON.stringify(name)}; known: ${Object.keys(BACKENDS).join(', ')}`)
  }
  const backend = BACKENDS[name]
  if (driver === '') throw error(`the driver after "${name}+" is empty`)
  if (driver !== undefined && !backend.drivers.includes(driver)) {
    throw error(`unknown driver ${JSON.stringify(driver)} for ${backend.dialect}; known: ${backend.drivers.join(', ')}`)
  }
  return backend
}

function normalizeQuery(
  query: Readonly<Record<string, string | readonly string[]>>,
  dialect: DialectName,
  fail: Fail,
): Readonly<Record<string, string | readonly string[]>> {
  if (query === null || typeof query !== 'object') fail('the query must be an object')
  const known = KNOWN_QUERY_PARAMETERS[dialect]
  const out: Record<string, string | readonly string[]> = {}
  for (const [key, raw] of Object.entries(query)) {
    if (!known.includes(key)) {
      const list = known.length > 0 ? `known: ${known.join(', ')}` : `${dialect} URLs take none`
      fail(`unknown query parameter ${quote(key)} for ${dialect}; ${list}`)
    }
    const values = typeof raw === 'string' ? [raw] : raw
    if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) {
      fail(`query parameter "${key}" must be a string or an array of strings`)
    }
    const check = VALUE_CHECKS[dialect][key]
    for (const value of values as readonly string[]) {
      if (LONE_SURROGATE.test(value)) fail(`query parameter "${key}" is not well-formed Unicode`)
      const problem = check?.(value)
      if (problem !== undefined) fail(`query parameter "${key}" ${problem}, not ${quote(value)}`)
    }
    if (values.length === 1) out[key] = values[0]
    else if (values.length > 1) out[key] = Object.freeze([...values])
  }
  return Object.freeze(out)
}

function parseHostPort(hostport: string, fail: Fail): { host?: string; port?: number } {
  let hostText: string
  let portText: string | undefined
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']')
    if (close < 0) fail('an IPv6 host is missing its closing "]"')
    const inner = decode(hostport.slice(1, close), fail, 'the IPv6 host')
    if (!isIPv6(inner)) fail(`${JSON.stringify(hostport.slice(0, close + 1))} is not an IPv6 address`)
    const after = hostport.slice(close + 1)
    if (after !== '' && !after.startsWith(':')) fail('only ":port" may follow an IPv6 host\'s "]"')
    if (after !== '') portText = after.slice(1)
    return { host: inner, port: portText === undefined ? undefined : parsePort(portText, fail) }
  }
  const colons = count(hostport, ':')
  if (colons > 1) fail('an IPv6 host must be written in brackets, e.g. [::1]:5432')
  const colon = hostport.indexOf(':')
  hostText = colon < 0 ? hostport : hostport.slice(0, colon)
  if (colon >= 0) portText = hostport.slice(colon + 1)
  if (!HOST_CHARS.test(hostText)) fail('the host contains a character that must be percent-encoded')
  const host = hostText === '' ? undefined : decode(hostText, fail, 'the host')
  return { host, port: portText === undefined ? undefined : parsePort(portText, fail) }
}

function parsePort(text: string, fail: Fail): number {
  if (text === '') fail('the port after ":" is empty')
  if (!/^\d+$/.test(text)) fail('the port is not a number')
  const port = Number(text)
  if (port < 1 || port > 65535) fail(`the port ${text.length > 12 ? text.slice(0, 12) + '...' : text} is out of range (1-65535)`)
  return port
}

function parseQuery(text: string, fail: Fail): Record<string, string | string[]> {
  // No prototype: a key like "__proto__" must be a plain (and then unknown) key.
  const query: Record<string, string | string[]> = Object.create(null)
  for (const pair of text.split('&')) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    const key = decode(formDecode(eq < 0 ? pair : pair.slice(0, eq)), fail, 'a query parameter name')
    const value = eq < 0 ? '' : decode(formDecode(pair.slice(eq + 1)), fail, `the query parameter value`)
    if (key === '') fail('a query parameter has no name')
    if (!Object.hasOwn(query, key)) query[key] = value
    else {
      const prev = query[key]
      query[key] = typeof prev === 'string' ? [prev, value] : [...prev, value]
    }
  }
  return query
}

/** '+' is a space in a query (HTML form encoding); '%2B' is a plus. */
function formDecode(text: string): string {
  return text.replace(/\+/g, ' ')
}

function decode(text: string, fail: Fail, what: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    // The text itself is not quoted: it may be part of a password.
    return fail(`bad percent-encoding in ${what} (a "%" must be followed by two hex digits; write a literal "%" as %25)`)
  }
}

/**
 * Quotes text for an error message if it looks like a name; text holding
 * ':' or '@' and the like may be a piece of a misplaced password, so it is not shown.
 */
function quote(text: string): string {
  return /^[A-Za-z0-9_.\-]{0,64}$/.test(text) ? JSON.stringify(text) : '(not shown: it holds characters a password might)'
}

function renderHost(host: string): string {
  if (host.includes(':') && isIPv6(host)) return `[${host.replace('%', '%25')}]`
  return encodeURIComponent(host)
}

/** RFC 4291 text form, with an optional RFC 6874 zone after '%'. */
function isIPv6(text: string): boolean {
  const pct = text.indexOf('%')
  const address = pct < 0 ? text : text.slice(0, pct)
  if (pct >= 0 && !/^[A-Za-z0-9\-._~]+$/.test(text.slice(pct + 1))) return false
  const halves = address.split('::')
  if (halves.length > 2) return false
  const groups = halves.map((h) => (h === '' ? [] : h.split(':')))
  const all = groups.flat()
  let count = all.length
  const last = all[all.length - 1]
  if (last !== undefined && last.includes('.')) {
    if (!/^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(last)) return false
    all.pop()
    count += 1
  }
  if (!all.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false
  return halves.length === 2 ? count <= 7 : count === 8
}

function firstOf(text: string, chars: string): number {
  for (let i = 0; i < text.length; i++) if (chars.includes(text[i])) return i
  return text.length
}

function count(text: string, char: string): number {
  let n = 0
  for (const c of text) if (c === char) n++
  return n
}
