import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  AthanorError,
  DatabaseError,
  FlushError,
  IntegrityError,
  ObjectNotFoundError,
  PoolTimeoutError,
  StaleDataError,
  StatementTimeoutError,
  TransactionRolledBackError,
} from '../../src/index.js'
import { httpErrorFor, isMappedError } from '../../src/web/http-error.js'

const poolState = { poolSize: 5, maxOverflow: 10, timeout: 30_000, checkedOut: 15, waiting: 3 }
const secret = { sql: 'insert into "person" ("email") values ($1)', parameters: ['ada@example.com'] }

describe('httpErrorFor', () => {
  it('IntegrityError: 409 with the constraint, kind and columns, not the values', () => {
    const e = new IntegrityError('duplicate key value violates unique constraint "person_email_key"', { ...secret, sqlState: '23505' }, {
      kind: 'unique',
      constraint: 'person_email_key',
      table: 'person',
      column: 'email',
      detail: 'Key (email)=(ada@example.com) already exists.',
    })
    const a = httpErrorFor(e)
    expect(a.status).toBe(409)
    expect(a.body).toEqual({ error: 'DB_INTEGRITY', message: 'unique constraint "person_email_key" violated', constraint: 'person_email_key', kind: 'unique', columns: ['email'] })
    expect(JSON.stringify([a.headers, a.body])).not.toMatch(/ada@example|insert/)
    expect(a.source).toBe(e)
  })

  it('finds the mapped error on the cause chain (a FlushError over an IntegrityError)', () => {
    const cause = new IntegrityError('x', secret, { kind: 'foreignKey' })
    const a = httpErrorFor(new FlushError('flush failed', { cause }))
    expect(a.status).toBe(409)
    expect(a.body).toEqual({ error: 'DB_INTEGRITY', message: 'foreign key constraint violated', kind: 'foreignKey' })
    expect(isMappedError(new FlushError('flush failed', { cause }))).toBe(true)
  })

  it('ObjectNotFoundError 404, StaleDataError 409, StatementTimeoutError 504', () => {
    expect(httpErrorFor(new ObjectNotFoundError('no person 7', 'person', 7))).toMatchObject({ status: 404, body: { error: 'SESSION_NOT_FOUND', message: 'not found' } })
    expect(httpErrorFor(new StaleDataError('stale', 'person', 1, 0))).toMatchObject({ status: 409, body: { error: 'SESSION_STALE_DATA' } })
    expect(httpErrorFor(new StatementTimeoutError('canceling statement due to statement timeout', secret))).toMatchObject({ status: 504, body: { error: 'DB_STATEMENT_TIMEOUT' } })
  })

  it('PoolTimeoutError: 503 with Retry-After (1 s unless told)', () => {
    const e = new PoolTimeoutError('pool exhausted', poolState)
    expect(httpErrorFor(e)).toMatchObject({ status: 503, headers: { 'retry-after': '1' }, body: { error: 'POOL_TIMEOUT' } })
    expect(httpErrorFor(e, { retryAfter: 2.5 }).headers).toEqual({ 'retry-after': '3' })
    expect(httpErrorFor(new Error('other')).headers).toEqual({})
  })

  it('anything else: 500 with a body that says nothing of it', () => {
    const errors: unknown[] = [
      new DatabaseError('syntax error at or near "selec"', secret),
      new TransactionRolledBackError('rolled back', { ...secret, cause: new Error('deadlock') }),
      new AthanorError('SOMETHING', 'internal detail'),
      new Error('password=hunter2'),
      'a string',
      undefined,
    ]
    for (const e of errors) {
      const a = httpErrorFor(e)
      expect(a).toEqual({ status: 500, headers: {}, body: { error: 'INTERNAL_ERROR', message: 'internal server error' }, source: undefined })
      expect(isMappedError(e)).toBe(false)
    }
  })

  it('a cause cycle ends', () => {
    const a = new Error('a')
    const b = new Error('b', { cause: a })
    ;(a as { cause?: unknown }).cause = b
    expect(httpErrorFor(a).status).toBe(500)
  })
})

describe('the main entry loads no framework', () => {
  it('no file outside src/web imports a framework or src/web', () => {
    const files: string[] = []
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name)
        if (entry.isDirectory()) {
          if (path !== join('src', 'web')) walk(path)
        } else if (/\.c?ts$/.test(entry.name)) files.push(path)
      }
    }
    walk('src')
    expect(files.length).toBeGreaterThan(20)
    const offenders = files.filter((f) => /from '(express|fastify|hono|@nestjs\/[^']+|rxjs|\.\.?\/(\.\.\/)*web\/[^']+)'/.test(readFileSync(f, 'utf8')))
    expect(offenders).toEqual([])
  })
})
