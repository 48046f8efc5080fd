/**
 * Issue 5, "Bad input": malformed URLs and options each give a typed error
 * (class and stable code) whose message names the problem; nothing crashes.
 */
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { createEngine, EngineOptionError, UrlError } from '../../src/engine/index.js'
import type { Engine, EngineOptions } from '../../src/engine/index.js'
import { ENGINE_OPTION_NAMES } from '../../src/engine/options.js'
import { AthanorError, PoolOptionError } from '../../src/pool/errors.js'
import { POOL_OPTION_NAMES } from '../../src/pool/index.js'

const made: Engine<unknown>[] = []
afterAll(async () => {
  await Promise.all(made.map((engine) => engine.dispose()))
})

/**
 * createEngine checks everything synchronously, before any connection: the
 * URL (UrlError), the engine's options (EngineOptionError), then the pool's
 * (PoolOptionError). An engine that does get made is disposed after the file.
 */
function configure(url: string, options?: unknown): void {
  made.push(createEngine(url, options as EngineOptions))
}

type ErrorClass = typeof UrlError | typeof EngineOptionError | typeof PoolOptionError

interface Case {
  readonly url: string
  readonly options?: unknown
  readonly error: ErrorClass
  readonly code: string
  readonly message: RegExp
}

const URL_CASES: Record<string, Case> = {}
const badUrl = (name: string, url: string, message: RegExp): void => {
  URL_CASES[name] = { url, error: UrlError, code: 'URL_INVALID', message }
}

