import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/index.js'
import { AthanorError } from '../../src/pool/errors.js'
import { UrlError } from '../../src/engine/errors.js'
import { EngineUrl, KNOWN_QUERY_PARAMETERS, maskUrl, parseUrl } from '../../src/engine/url.js'
import { MYSQL_URL, PG_URL, runMysql, runPg } from '../support/servers.js'
import { urlFields } from '../support/url-fields.js'


function urlError(text: string): UrlError {
  try {
    parseUrl(text)
  } catch (e) {
    expect(e).toBeInstanceOf(UrlError)
    return e as UrlError
  }
  throw new Error(`parsed without error: ${text}`)
}

describe('parseUrl: the SQLAlchemy forms', () => {
  it.each([
    [
      'postgresql://app:secret@db.internal:5432/app',
      { drivername: 'postgresql', dialect: 'postgresql', backend: 'postgresql', driver: 'pg', username: 'app', password: 'secret', host: 'db.internal', port: 5432, database: 'app', inMemory: false },
    ],
    [
      'postgresql+pg://app@localhost/app',
      { drivername: 'postgresql+pg', dialect: 'postgresql', backend: 'postgresql', driver: 'pg', username: 'app', password: undefined, host: 'localhost', port: undefined, database: 'app' },
    ],
    ['postgres://localhost', { drivername: 'postgres', dialect: 'postgresql', backend: 'postgres', driver: 'pg', host: 'localhost', database: undefined }],
    ['mysql://root:pw@127.0.0.1:3306/test', { dialect: 'mysql', backend: 'mysql', driver: 'mysql2', username: 'root', password: 'pw', host: '127.0.0.1', port: 3306, database: 'test' }],
    ['mysql+mysql2://root@db/test', { drivername: 'mysql+mysql2', dialect: 'mysql', driver: 'mysql2', username: 'root', host: 'db' }],
    ['mariadb://root@db/test', { drivername: 'mariadb', dialect: 'mysql', backend: 'mariadb', driver: 'mysql2' }],
    ['sqlite://', { dialect: 'sqlite', driver: 'better-sqlite3', database: undefined, inMemory: true }],
    ['sqlite://:memory:', { dialect: 'sqlite', database: ':memory:', inMemory: true }],
    ['sqlite:///:memory:', { dialect: 'sqlite', database: ':memory:', inMemory: true }],
    ['sqlite:///relative.db', { dialect: 'sqlite', database: 'relative.db', inMemory: false }],
    ['sqlite:///data/app.db', { dialect: 'sqlite', database: 'data/app.db', inMemory: false }],
    ['sqlite:////absolute/path/app.db', { dialect: 'sqlite', database: '/absolute/path/app.db', inMemory: false }],
    ['sqlite+better-sqlite3:///app.db', { drivername: 'sqlite+better-sqlite3', driver: 'better-sqlite3', database: 'app.db' }],
    ['pglite://', { dialect: 'pglite', driver: 'pglite', database: undefined, inMemory: true }],
    ['pglite://:memory:', { dialect: 'pglite', database: undefined, inMemory: true }],
    ['pglite:///path/to/dir', { dialect: 'pglite', database: 'path/to/dir', inMemory: false }],
    ['pglite:////var/lib/pglite', { dialect: 'pglite', database: '/var/lib/pglite', inMemory: false }],
    ['postgresql:///app', { host: undefined, database: 'app' }],
    ['postgresql://app@/app', { username: 'app', host: undefined, database: 'app' }],
    ['postgresql://:5433/app', { host: undefined, port: 5433 }],
    ['postgresql://app:@db/app', { username: 'app', password: '' }],
    ['PostgreSQL://db/app', { drivername: 'PostgreSQL', dialect: 'postgresql', backend: 'postgresql' }],
    ['MariaDB+MySQL2://db/app', { drivername: 'MariaDB+MySQL2', dialect: 'mysql', backend: 'mariadb', driver: 'mysql2' }],
  ])('%s', (text, expected) => {
    expect(urlFields(parseUrl(text))).toMatchObject(expected)
  })

  it('EngineUrl.parse is parseUrl', () => {
    expect(EngineUrl.parse('mariadb://db/app').equals(parseUrl('mariadb://db/app'))).toBe(true)
  })
})

