/**
 * Issue 5, "Bad input": malformed URLs and options each give a typed error
 * (class and stable code) whose message names the problem; nothing crashes.
 * Issue 8: raw passwords, column and table declarations, session.get keys.
 */
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import { createEngine, EngineOptionError, parseUrl, UrlError } from '../../src/engine/index.js'
import type { Engine, EngineOptions } from '../../src/engine/index.js'
import { ENGINE_OPTION_NAMES } from '../../src/engine/options.js'
import { AthanorError, PoolOptionError } from '../../src/pool/errors.js'
import { POOL_OPTION_NAMES } from '../../src/pool/index.js'
import {
  Column,
  InvalidRequestError,
  MappingError,
  MetaData,
  Model,
  integer,
  numeric,
  serial,
  sessionmaker,
  table,
  text,
  varchar,
} from '../../src/session/index.js'
import { PG_URL, runPg } from '../support/servers.js'

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

describe('a raw password in a URL (issue 8)', () => {
  it.each(['hunter2@:/?#zz', 'zz@hunter2', 'a/b?c#d@e', 'x:y@z/w', '@:/?#'])('%s: says to percent-encode it, and never shows it', (password) => {
    let thrown: unknown
    try {
      configure(`postgresql://app:${password}@db.example:5432/app`)
    } catch (e) {
      thrown = e
    }
    expect(thrown).toBeInstanceOf(UrlError)
    const message = (thrown as UrlError).message
    expect(message).toMatch(/the password holds a character a URL reserves .*percent-encoded: write encodeURIComponent\(password\)/)
    expect(message).not.toMatch(/the port/)
    expect(message).not.toContain(password)
    expect((thrown as UrlError).url).not.toContain(password)
    // The advice works: the encoded password parses back to itself.
    expect(parseUrl(`postgresql://app:${encodeURIComponent(password)}@db.example:5432/app`).password).toBe(password)
  })
})

