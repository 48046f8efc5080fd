/**
 * One scenario for every framework integration: each test file builds the
 * same small app on its framework (`makeApp`), and this suite drives it over
 * real HTTP, on in-memory SQLite and on PostgreSQL.
 *
 * Handlers are framework-free (`Handlers`): the framework file only routes.
 * Aborted requests are triggered by progress: the handler flushes (so it
 * holds a connection), says it started, and waits at a gate; the client
 * destroys its socket on that signal.
 */
import http from 'node:http'
import { sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/index.js'
import type { Engine } from '../../src/engine/types.js'
import { MetaData, Model, type ScopedSession, scopedSession, serial, sessionmaker, table, varchar } from '../../src/session/index.js'
import type { HttpErrorResponse } from '../../src/web/http-error.js'
import { PG_URL, pgConfig, runPg } from '../support/servers.js'

export interface Answer {
  readonly status: number
  readonly body: unknown
}

/** What the app does, whatever the framework: each throws or returns the answer. */
export interface Handlers {
  create(input: { name?: unknown; fail?: unknown }): Promise<Answer>
  get(id: number): Promise<Answer>
  /** Flushes, says it started, waits at its gate, then tries the session again. */
  hold(input: { name?: unknown }): Promise<Answer>
  /** A statement that runs past a 100 ms statement_timeout (PostgreSQL). */
  slow(): Promise<Answer>
}

export interface AppContext {
  readonly scoped: ScopedSession<unknown>
  readonly handlers: Handlers
  /** Gets every error the integration answered (instead of logging it). */
  readonly onError: (error: unknown, answer: HttpErrorResponse) => void
}

export interface RunningApp {
  /** The port it listens on (127.0.0.1). */
  readonly port: number
  close(): Promise<void>
}

export type MakeApp = (ctx: AppContext) => Promise<RunningApp>

class Deferred<T = void> {
  resolve!: (v: T) => void
  readonly promise = new Promise<T>((r) => (this.resolve = r))
}

function schema(prefix: string) {
  const author = table(`${prefix}_author`, { id: serial().primaryKey(), name: varchar(100).unique() })
  class Author extends Model(author) {}
  return { metadata: new MetaData(author), Author, tableName: `${prefix}_author` }
}

/** An app's world: engine, scoped session, handlers with their gates. */
function world(engine: Engine<unknown>, prefix: string) {
  const { metadata, Author, tableName } = schema(prefix)
  const scoped = scopedSession(sessionmaker({ bind: engine }))
  const started = new Map<string, Deferred>()
  const gates = new Map<string, Deferred>()
  const finished = new Map<string, Deferred<unknown>>()
  const errors: { error: unknown; answer: HttpErrorResponse }[] = []
  const slot = <T>(m: Map<string, Deferred<T>>, k: string) => {
    let d = m.get(k)
    if (d === undefined) m.set(k, (d = new Deferred<T>()))
    return d
  }
  const nameOf = (v: unknown) => {
    if (typeof v !== 'string' || v === '') throw Object.assign(new Error('name is required'), { status: 400, statusCode: 400 })
    return v
  }
  const handlers: Handlers = {
    async create(input) {
      const author = new Author({ name: nameOf(input.name) })
      scoped.current.add(author)
      await scoped.current.flush()
      if (input.fail === 'throw') throw new Error('failing on purpose after the flush')
      if (input.fail === 'status') return { status: 422, body: { refused: true } }
      return { status: 201, body: { id: author.id } }
    },
    async get(id) {
      const author = await scoped.current.getOrThrow(Author, id)
      return { status: 200, body: { id: author.id, name: author.name } }
    },
    async hold(input) {
      const name = nameOf(input.name)
      scoped.current.add(new Author({ name }))
      await scoped.current.flush()
      slot(started, name).resolve()
      await slot(gates, name).promise
      let outcome: unknown = 'continued'
      try {
        await scoped.current.db.selectFrom(tableName as never).selectAll().execute()
      } catch (e) {
        outcome = e
      }
      slot(finished, name).resolve(outcome)
      return { status: 201, body: { held: name } }
    },
    async slow() {
      await sql`SET LOCAL statement_timeout = 100`.execute(scoped.current.db)
      await sql`SELECT pg_sleep(30)`.execute(scoped.current.db)
      return { status: 200, body: {} }
    },
  }
  const ctx: AppContext = { scoped, handlers, onError: (error, answer) => void errors.push({ error, answer }) }
  return { metadata, Author, tableName, scoped, ctx, errors, started: (k: string) => slot(started, k).promise, open: (k: string) => slot(gates, k).resolve(), finished: (k: string) => slot(finished, k).promise }
}

interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  body: unknown
  text: string
}

