import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/index.js'
import { InvalidRequestError, type Session, scopedSession, sessionmaker } from '../../src/session/index.js'
import { PGLITE_START } from '../support/slow-setup.js'
import { library } from './fixtures.js'

describe('scopedSession', () => {
  const lib = library('scoped')
  const engine = createEngine('pglite://', PGLITE_START)
  const Session = sessionmaker({ bind: engine })
  const scoped = scopedSession(Session)

  beforeAll(async () => {
    await lib.metadata.createAll(engine)
  })
  afterAll(async () => {
    await lib.metadata.dropAll(engine)
    await engine.dispose()
  })

  const tick = () => new Promise((r) => setTimeout(r, 1))

  it('gives the same session within a scope and different ones to concurrent scopes', async () => {
    const seen: Session<unknown>[][] = []
    await Promise.all(
      [0, 1, 2].map((i) =>
        scoped.run(async () => {
          const a = scoped.current
          await tick()
          const b = await (async () => {
            await tick()
            return scoped.current
          })()
          seen[i] = [a, b]
        }),
      ),
    )
    for (const [a, b] of seen) expect(a).toBe(b)
    expect(new Set(seen.map(([a]) => a)).size).toBe(3)
    expect(seen.every(([a]) => a.isClosed)).toBe(true)
  })

  it('closes the session when the handler throws, rolling its work back', async () => {
    let session: Session<unknown> | undefined
    await expect(
      scoped.run(async () => {
        session = scoped.current
        session.add(new lib.Author({ name: 'never' }))
        await session.flush()
        throw new Error('handler failed')
      }),
    ).rejects.toThrow('handler failed')
    expect(session!.isClosed).toBe(true)
    expect(engine.pool.checkedOut()).toBe(0)
    const rows = await engine.db.selectFrom('scoped_author' as never).selectAll().execute()
    expect(rows).toEqual([])
  })

  it('begin() commits on return', async () => {
    await scoped.begin(async (s) => {
      expect(s).toBe(scoped.current)
      s.add(new lib.Author({ name: 'kept' }))
    })
    const rows = (await engine.db.selectFrom('scoped_author' as never).selectAll().execute()) as { name: string }[]
    expect(rows.map((r) => r.name)).toEqual(['kept'])
    expect(engine.pool.checkedOut()).toBe(0)
  })

  it('middleware scopes a request and closes at finish', async () => {
    const mw = scoped.middleware()
    const listeners: Record<string, () => void> = {}
    const res = { once: (ev: 'close' | 'finish', fn: () => void) => void (listeners[ev] = fn) }
    let inside: Session<unknown> | undefined
    await new Promise<void>((resolve) =>
      mw({}, res, () => {
        inside = scoped.current
        void inside.query(lib.Author).then(() => resolve())
      }),
    )
    expect(inside!.isClosed).toBe(false)
    listeners.finish()
    await tick()
    expect(inside!.isClosed).toBe(true)
    expect(engine.pool.checkedOut()).toBe(0)
  })

  it('throws a typed error outside any scope', () => {
    expect(() => scoped.current).toThrow(InvalidRequestError)
    expect(scoped.active).toBe(false)
  })
})