describe('parseUrl: encoding, hosts and queries', () => {
  it('percent-decodes user, password and database', () => {
    const url = parseUrl('postgresql://us%3Aer:p%40ss%2Fw%3Ard%25%20x@db/my%20db%3F')
    expect(url.username).toBe('us:er')
    expect(url.password).toBe('p@ss/w:rd% x')
    expect(url.database).toBe('my db?')
  })

  it('keeps a raw ":" in a password (everything after the first ":" of the user part)', () => {
    expect(parseUrl('postgresql://app:a:b:c@db/app').password).toBe('a:b:c')
  })

  it('decodes unicode', () => {
    const url = parseUrl(`postgresql://${encodeURIComponent('ユーザー')}:${encodeURIComponent('пароль🔑')}@db/${encodeURIComponent('база')}`)
    expect([url.username, url.password, url.database]).toEqual(['ユーザー', 'пароль🔑', 'база'])
  })

  it('reads IPv6 hosts in brackets, with or without a port, and with a zone', () => {
    expect(urlFields(parseUrl('postgresql://app@[::1]:5432/app'))).toMatchObject({ host: '::1', port: 5432 })
    expect(parseUrl('mysql://[2001:db8::8a2e:370:7334]/x').host).toBe('2001:db8::8a2e:370:7334')
    expect(parseUrl('mysql://[::ffff:192.0.2.1]:3307').host).toBe('::ffff:192.0.2.1')
    expect(parseUrl('postgresql://[fe80::1%25eth0]/x').host).toBe('fe80::1%eth0')
  })

  it('reads a percent-encoded host (a PostgreSQL socket directory)', () => {
    expect(parseUrl('postgresql://app@%2Fvar%2Frun%2Fpostgresql/app').host).toBe('/var/run/postgresql')
  })

  it('collects a repeated query key into an array, a single one as a string', () => {
    const url = parseUrl('postgresql://db/app?options=-c%20a%3D1&application_name=web+1&options=-c+b%3D2')
    expect(url.query).toEqual({ options: ['-c a=1', '-c b=2'], application_name: 'web 1' })
  })

  it('accepts every known query parameter of each dialect', () => {
    expect(parseUrl('postgresql://db/a?sslmode=verify-full&application_name=x&connect_timeout=5&options=-c%20x%3D1&client_encoding=UTF8').query).toMatchObject({ sslmode: 'verify-full', connect_timeout: '5' })
    expect(parseUrl('mysql://db/a?charset=utf8mb4&connect_timeout=10&timezone=Z&ssl=true').query).toMatchObject({ charset: 'utf8mb4', timezone: 'Z' })
    expect(parseUrl('mysql://db/a?timezone=%2B05:30').query.timezone).toBe('+05:30')
    expect(parseUrl('sqlite:///a.db?mode=ro&timeout=5000').query).toEqual({ mode: 'ro', timeout: '5000' })
    expect(KNOWN_QUERY_PARAMETERS.pglite).toEqual([])
  })

  it('lets an "@" appear in a sqlite path and in a query value after a user part', () => {
    expect(parseUrl('sqlite:///backups/db@2024.db').database).toBe('backups/db@2024.db')
    expect(parseUrl('postgresql://u:p@db/app?application_name=me@host').query.application_name).toBe('me@host')
  })

  it('is immutable', () => {
    const url = parseUrl('postgresql://app:pw@db/app?options=a&options=b')
    expect(Object.isFrozen(url)).toBe(true)
    expect(Object.isFrozen(url.query)).toBe(true)
    expect(Object.isFrozen(url.query.options)).toBe(true)
    expect(() => {
      ;(url as { host?: string }).host = 'evil'
    }).toThrow(TypeError)
  })
})

