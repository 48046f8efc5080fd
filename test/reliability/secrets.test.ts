/**
 * Issue 5, "Secrets": with echo and echoPool on, a URL's password appears in
 * no log line, error (message, stack, cause, inspect), status() or toString(),
 * whatever goes wrong; with hideParameters, bound values are hidden too.
 *
 * PostgreSQL here trusts 127.0.0.1, so it never checks the password: the role
 * with a password makes the URL realistic, and the masking is what is tested.
 * MariaDB does check it, so the wrong-password path is real there.
 */
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { inspect } from 'node:util'
import { sql } from 'kysely'
import mysql from 'mysql2/promise'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEngine, parseUrl } from '../../src/engine/index.js'
import type { Engine, EngineOptions, Logger } from '../../src/engine/index.js'
import { AthanorError } from '../../src/pool/errors.js'
import { retrySlowOpen, scoped } from '../support/reliability.js'
import { MYSQL, PG, mysqlConfig, pgConfig, runMysql, runPg } from '../support/servers.js'

// The marker is what must never show; the password around it exercises percent-encoding.
const MARKER = `Mk${randomBytes(8).toString('hex')}`
const PASSWORD = `${MARKER}@:/?#% x`
const ENCODED = encodeURIComponent(PASSWORD)
const PARAM_MARKER = `Pm${randomBytes(8).toString('hex')}`

// Roles and MariaDB users are server-wide: the pid keeps two runs of the suite (another
// worktree, CI) from dropping each other's while in use.
const PG_ROLE = scoped('secrets_test_role')
const MY_USER = scoped('secrets_test_user')

/** A logger that keeps every line, objects inspected in depth. */
function capture(): { lines: string[]; logger: Logger } {
  const lines: string[] = []
  const push = (...args: unknown[]): void => {
    lines.push(args.map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 8 }))).join(' '))
  }
  return { lines, logger: { debug: push, info: push, warn: push, error: push } }
}

/** Every way an error is commonly printed. */
function printed(error: unknown): string[] {
  const e = error as Error & { cause?: unknown }
  return [String(e), e.message, e.stack ?? '', String(e.cause), inspect(e, { depth: 8 }), JSON.stringify(e) ?? '']
}

/** Every way an engine is commonly printed. */
function surface(engine: Engine<unknown>): string[] {
  return [String(engine), String(engine.url), engine.pool.status(), JSON.stringify({ url: engine.url }), inspect(engine), inspect(engine.url)]
}

function expectHidden(texts: readonly string[], marker = MARKER): void {
  for (const text of texts) expect(text, 'a secret leaked').not.toContain(marker)
}

async function failure(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work()
  } catch (error) {
    expect(error).toBeInstanceOf(AthanorError)
    return error
  }
  throw new Error('expected a failure')
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** A server that accepts connections and never says a word: an unresponsive database. */
async function silentServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

// Failing connects fail at the server's answer; the limits only need to fit a
// successful open on a loaded machine (up to ~1 s), not hurry a failing one.
const quick: EngineOptions = { poolTimeout: 5_000, connectTimeout: 4_000, connectBackoff: 0, connectBackoffMax: 0 }

/**
 * `select 1` on an engine at `url` that cannot connect, echo on: the marker is
 * in no log line, error or engine surface. Returns the error for more checks.
 */
async function connectFailure(url: string, options: EngineOptions = {}): Promise<AthanorError> {
  const { lines, logger } = capture()
  const engine = createEngine(url, { ...quick, echo: true, echoPool: true, logger, ...options })
  try {
    const error = (await failure(() => sql`select 1`.execute(engine.db))) as AthanorError
    expectHidden(printed(error))
    expectHidden(surface(engine))
    return error
  } finally {
    await engine.dispose()
    expectHidden(lines)
  }
}

