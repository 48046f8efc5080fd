import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/index.js'
import type { Engine } from '../../src/engine/types.js'
import { createApp } from '../../examples/web/server.js'
import { PG_URL, runPg } from '../support/servers.js'
import { slowStartOptions } from '../support/slow-setup.js'

const targets = [
  { name: 'pglite', url: 'pglite://', run: true },
  { name: 'postgresql', url: PG_URL, run: runPg },
]

for (const target of targets) {
  describe.skipIf(!target.run)(`web example (session per request) on ${target.name}`, () => {
    let engine: Engine<unknown>
    let app: ReturnType<typeof createApp<unknown>>
    let base: string

    beforeAll(async () => {
      engine = createEngine(target.url, { poolSize: 4, maxOverflow: 0, poolTimeout: 10_000, ...slowStartOptions(target.url) })
      app = createApp(engine, 'webtest')
      await app.metadata.dropAll(engine)
      await app.metadata.createAll(engine)
      base = await app.listen(0)
    })

    afterAll(async () => {
      await app.close()
      await app.metadata.dropAll(engine)
      await engine.dispose()
    })

    const post = (body: unknown) =>
      fetch(`${base}/authors`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })

    it('commits good requests, rolls back failing ones, and returns every connection', async () => {
      const requests = Array.from({ length: 24 }, (_, i) => {
        const kind = i % 4 // 0, 1: ok; 2: throws after flushing; 3: invalid input
        if (kind === 2) return { i, kind, body: { name: `fail${i}`, books: ['lost'], fail: true } }
        if (kind === 3) return { i, kind, body: { books: ['no name'] } }
        return { i, kind, body: { name: `ok${i}`, books: [`b${i}a`, `b${i}b`] } }
      })
      // A duplicate name: the second flush fails on the unique constraint.
      requests.push({ i: 100, kind: 4, body: { name: 'ok0', books: ['dup'] } })
      const responses = await Promise.all(requests.map(async (r) => ({ ...r, res: await post(r.body) })))
      const ids = new Map<number, number>()
      for (const r of responses) {
        const json = (await r.res.json()) as { id?: number; error?: string }
        if (r.kind <= 1) {
          expect(r.res.status).toBe(201)
          ids.set(r.i, json.id!)
        } else if (r.kind === 2) expect(r.res.status).toBe(500)
        else if (r.kind === 3) expect(r.res.status).toBe(400)
      }
      expect(engine.pool.checkedOut()).toBe(0)

      const list = (await (await fetch(`${base}/authors`)).json()) as { name: string }[]
      const names = list.map((a) => a.name).sort()
      expect(names).toEqual(requests.filter((r) => r.kind <= 1).map((r) => `ok${r.i}`).sort())
      for (const [i, id] of ids) {
        const one = (await (await fetch(`${base}/authors/${id}`)).json()) as { name: string; books: string[] }
        expect(one.name).toBe(`ok${i}`)
        expect(one.books.sort()).toEqual([`b${i}a`, `b${i}b`])
      }
      expect((await fetch(`${base}/authors/999999`)).status).toBe(404)
      const books = await engine.db
        .selectFrom('webtest_book' as never)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
      expect(Number((books as { n: number }).n)).toBe(ids.size * 2)
      expect(engine.pool.checkedOut()).toBe(0)
    })
  })
}
