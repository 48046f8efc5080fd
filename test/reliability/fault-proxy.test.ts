/**
 * The fault proxy itself, against the real PostgreSQL with pg directly: every
 * fault the reliability scenarios rely on does what it says.
 */
import pg from 'pg'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js'
import { scoped } from '../support/reliability.js'
import { pgConfig, runPg } from '../support/servers.js'

const APP = scoped('fault_proxy_test')

async function client(proxy: FaultProxy): Promise<{ c: pg.Client; errors: Error[] }> {
  const c = new pg.Client({ ...pgConfig, host: proxy.host, port: proxy.port, application_name: APP })
  const errors: Error[] = []
  c.on('error', (e) => errors.push(e))
  await c.connect()
  return { c, errors }
}

/** Settles `p` or reports 'pending' after `ms`. */
function within<T>(p: Promise<T>, ms: number): Promise<{ value: T } | { error: unknown } | 'pending'> {
  return Promise.race([
    p.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    ),
    new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms)),
  ])
}

describe.skipIf(!runPg)('fault proxy (PostgreSQL through it)', () => {
  let proxy: FaultProxy
  beforeEach(async () => {
    proxy = await startFaultProxy({ host: pgConfig.host, port: pgConfig.port })
  })
  afterEach(async () => {
    await proxy.close()
  })

  it('passes traffic and counts sockets; a closed client leaves no socket behind', async () => {
    const { c } = await client(proxy)
    const r = await c.query<{ n: number }>('SELECT 41 + 1 AS n')
    expect(r.rows[0].n).toBe(42)
    expect(proxy.counts()).toMatchObject({ client: 1, server: 1, accepted: 1, refused: 0 })
    await c.end()
    await proxy.waitForSockets(0)
    await expect.poll(() => proxy.counts().server).toBe(0)
  })

  it('rewrites a URL to point at itself, keeping user, database and query', () => {
    expect(proxy.rewrite('postgresql://u:p%40ss@db.example:5432/app?sslmode=disable')).toBe(
      `postgresql://u:p%40ss@127.0.0.1:${proxy.port}/app?sslmode=disable`,
    )
    expect(proxy.rewrite('mysql://localhost/app')).toBe(`mysql://127.0.0.1:${proxy.port}/app`)
  })

  it('cutAll resets every connection; the client sees a socket error and new connections work', async () => {
    const a = await client(proxy)
    const b = await client(proxy)
    expect(proxy.counts().client).toBe(2)
    proxy.cutAll()
    await expect(a.c.query('SELECT 1')).rejects.toThrow()
    await expect(b.c.query('SELECT 1')).rejects.toThrow()
    await proxy.waitForSockets(0)
    expect(proxy.counts().server).toBe(0)
    const d = await client(proxy)
    expect((await d.c.query('SELECT 1 AS one')).rows[0].one).toBe(1)
    await d.c.end()
  })

  it('stall holds a query without closing anything; pass delivers it', async () => {
    const { c, errors } = await client(proxy)
    proxy.stall()
    const q = c.query<{ n: number }>('SELECT 7 AS n')
    expect(await within(q, 300)).toBe('pending')
    expect(proxy.counts()).toMatchObject({ client: 1, server: 1 })
    proxy.pass()
    expect((await q).rows[0].n).toBe(7)
    expect(errors).toEqual([])
    await c.end()
  })

  it('stall hides the server from new connections until traffic flows again', async () => {
    proxy.stall()
    const c = new pg.Client({ ...pgConfig, host: proxy.host, port: proxy.port, application_name: APP })
    c.on('error', () => {})
    const connecting = c.connect()
    expect(await within(connecting, 300)).toBe('pending')
    // The TCP handshake with the proxy completed, but nothing reached the server.
    expect(proxy.counts()).toMatchObject({ client: 1, server: 0 })
    proxy.pass()
    await connecting
    expect((await c.query('SELECT 1 AS one')).rows[0].one).toBe(1)
    await c.end()
  })

  it('delay holds every chunk at least that long, in order', async () => {
    const { c } = await client(proxy)
    proxy.delay(60)
    const t0 = performance.now()
    // One after another: pg must never be handed a query while it runs one (the suite fails on its warning).
    const results = []
    for (const n of [1, 2, 3]) results.push(await c.query<{ n: number }>(`SELECT ${n} AS n`))
    // A round trip is at least one chunk each way.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(2 * 60 - 2)
    expect(results.map((r) => r.rows[0].n)).toEqual([1, 2, 3])
    proxy.delay(0)
    await c.end()
  })

  it('refuse resets new connections and leaves existing ones alone', async () => {
    const { c } = await client(proxy)
    proxy.refuse()
    const d = new pg.Client({ ...pgConfig, host: proxy.host, port: proxy.port, application_name: APP })
    d.on('error', () => {})
    await expect(d.connect()).rejects.toThrow(/ECONNRESET|Connection terminated/)
    expect(proxy.counts().refused).toBe(1)
    expect((await c.query('SELECT 2 AS two')).rows[0].two).toBe(2)
    proxy.pass()
    const e = await client(proxy)
    await e.c.end()
    await c.end()
  })

  it('close tears down open connections and stops listening', async () => {
    const { c } = await client(proxy)
    await proxy.close()
    await expect(c.query('SELECT 1')).rejects.toThrow()
    expect(proxy.counts()).toMatchObject({ client: 0, server: 0 })
    const d = new pg.Client({ ...pgConfig, host: proxy.host, port: proxy.port })
    d.on('error', () => {})
    await expect(d.connect()).rejects.toThrow(/ECONNREFUSED/)
    // afterEach closes again: it must be harmless.
    proxy = await startFaultProxy({ host: pgConfig.host, port: pgConfig.port })
  })
})