describe('EngineUrl: masking', () => {
  const url = parseUrl('postgresql://app:hunter2%40x@db:5432/app?sslmode=require')

  it('prints the password as *** in toString(), template strings, JSON and inspect', () => {
    const masked = 'postgresql://app:***@db:5432/app?sslmode=require'
    expect(url.toString()).toBe(masked)
    expect(`${url}`).toBe(masked)
    expect(JSON.stringify({ url })).toBe(JSON.stringify({ url: masked }))
    expect(inspect(url)).toBe(`EngineUrl(${masked})`)
    expect(inspect({ nested: [url] }, { depth: 5 })).not.toContain('hunter2')
  })

  it('keeps the password out of enumeration and spreads, but readable', () => {
    expect(url.password).toBe('hunter2@x')
    expect(Object.keys(url)).not.toContain('password')
    expect(JSON.stringify({ ...url })).not.toContain('hunter2')
  })

  it('renders the real password, re-encoded, only when asked', () => {
    expect(url.render({ hidePassword: false })).toBe('postgresql://app:hunter2%40x@db:5432/app?sslmode=require')
    expect(url.render({ hidePassword: true })).toBe(url.toString())
  })

  it('redact() scrubs the password from any text, raw or encoded', () => {
    expect(url.redact('failed for hunter2@x (hunter2%40x)')).toBe('failed for *** (***)')
    expect(parseUrl('postgresql://app@db/app').redact('nothing to hide')).toBe('nothing to hide')
  })

  it('maskUrl() hides what could be a password in text that does not parse', () => {
    expect(maskUrl('postgresql://app:p@ss@db/app')).toBe('postgresql://app:***@db/app')
    expect(maskUrl('app:secret@db/app')).toBe('app:***@db/app')
    expect(maskUrl('postgresql://app:secret/app')).toBe('postgresql://app:***/app')
    expect(maskUrl('postgresql://db:5432/app?password=x&sslmode=y')).toBe('postgresql://db:5432/app?password=***&sslmode=y')
    expect(maskUrl('postgresql://db:5432/app')).toBe('postgresql://db:5432/app')
  })
})

describe('EngineUrl: round trips, create and with', () => {
  it.each([
    'postgresql://app:secret@db.internal:5432/app',
    'postgresql+pg://app@localhost/app?sslmode=require&application_name=web',
    'postgres://%E3%83%A6:%F0%9F%94%91@[::1]:5432/%D0%B1',
    'mysql://root@127.0.0.1:3306/test?charset=utf8mb4',
    'mariadb://u:p%3A%2F%3F%23%40%25@[fe80::1%25eth0]:3307/db',
    'sqlite://',
    'sqlite://:memory:',
    'sqlite:///relative.db',
    'sqlite:////absolute.db?mode=ro',
    'pglite://',
    'pglite:///path/to/dir',
    'postgresql://db/app?options=a&options=b',
  ])('%s renders back to itself and re-parses to an equal URL', (text) => {
    const url = parseUrl(text)
    const rendered = url.render({ hidePassword: false })
    expect(rendered).toBe(text)
    expect(urlFields(parseUrl(rendered))).toEqual(urlFields(url))
  })

  it('create() builds from decoded parts and encodes what needs it', () => {
    const url = EngineUrl.create({ drivername: 'postgresql', username: 'a@b', password: 'p/w?#', host: '::1', port: 5432, database: 'x y' })
    expect(url.render({ hidePassword: false })).toBe('postgresql://a%40b:p%2Fw%3F%23@[::1]:5432/x%20y')
    expect(urlFields(parseUrl(url.render({ hidePassword: false })))).toEqual(urlFields(url))
  })

  it('with() returns a new URL and leaves the original alone; undefined removes a part', () => {
    const url = parseUrl('postgresql://app:pw@db/app')
    const admin = url.with({ username: 'postgres', password: undefined, database: 'postgres' })
    expect(String(admin)).toBe('postgresql://postgres@db/postgres')
    expect(String(url)).toBe('postgresql://app:***@db/app')
    expect(url.with({ drivername: 'mariadb' }).dialect).toBe('mysql')
  })

  it('with() and create() validate like parse', () => {
    const url = parseUrl('postgresql://db/app')
    expect(() => url.with({ port: 70000 })).toThrow(UrlError)
    expect(() => url.with({ query: { nope: '1' } })).toThrow(/unknown query parameter "nope"/)
    expect(() => EngineUrl.create({ drivername: 'sqlite', host: 'db' })).toThrow(/takes no user, password, host or port/)
    expect(() => EngineUrl.create({ drivername: 'oracle' })).toThrow(/unknown dialect "oracle"/)
  })
})