badUrl('empty string', '', /the URL is empty/)
badUrl('no scheme at all', 'localhost:5432/app', /missing "\/\/" after "localhost:"/)
badUrl('no "://"', 'just-a-hostname', /missing ":\/\/"/)
badUrl('single slash', 'postgresql:/db/app', /missing "\/\/" after "postgresql:"/)
badUrl('http scheme', 'http://db/app', /unknown dialect "http"; known: postgresql/)
badUrl('jdbc scheme', 'jdbc:postgresql://db/app', /the text before ":\/\/" is not dialect\[\+driver\]/)
badUrl('empty dialect', '://db/app', /dialect before ":\/\/" is empty/)
badUrl('empty dialect before driver', '+pg://db/app', /dialect before "\+" is empty/)
badUrl('unknown dialect oracle', 'oracle://scott:tiger@db/orcl', /unknown dialect "oracle"/)
badUrl('unknown dialect mssql', 'mssql+pyodbc://db/app', /unknown dialect "mssql"/)
badUrl('typo in dialect', 'postgressql://db/app', /unknown dialect "postgressql"/)
badUrl('unknown pg driver', 'postgresql+psycopg2://db/app', /unknown driver "psycopg2" for postgresql; known: pg/)
badUrl('unknown mysql driver', 'mysql+mysqldb://db/app', /unknown driver "mysqldb" for mysql; known: mysql2/)
badUrl('unknown sqlite driver', 'sqlite+pysqlite:///a.db', /unknown driver "pysqlite" for sqlite; known: better-sqlite3/)
badUrl('pg driver on mysql', 'mariadb+pg://db/app', /unknown driver "pg" for mysql/)
badUrl('empty driver', 'mysql+://db/app', /driver after "mysql\+" is empty/)
badUrl('two drivers', 'postgresql+pg+pg://db/app', /unknown driver "pg\+pg"/)
badUrl('non-numeric port', 'postgresql://db:port/app', /port is not a number/)
badUrl('negative port', 'mysql://db:-3306/app', /port is not a number/)
badUrl('port 0', 'postgresql://db:0/app', /port 0 is out of range \(1-65535\)/)
badUrl('port 65536', 'postgresql://db:65536/app', /port 65536 is out of range/)
badUrl('huge port', 'postgresql://db:99999999999999999999/app', /port 999999999999\.\.\. is out of range/)
badUrl('empty port', 'mysql://db:/app', /port after ":" is empty/)
badUrl('fractional port', 'postgresql://db:54.32/app', /port is not a number/)
badUrl('unescaped @ in password', 'postgresql://app:p@ssword@db/app', /the password holds a character a URL reserves .*percent-encoded.*"@" is %40/)
badUrl('unescaped / in password', 'postgresql://app:pass/word@db/app', /the password holds .*encodeURIComponent\(password\)/)
badUrl('unescaped ? in password', 'mysql://root:pa?ss@db/app', /the password holds .*encodeURIComponent\(password\)/)
badUrl('unescaped # in password', 'postgresql://app:pa#ss@db/app', /the password holds .*encodeURIComponent\(password\)/)
badUrl('every reserved character in a password', 'postgresql://app:@:/?#@db/app', /the password holds .*encodeURIComponent\(password\)/)
badUrl('reserved characters before a port', 'postgresql://app:p@ss:w/rd?#@db:5432/app', /the password holds .*encodeURIComponent\(password\)/)
badUrl('bad percent escape in password', 'postgresql://app:100%@db/app', /bad percent-encoding in the password/)
badUrl('bad percent escape in user', 'postgresql://a%g1:pw@db/app', /bad percent-encoding in the user name/)
badUrl('IPv6 without brackets', 'postgresql://fe80::1:5432/app', /IPv6 host must be written in brackets/)
badUrl('unclosed IPv6 bracket', 'postgresql://[::1:5432/app', /missing its closing "\]"/)
badUrl('not IPv6 in brackets', 'postgresql://[db.local]:5432/app', /is not an IPv6 address/)
badUrl('space in host', 'postgresql://my db/app', /host contains a character that must be percent-encoded/)
badUrl('trailing newline', 'postgresql://db/app\n', /control character \(a trailing newline\?\)/)
badUrl('leading space', ' postgresql://db/app', /leading or trailing whitespace/)
badUrl('unknown pg query parameter', 'postgresql://db/app?sslmod=require', /unknown query parameter "sslmod" for postgresql; known: sslmode, application_name/)
badUrl('libpq password in query', 'postgresql://db/app?password=x', /unknown query parameter "password"/)
badUrl('unknown mysql query parameter', 'mysql://db/app?sslmode=REQUIRED', /unknown query parameter "sslmode" for mysql; known: charset/)
badUrl('bad sslmode', 'postgresql://db/app?sslmode=maybe', /"sslmode" must be one of disable, allow, prefer, require, verify-ca, verify-full/)
badUrl('bad connect_timeout', 'mysql://db/app?connect_timeout=ten', /"connect_timeout" must be a whole number of seconds, not "ten"/)
badUrl('bad sqlite mode', 'sqlite:///a.db?mode=readonly', /"mode" must be one of ro, rw, rwc/)
badUrl('query on pglite', 'pglite:///data?debug=1', /pglite URLs take none/)
badUrl('nameless query parameter', 'postgresql://db/app?=x', /query parameter has no name/)
badUrl('host on sqlite', 'sqlite://localhost/app.db', /sqlite URL takes no user, password, host or port/)
badUrl('password on pglite', 'pglite://u:pw@/data', /pglite URL takes no user, password, host or port/)
badUrl('path after :memory:', 'sqlite://:memory:/x.db', /nothing may follow ":memory:"/)

const OPTION_CASES: Record<string, Case> = {}
const badEngineOption = (name: string, options: unknown, message: RegExp): void => {
  OPTION_CASES[name] = { url: 'sqlite://', options, error: EngineOptionError, code: 'ENGINE_OPTION', message }
}
// On a server URL, so the queue pool (which uses every option) checks them; nothing connects.
const SERVER_URL = 'postgresql://bad-input.invalid/app'
const badPoolOption = (name: string, options: unknown, message: RegExp): void => {
  OPTION_CASES[name] = { url: SERVER_URL, options, error: PoolOptionError, code: 'POOL_OPTION', message }
}

