/**
 * Issue 8: `sslmode` means what it means to libpq. The local PostgreSQL has
 * no TLS, so `prefer` (TLS, then plain) and `allow` (plain first) must connect
 * without TLS, and `require` must fail with a typed error that says why.
 */
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/create-engine.js'
import { sslAttempts } from '../../src/engine/dialects/postgres.js'
import { TlsUnavailableError } from '../../src/engine/errors.js'
import { parseUrl } from '../../src/engine/url.js'
import { PoolConnectError } from '../../src/pool/errors.js'
import { PG_URL, runPg } from '../support/servers.js'

function withSslmode(mode: string): string {
  const url = parseUrl(PG_URL)
  return url.with({ query: { ...url.query, sslmode: mode } }).render({ hidePassword: false })
}

describe('sslmode attempts, in libpq order', () => {
  it.each([
    ['disable', [false]],
    ['allow', [false, { rejectUnauthorized: false }]],
    ['prefer', [{ rejectUnauthorized: false }, false]],
    ['require', [{ rejectUnauthorized: false }]],
    ['no-verify', [{ rejectUnauthorized: false }]],
    ['verify-full', [true]],
  ])('%s', (mode, expected) => {
    expect(sslAttempts(parseUrl(`postgresql://db/app?sslmode=${mode}`))).toEqual(expected)
  })

  it('verify-ca verifies the chain but not the host name', () => {
    const [ssl] = sslAttempts(parseUrl('postgresql://db/app?sslmode=verify-ca')) as [{ rejectUnauthorized: boolean; checkServerIdentity: () => unknown }]
    expect(ssl.rejectUnauthorized).toBe(true)
    expect(ssl.checkServerIdentity()).toBeUndefined()
  })
})

describe.skipIf(!runPg)('sslmode against a PostgreSQL server without TLS', () => {
  const tlsOf = async (mode: string): Promise<boolean | undefined> => {
    const engine = createEngine(withSslmode(mode), { poolSize: 1, poolTimeout: 15_000 })
    try {
      const { rows } = await sql<{ ssl: boolean }>`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`.execute(engine.db)
      return rows[0]?.ssl
    } finally {
      await engine.dispose()
    }
  }

  it('prefer tries TLS, then connects without it', async () => {
    expect(await tlsOf('prefer')).toBe(false)
  })

  it('allow connects without TLS first', async () => {
    expect(await tlsOf('allow')).toBe(false)
  })

  it.each(['require', 'verify-full'])('%s fails with a TlsUnavailableError that says what to do', async (mode) => {
    const error = await tlsOf(mode).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PoolConnectError)
    const cause = (error as PoolConnectError).cause
    expect(cause).toBeInstanceOf(TlsUnavailableError)
    expect((cause as TlsUnavailableError).code).toBe('TLS_UNAVAILABLE')
    expect((cause as Error).message).toMatch(new RegExp(`sslmode=${mode} needs TLS, but the PostgreSQL server at .* does not offer it.*sslmode=prefer`))
  })
})