describe('parseUrl: errors', () => {
  it.each([
    ['', /empty/],
    ['postgresql:/db/app', /missing "\/\/" after "postgresql:"/],
    ['db.internal:5432/app', /missing "\/\/"/],
    ['localhost/app', /missing ":\/\/"/],
    ['://db/app', /dialect before ":\/\/" is empty/],
    ['+pg://db/app', /dialect before "\+" is empty/],
    ['oracle://db/app', /unknown dialect "oracle"; known: postgresql, postgres, mysql, mariadb, sqlite, pglite/],
    ['postgresql+psycopg2://db/app', /unknown driver "psycopg2" for postgresql; known: pg/],
    ['mysql+pymysql://db/app', /unknown driver "pymysql" for mysql; known: mysql2/],
    ['postgresql+://db/app', /driver after "postgresql\+" is empty/],
    ['postgresql://db:abc/app', /port is not a number/],
    ['postgresql://db:0/app', /port 0 is out of range/],
    ['postgresql://db:65536/app', /port 65536 is out of range/],
    ['postgresql://db:/app', /port after ":" is empty/],
    ['postgresql://db:-1/app', /port is not a number/],
    ['postgresql://app:p@ss@db/app', /the password holds a character a URL reserves .*encodeURIComponent\(password\)/],
    ['postgresql://app:pa/ss@db/app', /the password holds a character a URL reserves .*%2F/],
    ['postgresql://app:12?x@db/app', /the password holds a character a URL reserves .*%3F/],
    ['postgresql://::1/app', /IPv6 host must be written in brackets/],
    ['postgresql://[::1/app', /missing its closing "\]"/],
    ['postgresql://[zz::1]/app', /is not an IPv6 address/],
    ['postgresql://[::1]x/app', /only ":port" may follow/],
    ['postgresql://app:p%zz@db/app', /bad percent-encoding in the password/],
    ['postgresql://app@db/a%E0%A4', /bad percent-encoding in the database/],
    ['postgresql://db/app?sslmode=sometimes', /query parameter "sslmode" must be one of disable, allow/],
    ['postgresql://db/app?connect_timeout=5s', /"connect_timeout" must be a whole number of seconds/],
    ['postgresql://db/app?charset=utf8', /unknown query parameter "charset" for postgresql; known: sslmode/],
    ['postgresql://db/app?client_encoding=LATIN1', /"client_encoding" must be UTF8 \(pg speaks only UTF-8\), not "LATIN1"/],
    ['mysql://db/app?sslmode=require', /unknown query parameter "sslmode" for mysql; known: charset/],
    ['sqlite:///a.db?mode=rwx', /"mode" must be one of ro, rw, rwc/],
    ['mysql://db/app?timezone=+05:00', /"timezone" must be local, Z or \+HH:MM \/ -HH:MM \(write "\+" as %2B\)/],
    ['sqlite:///a.db?timeout=-5', /"timeout" must be a whole number of milliseconds/],
    ['pglite://?debug=1', /unknown query parameter "debug" for pglite; pglite URLs take none/],
    ['postgresql://db/app?=1', /query parameter has no name/],
    ['sqlite://app.db', /sqlite URL takes no user, password, host or port/],
    ['pglite://host/dir', /pglite URL takes no user, password, host or port/],
    ['sqlite://:memory:/x', /nothing may follow ":memory:"/],
    ['postgresql://db/app\n', /control character/],
    [' postgresql://db/app', /leading or trailing whitespace/],
    ['postgresql://ex ample/app', /host contains a character that must be percent-encoded/],
    ['postgresql://a#b@db/app', /the user name holds a character a URL reserves .*encodeURIComponent\(user\)/],
  ])('%s', (text, message) => {
    const error = urlError(text)
    expect(error).toBeInstanceOf(AthanorError)
    expect(error.code).toBe('URL_INVALID')
    expect(error.name).toBe('UrlError')
    expect(error.message).toMatch(message)
  })

  it('keeps the message short for a runaway input, and does not choke on it', () => {
    const error = urlError(`postgresql://${'a'.repeat(200_000)}:x/app`)
    expect(error.message).toMatch(/the port is not a number/)
    expect(error.message.length).toBeLessThan(600)
  })

  it('rejects a non-string with a UrlError', () => {
    expect(() => parseUrl(undefined as unknown as string)).toThrow(UrlError)
    expect(() => parseUrl(42 as unknown as string)).toThrow(/must be a string, not number/)
  })

  it('shows the URL, masked, in the message and in error.url', () => {
    const error = urlError('postgresql://app:hunter2@db:99999/app')
    expect(error.message).toContain('"postgresql://app:***@db:99999/app"')
    expect(error.url).toBe('postgresql://app:***@db:99999/app')
    expect(error.message).not.toContain('hunter2')
  })

  it('never shows a password in the message, however the URL is malformed', () => {
    for (const text of [
      'postgresql://app:s3cr3t@x@db/app',
      'postgresql://app:s3cr3t/x@db/app',
      'postgresql://app:s3cr3t?x@db/app',
      'postgresql://app:s3cr3t/app',
      'postgresql://app:s3cr3t#x@db/app',
      'postgresql://app:s3cr3t%@db/app',
      'oracle://app:s3cr3t@db/app',
      'postgresql:/app:s3cr3t@db/app',
      'app:s3cr3t@db/app',
      'postgresql://app:s3cr3t@db/app?password=s3cr3t&x=1',
      'sqlite://app:s3cr3t@/x.db',
    ]) {
      const error = urlError(text)
      expect(error.message, text).not.toContain('s3cr3t')
    }
  })
})