badEngineOption('options null', null, /engine options must be an object, not null/)
badEngineOption('options an array', [['poolSize', 5]], /engine options must be an object, not an array/)
badEngineOption('options a string', 'poolSize=5', /engine options must be an object/)
badEngineOption('snake_case pool_size', { pool_size: 5 }, /unknown engine option "pool_size" \(did you mean "poolSize"\?\); known options: .*poolSize/)
badEngineOption('snake_case pool_pre_ping', { pool_pre_ping: true }, /did you mean "poolPrePing"/)
badEngineOption('typo maxOverflw', { maxOverflw: 3 }, /unknown engine option "maxOverflw" \(did you mean "maxOverflow"\?\)/)
badEngineOption('knex-style pool object', { pool: { min: 0, max: 10 } }, /unknown engine option "pool"/)
badEngineOption('url as an option', { url: 'sqlite://' }, /unknown engine option "url"/)
badEngineOption('isolationLevel SNAPSHOT', { isolationLevel: 'SNAPSHOT' }, /isolationLevel: expected one of 'READ UNCOMMITTED'/)
badEngineOption('isolationLevel lower case', { isolationLevel: 'read committed' }, /isolationLevel: .*got "read committed"/)
badEngineOption('echo "verbose"', { echo: 'verbose' }, /echo: expected true, false or 'debug'/)
badEngineOption('echoPool 1', { echoPool: 1 }, /echoPool: .*got 1/)
badEngineOption('hideParameters "yes"', { hideParameters: 'yes' }, /hideParameters: expected a boolean/)
badEngineOption('logger without methods', { logger: {} }, /logger: expected an object with info, warn and error functions/)
badEngineOption('logger a string', { logger: 'pino' }, /logger/)
badEngineOption('statementTimeout negative', { statementTimeout: -1 }, /statementTimeout: expected a finite number of ms >= 0/)
badEngineOption('statementTimeout a string', { statementTimeout: '30s' }, /statementTimeout: .*got "30s"/)
badEngineOption('unknown poolClass', { poolClass: 'QueuePool' }, /poolClass: expected one of 'queue', 'null', 'static', 'assertion', 'single'/)
badEngineOption('poolClass a number', { poolClass: 3 }, /poolClass/)
badEngineOption('connectArgs a string', { connectArgs: 'ssl=1' }, /connectArgs: expected an object/)
badEngineOption('isolation level the dialect lacks', { isolationLevel: 'READ COMMITTED' }, /sqlite does not support isolation level 'READ COMMITTED'/)
badEngineOption('a multi-connection pool on an in-memory database', { poolClass: 'queue' }, /poolClass 'queue' cannot serve an in-memory database/)
OPTION_CASES['URL not a string'] = { url: 42 as unknown as string, error: EngineOptionError, code: 'ENGINE_OPTION', message: /createEngine needs a URL string or an EngineUrl, got number/ }
badPoolOption('negative poolSize', { poolSize: -1 }, /poolSize/)
badPoolOption('poolSize a string', { poolSize: '5' }, /poolSize.*"5"/)
badPoolOption('fractional poolSize', { poolSize: 2.5 }, /poolSize/)
badPoolOption('maxOverflow -2', { maxOverflow: -2 }, /maxOverflow/)
badPoolOption('poolTimeout 0', { poolTimeout: 0 }, /poolTimeout/)
badPoolOption('poolTimeout negative', { poolTimeout: -100 }, /poolTimeout/)
badPoolOption('poolTimeout a string', { poolTimeout: '30s' }, /poolTimeout.*"30s"/)
badPoolOption('poolTimeout NaN', { poolTimeout: NaN }, /poolTimeout/)
badPoolOption('poolRecycle 0', { poolRecycle: 0 }, /poolRecycle/)
badPoolOption('poolPrePing "yes"', { poolPrePing: 'yes' }, /poolPrePing/)
badPoolOption('poolResetOnReturn "abort"', { poolResetOnReturn: 'abort' }, /poolResetOnReturn/)
badPoolOption('maxUses 0', { maxUses: 0 }, /maxUses/)
badPoolOption('connectTimeout negative', { connectTimeout: -1 }, /connectTimeout/)
badPoolOption('name a number', { name: 42 }, /name/)