describe('secrets: URL and option errors before any connection', () => {
  it('bad URLs and bad options with a password in the URL never show it', () => {
    const { lines, logger } = capture()
    const attempts: Array<() => unknown> = [
      () => createEngine(`postgresql://app:${ENCODED}@db:99999/app`),
      () => createEngine(`postgresql://app:${ENCODED}@db/app?sslmode=sometimes`),
      () => createEngine(`postgresql://app:${ENCODED}@db/app?password=${MARKER}`),
      () => createEngine(`oracle://app:${ENCODED}@db/app`),
      () => createEngine(`postgresql://app:${MARKER}@x@db/app`),
      () => createEngine(`postgresql://app:${MARKER}/x@db/app`),
      () => createEngine(`postgresql://app:${MARKER}`),
      () => createEngine(`postgresql://app:${ENCODED}@db/app`, { poolSize: -1, echo: true, echoPool: true, logger }),
      () => createEngine(`postgresql://app:${ENCODED}@db/app`, { pool_size: 1, logger } as EngineOptions),
      () => createEngine(`postgresql://app:${ENCODED}@db/app`, { isolationLevel: 'SNAPSHOT' as never, logger }),
      () => createEngine(`sqlite://`, { poolClass: 'queue', logger, echo: true, echoPool: true }),
    ]
    for (const attempt of attempts) {
      let error: unknown
      try {
        attempt()
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(AthanorError)
      expectHidden(printed(error))
    }
    expectHidden(lines)
  })
})

describe.skipIf(!runPg)('secrets on PostgreSQL', () => {
  const base = `postgresql://${PG_ROLE}:${ENCODED}@${PG.host}:${PG.port}/${pgConfig.database}`

  beforeAll(async () => {
    const admin = new pg.Client(pgConfig)
    await admin.connect()
    try {
      await admin.query(`DROP ROLE IF EXISTS ${PG_ROLE}`)
      await admin.query(`CREATE ROLE ${PG_ROLE} LOGIN PASSWORD ${admin.escapeLiteral(PASSWORD)}`)
    } finally {
      await admin.end()
    }
  })

  afterAll(async () => {
    const admin = new pg.Client(pgConfig)
    await admin.connect()
    try {
      await admin.query(`DROP ROLE IF EXISTS ${PG_ROLE}`)
    } finally {
      await admin.end()
    }
  })

  it('the URL decodes to the real password (so the marker is really in play)', () => {
    expect(parseUrl(base).password).toBe(PASSWORD)
  })

  it('a working engine logs SQL and pool events, never the password', async () => {
    const { lines, logger } = capture()
    const engine = createEngine(base, { ...quick, echo: 'debug', echoPool: 'debug', logger })
    try {
      const { rows } = await sql<{ who: string }>`select current_user as who`.execute(engine.db)
      expect(rows[0].who).toBe(PG_ROLE)
      await engine.begin(async (conn) => sql`select 1`.execute(conn.db))
      expectHidden(surface(engine))
    } finally {
      await engine.dispose()
    }
    expect(lines.length).toBeGreaterThan(3)
    expectHidden(lines)
  })

  it('a statement error', async () => {
    const { lines, logger } = capture()
    const engine = createEngine(base, { ...quick, echo: true, echoPool: true, logger })
    try {
      const error = await failure(() => sql`select * from secrets_test_no_such_table`.execute(engine.db))
      expect(String(error)).toMatch(/secrets_test_no_such_table/)
      expectHidden(printed(error))
      expectHidden(surface(engine))
    } finally {
      await engine.dispose()
    }
    expectHidden(lines)
  })

  it('an unknown database', async () => {
    const error = await connectFailure(base.replace(/\/[^/]*$/, '/secrets_test_no_such_db'))
    expect(printed(error).join('\n')).toMatch(/secrets_test_no_such_db/)
    expect(error.code).toBe('POOL_CONNECT')
  })

  it('a refused port', async () => {
    const error = await connectFailure(`postgresql://${PG_ROLE}:${ENCODED}@127.0.0.1:${await closedPort()}/x`)
    expect(printed(error).join('\n')).toMatch(/ECONNREFUSED/)
    expect(error.code).toBe('POOL_CONNECT')
  })

  it('an unresponsive host (connect timeout)', async () => {
    const silent = await silentServer()
    try {
      const error = await connectFailure(`postgresql://${PG_ROLE}:${ENCODED}@127.0.0.1:${silent.port}/x`, { connectTimeout: 200 })
      expect(error.code).toBe('POOL_CONNECT')
      expect((error.cause as AthanorError).code).toBe('POOL_CONNECT_TIMEOUT')
    } finally {
      await silent.close()
    }
  })

  it('a pool timeout', async () => {
    const { lines, logger } = capture()
    const engine = createEngine(base, { poolSize: 1, maxOverflow: 0, poolTimeout: 100, echo: true, echoPool: 'debug', logger })
    // An open can outlast the 100 ms poolTimeout on a loaded machine: retried, it lands in the pool.
    const held = await retrySlowOpen(() => engine.connect())
    try {
      const error = await failure(() => engine.connect())
      expect((error as AthanorError).code).toBe('POOL_TIMEOUT')
      expectHidden(printed(error))
      expectHidden(surface(engine))
    } finally {
      await held.close()
      await engine.dispose()
    }
    expect(lines.some((l) => /timed out/.test(l))).toBe(true)
    expectHidden(lines)
  })

  it('hideParameters keeps bound values out of logs and errors; without it, echo debug shows them', async () => {
    const run = async (hideParameters: boolean) => {
      const { lines, logger } = capture()
      const engine = createEngine(base, { ...quick, echo: 'debug', echoPool: 'debug', hideParameters, logger })
      let error: unknown
      try {
        const { rows } = await sql<{ v: string }>`select ${PARAM_MARKER}::text as v`.execute(engine.db)
        expect(rows[0].v).toBe(PARAM_MARKER)
        error = await failure(() => sql`select ${PARAM_MARKER}::text as v from secrets_test_no_such_table`.execute(engine.db))
        expectHidden(surface(engine))
      } finally {
        await engine.dispose()
      }
      expectHidden([...lines, ...printed(error)])
      return { lines, error }
    }
    const hidden = await run(true)
    expectHidden([...hidden.lines, ...printed(hidden.error)], PARAM_MARKER)
    // The control: the same run without hideParameters does log the value.
    const shown = await run(false)
    expect(shown.lines.join('\n')).toContain(PARAM_MARKER)
  })
})

describe.skipIf(!runMysql)('secrets on MariaDB / MySQL', () => {
  const url = (password: string, database = mysqlConfig.database) =>
    `mysql://${MY_USER}:${encodeURIComponent(password)}@${MYSQL.host}:${MYSQL.port}/${database}`

  const admin = async <T>(work: (c: mysql.Connection) => Promise<T>): Promise<T> => {
    const c = await mysql.createConnection(mysqlConfig)
    try {
      return await work(c)
    } finally {
      await c.end()
    }
  }

  beforeAll(async () => {
    await admin(async (c) => {
      for (const host of ['%', 'localhost']) {
        await c.query(`DROP USER IF EXISTS '${MY_USER}'@'${host}'`)
        await c.query(`CREATE USER '${MY_USER}'@'${host}' IDENTIFIED BY ?`, [PASSWORD])
        await c.query(`GRANT SELECT ON \`${mysqlConfig.database}\`.* TO '${MY_USER}'@'${host}'`)
      }
    })
  })

  afterAll(async () => {
    await admin(async (c) => {
      for (const host of ['%', 'localhost']) await c.query(`DROP USER IF EXISTS '${MY_USER}'@'${host}'`)
    })
  })

  it('the right password: echo logs SQL and pool events, never the password', async () => {
    const { lines, logger } = capture()
    const engine = createEngine(url(PASSWORD), { ...quick, echo: 'debug', echoPool: 'debug', logger })
    try {
      const { rows } = await sql<{ who: string }>`select current_user() as who`.execute(engine.db)
      expect(rows[0].who).toMatch(new RegExp(`^${MY_USER}@`))
      const error = await failure(() => sql`select * from secrets_test_no_such_table`.execute(engine.db))
      expectHidden(printed(error))
      expectHidden(surface(engine))
    } finally {
      await engine.dispose()
    }
    expect(lines.length).toBeGreaterThan(3)
    expectHidden(lines)
  })

  it('a wrong password (the marker is the wrong one)', async () => {
    const error = await connectFailure(url(`${PASSWORD}-wrong`))
    expect(printed(error).join('\n')).toMatch(/Access denied/)
    expect(error.code).toBe('POOL_CONNECT')
  })

  it('an unknown database', async () => {
    await connectFailure(url(PASSWORD, 'secrets_test_no_such_db'))
  })

  it('a refused port', async () => {
    await connectFailure(`mysql://${MY_USER}:${ENCODED}@127.0.0.1:${await closedPort()}/x`)
  })
})