/** A declared name goes into DDL quoted; a type argument goes in as a number, so both are checked when declared. */
describe('column and table declarations (issue 8)', () => {
  const INJECTION = '10), z int); DROP TABLE victim; --'
  const cases: [string, () => unknown, RegExp][] = [
    ['varchar(SQL text)', () => varchar(INJECTION as unknown as number), /varchar length must be an integer from 1 to 10485760, got "10\), z int\)/],
    ['varchar(NaN)', () => varchar(Number.NaN), /varchar length must be an integer .*got NaN/],
    ['varchar(0)', () => varchar(0), /varchar length/],
    ['varchar(2.5)', () => varchar(2.5), /varchar length/],
    ['numeric(-1, "x")', () => numeric(-1, 'x' as unknown as number), /numeric precision must be an integer from 1 to 1000, got -1/],
    ['numeric(10, "x")', () => numeric(10, 'x' as unknown as number), /numeric scale must be an integer from 0 to the precision \(10\), got "x"/],
    ['numeric(5, 6)', () => numeric(5, 6), /numeric scale/],
    ['an unknown foreign-key action', () => integer().references('a.id', { onDelete: 'cascade; DROP TABLE victim' as 'cascade' }), /onDelete must be one of 'cascade', 'set null', 'restrict', 'no action'/],
    ['an empty serverDefault', () => integer().serverDefault(''), /serverDefault needs SQL text/],
    [
      'a hand-made spec with SQL in its length',
      () => table('t', { id: serial().primaryKey(), x: new Column<string>({ ...varchar(5).spec, length: INJECTION as unknown as number }) }),
      /table "t" column "x": a varchar length/,
    ],
    ['a hand-made spec with an unknown kind', () => table('t', { id: new Column<number>({ ...integer().spec, kind: 'int); DROP TABLE victim; --' as 'integer', primaryKey: true }) }), /unknown column kind/],
    ['an empty table name', () => table('', { id: serial().primaryKey() }), /a table name must be a non-empty string/],
    ['a NUL in a column name', () => table('t', { 'a\0b': serial().primaryKey() }), /column name cannot contain a NUL/],
    ['a lone surrogate in a table name', () => table('t\ud800', { id: serial().primaryKey() }), /not well-formed Unicode/],
  ]
  it.each(cases)('%s is a MappingError', (_, declare, message) => {
    expect(declare).toThrow(MappingError)
    expect(declare).toThrow(message)
  })

  it.skipIf(!runPg)('so createAll never runs caller text on PostgreSQL: the victim table survives', async () => {
    const engine = createEngine(PG_URL, { poolSize: 1 })
    made.push(engine)
    const victim = new MetaData(table('bad_input_victim', { id: serial().primaryKey() }))
    await victim.createAll(engine)
    try {
      expect(() => table('bad_input_evil', { id: serial().primaryKey(), x: varchar(`${INJECTION.replace('victim', 'bad_input_victim')}` as unknown as number) })).toThrow(MappingError)
      // A long generated index name is shortened with a hash rather than cut by the server.
      const long = table('bad_input_long', { id: serial().primaryKey(), [`c${'x'.repeat(60)}`]: integer().index(), [`c${'x'.repeat(59)}y`]: integer().index() })
      await new MetaData(long).createAll(engine)
      const { rows } = await sql<{ n: string }>`SELECT COUNT(*) AS n FROM pg_indexes WHERE tablename = 'bad_input_long' AND indexname LIKE '%_idx'`.execute(engine.db)
      expect(Number(rows[0].n)).toBe(2)
      await new MetaData(long).dropAll(engine)
      const exists = await sql<{ t: string | null }>`SELECT to_regclass('bad_input_victim')::text AS t`.execute(engine.db)
      expect(exists.rows[0].t).toBe('bad_input_victim')
    } finally {
      await victim.dropAll(engine)
    }
  })
})

describe('session.get with a key that cannot be one (issue 8)', () => {
  const person = table('bad_input_person', { id: serial().primaryKey(), name: text() })
  const pair = table('bad_input_pair', { a: integer().primaryKey(), b: varchar(10).primaryKey() })
  class Person extends Model(person) {}
  class Pair extends Model(pair) {}
  const keys: [string, typeof Person | typeof Pair, unknown, RegExp][] = [
    ['NaN', Person, Number.NaN, /key column "id" of "bad_input_person" is integer, got NaN/],
    ['a string for an integer key', Person, '1', /is integer, got a string/],
    ['a fraction', Person, 1.5, /got a number with a fraction/],
    ['undefined', Person, undefined, /key column "id" .* needs a value, got undefined/],
    ['null', Person, null, /needs a value, got null/],
    ['an object without the key', Person, { name: 'x' }, /needs a value|is not a key column/],
    ['a scalar for a composite key', Pair, 1, /has a composite key: pass \{ a, b \}, got a number/],
    ['a missing part', Pair, { a: 1 }, /key column "b" .* needs a value/],
    ['an array of the wrong length', Pair, [1], /has a 2-column key \{ a, b \}, got an array of 1/],
    ['an extra part', Pair, { a: 1, b: 'x', c: 2 }, /"c" is not a key column/],
    ['a wrong type in a part', Pair, { a: 1, b: 2 }, /key column "b" .* is varchar, got a number/],
  ]
  it.each(keys)('%s is an InvalidRequestError before any round trip', async (_, model, key, message) => {
    const log: string[] = []
    const engine = createEngine('sqlite://', { echo: true, logger: { info: (m: unknown) => void log.push(String(m)), warn: () => {}, error: () => {} } })
    made.push(engine)
    const session = sessionmaker({ bind: engine })()
    try {
      const error = await session.get(model, key).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(InvalidRequestError)
      expect((error as Error).message).toMatch(message)
      expect(log).toEqual([])
      expect(engine.pool.checkedOut()).toBe(0)
    } finally {
      await session.close()
    }
  })

  it('good keys still work: a number, { id }, and a composite as an object or an array', async () => {
    const engine = createEngine('sqlite://')
    made.push(engine)
    await new MetaData(person, pair).createAll(engine)
    const session = sessionmaker({ bind: engine })()
    try {
      session.add(new Person({ name: 'Ada' }))
      session.add(new Pair({ a: 1, b: 'x' }))
      await session.flush()
      expect((await session.get(Person, 1))?.name).toBe('Ada')
      expect((await session.get(Person, { id: 1 }))?.name).toBe('Ada')
      expect(await session.get(Pair, { a: 1, b: 'x' })).not.toBeNull()
      expect(await session.get(Pair, [1, 'x'])).not.toBeNull()
      expect(await session.get(Pair, [1, 'y'])).toBeNull()
    } finally {
      await session.close()
    }
  })
})