/** One request on its own connection (no keep-alive pool between tests). */
export function request(port: number, method: string, path: string, body?: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const req = http.request(
      { host: '127.0.0.1', port, method, path, agent: false, headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {} },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (text += c))
        res.on('end', () => {
          let parsed: unknown = text
          try {
            parsed = JSON.parse(text)
          } catch {}
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, text })
        })
      },
    )
    req.on('error', reject)
    req.end(payload)
  })
}

/** Sends a request and destroys its socket once `started` resolves (the handler is mid-request). */
export function abortedRequest(port: number, path: string, body: unknown, started: Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const payload = JSON.stringify(body)
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path, agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } })
    req.on('error', () => undefined) // the destroy itself
    req.on('response', () => resolve()) // an answer before the abort would be a failure below
    req.on('close', () => resolve())
    req.end(payload)
    void started.then(() => req.destroy())
  })
}

async function pgConnections(applicationName: string): Promise<number> {
  const client = new pg.Client(pgConfig)
  await client.connect()
  try {
    const r = await client.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1', [applicationName])
    return Number(r.rows[0].n)
  } finally {
    await client.end()
  }
}

const POOL = { poolSize: 3, maxOverflow: 2 }

/** The whole suite for one framework. */
export function frameworkSuite(framework: string, makeApp: MakeApp): void {
  const targets = [
    { name: 'sqlite', url: 'sqlite://', run: true, pg: false },
    { name: 'postgresql', url: `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}application_name=athanor_web_${framework}`, run: runPg, pg: true },
  ]
  for (const target of targets) {
    describe.skipIf(!target.run)(`${framework} on ${target.name}: session per request over HTTP`, () => {
      let engine: Engine<unknown>
      let w: ReturnType<typeof world>
      let app: RunningApp
      const prefix = `web_${framework}`
      const count = async (name?: string) => {
        let q = engine.db.selectFrom(w.tableName as never).select((eb) => eb.fn.countAll<number>().as('n'))
        if (name !== undefined) q = q.where('name' as never, '=', name as never)
        return Number(((await q.executeTakeFirstOrThrow()) as { n: number }).n)
      }

      beforeAll(async () => {
        engine = createEngine(target.url, { ...POOL, poolTimeout: 30_000 })
        w = world(engine, prefix)
        await w.metadata.dropAll(engine)
        await w.metadata.createAll(engine)
        if (target.pg) {
          // Deferred to COMMIT: a duplicate then fails when the session commits,
          // after the handler has returned its 201: the answer must become a 409.
          const c = await sql<{ conname: string }>`SELECT conname FROM pg_constraint WHERE conrelid = ${w.tableName}::regclass AND contype = 'u'`.execute(engine.db)
          for (const { conname } of c.rows) await sql`ALTER TABLE ${sql.table(w.tableName)} DROP CONSTRAINT ${sql.ref(conname)}`.execute(engine.db)
          await sql`ALTER TABLE ${sql.table(w.tableName)} ADD CONSTRAINT ${sql.ref(`${prefix}_name_key`)} UNIQUE (name) DEFERRABLE INITIALLY DEFERRED`.execute(engine.db)
        }
        app = await makeApp(w.ctx)
      })

      afterAll(async () => {
        await app?.close()
        await w?.metadata.dropAll(engine)
        await engine?.dispose()
      })

      it('commits a handler that answers 2xx, before the answer', async () => {
        const r = await request(app.port, 'POST', '/authors', { name: 'ada' })
        expect(r.status).toBe(201)
        // The row is committed by the time the client has the answer.
        expect(await count('ada')).toBe(1)
        const got = await request(app.port, 'GET', `/authors/${(r.body as { id: number }).id}`)
        expect(got.status).toBe(200)
        expect(got.body).toMatchObject({ name: 'ada' })
        expect(engine.pool.checkedOut()).toBe(0)
      })

      it('rolls back a handler that throws (500, nothing leaked) or answers 4xx', async () => {
        const thrown = await request(app.port, 'POST', '/authors', { name: 'thrown', fail: 'throw' })
        expect(thrown.status).toBe(500)
        expect(thrown.body).toEqual({ error: 'INTERNAL_ERROR', message: 'internal server error' })
        const refused = await request(app.port, 'POST', '/authors', { name: 'refused', fail: 'status' })
        expect(refused.status).toBe(422)
        expect(await count('thrown')).toBe(0)
        expect(await count('refused')).toBe(0)
        expect(engine.pool.checkedOut()).toBe(0)
      })

      it("maps athanor's errors: 404 for getOrThrow, 409 with the constraint for a duplicate", async () => {
        const missing = await request(app.port, 'GET', '/authors/987654')
        expect(missing.status).toBe(404)
        expect(missing.body).toEqual({ error: 'SESSION_NOT_FOUND', message: 'not found' })
        expect((await request(app.port, 'POST', '/authors', { name: 'twice' })).status).toBe(201)
        const dup = await request(app.port, 'POST', '/authors', { name: 'twice' })
        expect(dup.status).toBe(409)
        expect(dup.body).toMatchObject({ error: 'DB_INTEGRITY', kind: 'unique' })
        if (target.pg) expect(dup.body).toMatchObject({ constraint: `${prefix}_name_key` })
        // Neither the SQL nor the values reach the client.
        expect(dup.text).not.toMatch(/insert|twice|select/i)
        expect(await count('twice')).toBe(1)
        expect(engine.pool.checkedOut()).toBe(0)
      })

      it('a client that goes away mid-request: rolled back, connection returned before the handler ends', async () => {
        await abortedRequest(app.port, '/hold', { name: 'gone' }, w.started('gone'))
        // The handler is still waiting at its gate: the scope ended on the close.
        await expect.poll(() => engine.pool.checkedOut()).toBe(0)
        expect(await count('gone')).toBe(0)
        w.open('gone')
        const late = await w.finished('gone')
        expect(late).toMatchObject({ code: 'SESSION_CLOSED' })
        expect(await count('gone')).toBe(0)
        expect(engine.pool.checkedOut()).toBe(0)
      })

      it('concurrent requests, some failing, some aborted: only the good ones committed, every connection back', async () => {
        expect((await request(app.port, 'POST', '/authors', { name: 'taken' })).status).toBe(201)
        const kinds = ['ok', 'throw', 'status', 'dup', 'abort'] as const
        const plan = Array.from({ length: 30 }, (_, i) => ({ i, kind: kinds[i % kinds.length], name: `c${i}` }))
        let peak = 0
        let sampling = target.pg
        const sampler = (async () => {
          while (sampling) peak = Math.max(peak, await pgConnections(`athanor_web_${framework}`))
        })()
        const results = await Promise.all(
          plan.map(async (p) => {
            if (p.kind === 'abort') return { ...p, reply: undefined, aborted: await abortedRequest(app.port, '/hold', { name: p.name }, w.started(p.name)) }
            if (p.kind === 'dup') return { ...p, reply: await request(app.port, 'POST', '/authors', { name: 'taken' }) }
            const fail = p.kind === 'ok' ? undefined : p.kind
            return { ...p, reply: await request(app.port, 'POST', '/authors', { name: p.name, fail }) }
          }),
        )
        // Aborted handlers are still at their gates: their connections are back already.
        await expect.poll(() => engine.pool.checkedOut()).toBe(0)
        if (target.pg) expect(await pgConnections(`athanor_web_${framework}`)).toBeLessThanOrEqual(POOL.poolSize + POOL.maxOverflow)
        const expected = { ok: 201, throw: 500, status: 422, dup: 409 } as const
        for (const r of results) if (r.kind !== 'abort') expect([r.kind, r.reply?.status]).toEqual([r.kind, expected[r.kind]])
        for (const r of results) if (r.kind === 'abort') w.open(r.name)
        for (const r of results) if (r.kind === 'abort') expect(await w.finished(r.name)).toMatchObject({ code: 'SESSION_CLOSED' })
        sampling = false
        await sampler
        if (target.pg) {
          expect(peak).toBeGreaterThan(0)
          expect(peak).toBeLessThanOrEqual(POOL.poolSize + POOL.maxOverflow)
        }
        const rows = (await engine.db.selectFrom(w.tableName as never).select('name' as never).execute()) as { name: string }[]
        const names = new Set(rows.map((r) => r.name))
        for (const p of plan) expect([p.name, names.has(p.name)]).toEqual([p.name, p.kind === 'ok'])
        expect(await count('taken')).toBe(1)
        expect(engine.pool.checkedOut()).toBe(0)
      })

      it.runIf(target.pg)('a statement timeout answers 504', async () => {
        const r = await request(app.port, 'GET', '/slow')
        expect(r.status).toBe(504)
        expect(r.body).toEqual({ error: 'DB_STATEMENT_TIMEOUT', message: 'the database took too long to answer' })
        expect(engine.pool.checkedOut()).toBe(0)
      })

      it.runIf(target.pg)('an exhausted pool answers 503 with Retry-After', async () => {
        const small = createEngine(target.url, { poolSize: 1, maxOverflow: 0, poolTimeout: 200 })
        const sw = world(small, prefix)
        const smallApp = await makeApp(sw.ctx)
        try {
          const holding = request(smallApp.port, 'POST', '/hold', { name: 'holder' })
          await sw.started('holder') // the only connection is taken
          const r = await request(smallApp.port, 'GET', '/authors/1')
          expect(r.status).toBe(503)
          expect(r.headers['retry-after']).toBe('2')
          expect(r.body).toEqual({ error: 'POOL_TIMEOUT', message: 'the service is busy: retry later' })
          sw.open('holder')
          expect((await holding).status).toBe(201)
          expect(await sw.finished('holder')).toBe('continued')
          expect(small.pool.checkedOut()).toBe(0)
          expect(await count('holder')).toBe(1)
        } finally {
          await smallApp.close()
          await small.dispose()
        }
      })
    })
  }
}