describe('query parameters reach the driver', () => {
  const dir = mkdtempSync(join(tmpdir(), 'athanor-url-test-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('sqlite: mode=rwc creates the file, mode=ro opens it read-only, mode=rw needs it to exist', async () => {
    const file = join(dir, 'url-test.db')
    const rwc = createEngine(`sqlite:///${file}?mode=rwc&timeout=250`)
    try {
      await sql`create table url_test_t (x integer)`.execute(rwc.db)
      const { rows } = await sql<{ timeout: number }>`pragma busy_timeout`.execute(rwc.db)
      expect(Object.values(rows[0])[0]).toBe(250)
    } finally {
      await rwc.dispose()
    }
    const ro = createEngine(`sqlite:///${file}?mode=ro`)
    try {
      await expect(sql`insert into url_test_t values (1)`.execute(ro.db)).rejects.toThrow(/readonly/i)
    } finally {
      await ro.dispose()
    }
    const rw = createEngine(`sqlite:///${join(dir, 'missing.db')}?mode=rw`)
    try {
      await expect(sql`select 1`.execute(rw.db)).rejects.toThrow()
    } finally {
      await rw.dispose()
    }
  })

  it.skipIf(!runPg)('postgresql: application_name, options (statement_timeout) and client_encoding', async () => {
    const url = parseUrl(PG_URL).with({
      query: { application_name: 'url_test_app', options: '-c statement_timeout=1234', client_encoding: 'utf8', connect_timeout: '5' },
    })
    const engine = createEngine(url)
    try {
      const { rows } = await sql<{ app: string; timeout: string; encoding: string }>`
        select current_setting('application_name') as app, current_setting('statement_timeout') as timeout,
               current_setting('client_encoding') as encoding`.execute(engine.db)
      expect(rows[0]).toEqual({ app: 'url_test_app', timeout: '1234ms', encoding: 'UTF8' })
    } finally {
      await engine.dispose()
    }
  })

  it.skipIf(!runMysql)('mysql: charset', async () => {
    const engine = createEngine(parseUrl(MYSQL_URL).with({ query: { charset: 'latin1_swedish_ci', connect_timeout: '5' } }))
    try {
      const { rows } = await sql<{ cs: string }>`select @@character_set_client as cs`.execute(engine.db)
      expect(rows[0].cs).toBe('latin1')
    } finally {
      await engine.dispose()
    }
  })
})
