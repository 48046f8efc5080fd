import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { UrlError } from '../../src/engine/errors.js'
import { EngineUrl, maskUrl, parseUrl, type UrlParts } from '../../src/engine/url.js'
import { urlFields } from '../support/url-fields.js'

// A fixed seed keeps the suite deterministic; FC_SEED=<n> explores other inputs.
const seed = Number(process.env.FC_SEED ?? 20261121)
const params = (numRuns: number) => ({ seed, numRuns })


/** Text rich in the characters a URL treats specially, plus any unicode. */
const nasty = fc
  .array(
    fc.oneof(
      fc.string({ unit: 'binary', maxLength: 4 }),
      fc.constantFrom('@', ':', '/', '%', '?', '#', ' ', '+', '&', '=', '[', ']', '%40', '%zz', '::', '\u00e9', '\u{1F511}'),
    ),
    { maxLength: 6 },
  )
  .map((parts) => parts.join(''))

const host = fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain(), fc.constant('localhost'))
const port = fc.integer({ min: 1, max: 65535 })
const values = (value: fc.Arbitrary<string>) => fc.oneof(value, fc.array(value, { minLength: 2, maxLength: 3 }))

const serverParts: fc.Arbitrary<UrlParts> = fc.record(
  {
    drivername: fc.constantFrom('postgresql', 'postgresql+pg', 'postgres', 'mysql', 'mysql+mysql2', 'mariadb'),
    username: nasty,
    password: nasty,
    host,
    port,
    database: nasty,
  },
  { requiredKeys: ['drivername'] },
)

const pgQuery = fc.record(
  {
    sslmode: fc.constantFrom('disable', 'require', 'verify-full'),
    application_name: values(nasty),
    connect_timeout: fc.nat({ max: 600 }).map(String),
    options: values(nasty),
    client_encoding: fc.constantFrom('UTF8', 'utf8', 'UTF-8', 'unicode'),
  },
  { requiredKeys: [] },
)

const pgParts = fc
  .tuple(serverParts.filter((p) => !p.drivername.startsWith('m')), pgQuery)
  .map(([parts, query]) => ({ ...parts, query }))

const mysqlParts = fc
  .tuple(
    serverParts.filter((p) => p.drivername.startsWith('m')),
    fc.record(
      { charset: nasty, connect_timeout: fc.nat().map(String), timezone: fc.constantFrom('local', 'Z', '+05:30', '-08:00'), ssl: nasty },
      { requiredKeys: [] },
    ),
  )
  .map(([parts, query]) => ({ ...parts, query }))

const fileParts: fc.Arbitrary<UrlParts> = fc.record(
  {
    drivername: fc.constantFrom('sqlite', 'sqlite+better-sqlite3', 'pglite'),
    database: fc.oneof(nasty, fc.constant(':memory:'), nasty.map((p) => `/${p}`)),
  },
  { requiredKeys: ['drivername'] },
)

const sqliteParts = fc
  .tuple(
    fileParts.filter((p) => p.drivername.startsWith('sqlite')),
    fc.record({ mode: fc.constantFrom('ro', 'rw', 'rwc'), timeout: fc.nat().map(String) }, { requiredKeys: [] }),
  )
  .map(([parts, query]) => ({ ...parts, query }))

const anyParts = fc.oneof(pgParts, mysqlParts, sqliteParts, fileParts.filter((p) => p.drivername === 'pglite'))