describe('bad input gives typed errors that name the problem', () => {
  it('has at least 50 cases', () => {
    expect(Object.keys(URL_CASES).length + Object.keys(OPTION_CASES).length).toBeGreaterThanOrEqual(50)
  })

  it.each(Object.entries({ ...URL_CASES, ...OPTION_CASES }))('%s', (_, { url, options, error, code, message }) => {
    let thrown: unknown
    try {
      configure(url, options)
    } catch (e) {
      thrown = e
    }
    expect(thrown).toBeInstanceOf(error)
    expect(thrown).toBeInstanceOf(AthanorError)
    expect((thrown as AthanorError).code).toBe(code)
    expect((thrown as AthanorError).name).toBe(error.name)
    expect((thrown as AthanorError).message).toMatch(message)
  })

  it('the good forms next to them pass, so the cases above fail for the reason they name', () => {
    const good: Array<[string, EngineOptions]> = [
      ['postgresql://app:p%40ss@db:5432/app?sslmode=require', { poolSize: 2, maxOverflow: 0, isolationLevel: 'READ COMMITTED', echo: false }],
      ['mysql+mysql2://root@[::1]:3306/app', { poolTimeout: 100, poolRecycle: 3_600_000, poolClass: 'static' }],
      ['sqlite:///bad-input-never-created.db?mode=ro', { isolationLevel: 'SERIALIZABLE' }],
      ['sqlite://', { poolTimeout: 50, echo: 'debug', logger: console }],
      ['pglite://', { statementTimeout: 0, hideParameters: true }],
    ]
    for (const [url, options] of good) expect(() => configure(url, options)).not.toThrow()
  })
})

describe('arbitrary options', () => {
  it('give an engine or a typed option error, never anything else', async () => {
    const key = fc.oneof(fc.constantFrom(...ENGINE_OPTION_NAMES, ...POOL_OPTION_NAMES), fc.string({ maxLength: 12 }))
    const urls = fc.constantFrom('sqlite://', 'postgresql://bad-input.invalid/app')
    await fc.assert(
      fc.asyncProperty(urls, fc.dictionary(key, fc.anything(), { maxKeys: 4 }), async (url, options) => {
        let engine: Engine<unknown>
        try {
          engine = createEngine(url, options as EngineOptions)
        } catch (e) {
          if (!(e instanceof EngineOptionError || e instanceof PoolOptionError)) throw e
          expect(e.message).toMatch(/option/)
          return
        }
        // Disposed at once: a minIdle fill must not go on in the background.
        await engine.dispose()
      }),
      { seed: Number(process.env.FC_SEED ?? 20261121), numRuns: 400 },
    )
  })
})

describe('bad pool option values on an in-memory engine', () => {
  // Its single-connection pool fixes poolSize and friends itself, but a value
  // that is wrong whatever the pool is still a mistake worth telling about.
  it.each<[string, Record<string, unknown>]>([
    ['poolSize', { poolSize: -1 }],
    ['poolSize', { poolSize: '5' }],
    ['maxOverflow', { maxOverflow: -2 }],
    ['poolRecycle', { poolRecycle: 0 }],
    ['maxUses', { maxUses: 0 }],
    ['poolTimeout', { poolTimeout: -5 }],
  ])('%s %o is a PoolOptionError on sqlite://', (name, options) => {
    expect(() => configure('sqlite://', options)).toThrow(PoolOptionError)
    expect(() => configure('sqlite://', options)).toThrow(name)
  })
})