describe('URL parser properties', () => {
  it('render(hidePassword: false) then parse is the identity', () => {
    fc.assert(
      fc.property(anyParts, (parts) => {
        const url = EngineUrl.create(parts)
        const again = parseUrl(url.render({ hidePassword: false }))
        expect(urlFields(again)).toEqual(urlFields(url))
        expect(again.equals(url)).toBe(true)
      }),
      params(1500),
    )
  })

  it('toString() never shows a non-empty password', () => {
    fc.assert(
      fc.property(pgParts, fc.stringMatching(/^[A-Za-z0-9]{12,20}$/), (parts, password) => {
        const url = EngineUrl.create({ ...parts, password })
        const shown = String(url)
        // The marker may legitimately occur elsewhere only if another part happens to hold it.
        const elsewhere = [url.username, url.host, url.database, JSON.stringify(url.query)].some((p) => p?.includes(password))
        if (!elsewhere) expect(shown).not.toContain(password)
        expect(shown).toContain(':***@')
      }),
      params(500),
    )
  })

  it('maskUrl() hides the password of any valid URL, as toString() does', () => {
    fc.assert(
      fc.property(pgParts, fc.stringMatching(/^[A-Za-z0-9]{12,20}$/), (parts, password) => {
        const url = EngineUrl.create({ ...parts, password })
        const elsewhere = [url.username, url.host, url.database, JSON.stringify(url.query)].some((p) => p?.includes(password))
        if (!elsewhere) expect(maskUrl(url.render({ hidePassword: false }))).not.toContain(password)
      }),
      params(500),
    )
  })

  const urlish = fc
    .array(
      fc.oneof(
        fc.constantFrom('postgresql', 'postgres', 'mysql', 'mariadb', 'sqlite', 'pglite', '+pg', '+mysql2', '+x', '://', ':///', ':memory:'),
        fc.constantFrom(':', '@', '/', '?', '#', '%', '%4', '%40', '%E0%A4', '[', ']', '::1', '=', '&', '+', ' ', '\n'),
        fc.constantFrom('mode=ro', 'sslmode=', 'sslmode=require', 'charset=utf8', 'options=', '5432', '0', '99999', 'db', 'user'),
        fc.string({ unit: 'binary', maxLength: 3 }),
      ),
      { maxLength: 14 },
    )
    .map((parts) => parts.join(''))

  const structured = fc
    .tuple(
      fc.constantFrom('postgresql://', 'postgres+pg://', 'mysql://', 'mariadb://', 'sqlite://', 'sqlite:///', 'pglite://', 'pglite:///'),
      fc
        .array(fc.constantFrom('u', 'p', ':', '@', 'db', 'h', '/', '?', 'mode=ro', 'sslmode=require', 'charset=x', '&', '%40', '%', '[::1]', ':5432', '.', ':memory:'), {
          maxLength: 8,
        })
        .map((parts) => parts.join('')),
    )
    .map(([scheme, rest]) => scheme + rest)

  it('any string either parses (and round-trips) or throws UrlError, nothing else', () => {
    let parsed = 0
    fc.assert(
      fc.property(fc.oneof(structured, urlish, fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme-ascii' })), (text) => {
        let url: EngineUrl
        try {
          url = parseUrl(text)
        } catch (e) {
          expect(e).toBeInstanceOf(UrlError)
          expect((e as UrlError).code).toBe('URL_INVALID')
          return
        }
        parsed++
        expect(typeof url.toString()).toBe('string')
        expect(urlFields(parseUrl(url.render({ hidePassword: false })))).toEqual(urlFields(url))
      }),
      params(5000),
    )
    // The generator must reach the parser's success paths, or the property says little.
    expect(parsed).toBeGreaterThan(200)
  })

  it('a UrlError never shows the password, however the text around it is broken', () => {
    const corruption = fc.constantFrom('@', '/', '?', '#', ':', '%', '[', ']', '::', ' ', 'x', '%zz', ':99999', '?bogus=1')
    fc.assert(
      fc.property(
        fc.constantFrom('postgresql', 'postgres', 'mysql', 'mariadb'),
        fc.stringMatching(/^[a-z]{1,8}$/),
        fc.stringMatching(/^[A-Za-z0-9]{16}$/),
        fc.array(fc.tuple(fc.nat(), corruption), { minLength: 1, maxLength: 3 }),
        (scheme, user, password, edits) => {
          // Corrupt anything but the scheme and the "user:password@" run itself.
          const head = `${scheme}://`
          const secret = `${user}:${password}@`
          let before = ''
          let after = 'db.example:5432/app?sslmode=require'
          for (const [at, text] of edits) {
            if (at % 2 === 0) {
              const i = at % (before.length + 1)
              before = before.slice(0, i) + text + before.slice(i)
            } else {
              const i = at % (after.length + 1)
              after = after.slice(0, i) + text + after.slice(i)
            }
          }
          try {
            parseUrl(head + before + secret + after)
          } catch (e) {
            expect(e).toBeInstanceOf(UrlError)
            expect((e as UrlError).message).not.toContain(password)
            expect((e as UrlError).url).not.toContain(password)
          }
        },
      ),
      params(3000),
    )
  })
})
