import http from 'node:http'
import express from 'express'
import { describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/index.js'
import { scopedSession, sessionmaker } from '../../src/session/index.js'
import { errorHandler, sessionMiddleware } from '../../src/web/express.js'
import { listen } from './listen.js'
import { type Answer, frameworkSuite } from './support.js'

frameworkSuite('express', async ({ scoped, handlers, onError }) => {
  const app = express()
  app.use(express.json())
  app.use(sessionMiddleware(scoped, { onError }))
  const send = (res: express.Response, a: Answer) => void res.status(a.status).json(a.body)
  app.post('/authors', async (req, res) => send(res, await handlers.create(req.body)))
  app.get('/authors/:id', async (req, res) => send(res, await handlers.get(Number(req.params.id))))
  app.post('/hold', async (req, res) => send(res, await handlers.hold(req.body)))
  app.get('/slow', async (_req, res) => send(res, await handlers.slow()))
  app.use(errorHandler({ onError, retryAfter: 2 }))
  return listen(http.createServer(app))
})

describe('express: errors that carry their own status', () => {
  it("a body parser's 400 keeps Express's answer, and the request's session rolls back", async () => {
    const engine = createEngine('sqlite://')
    const scoped = scopedSession(sessionmaker({ bind: engine }))
    const answered: unknown[] = []
    const app = express()
    app.use(sessionMiddleware(scoped))
    app.use(express.json())
    app.post('/x', (_req, res) => void res.json({ never: true }))
    app.use(errorHandler({ onError: (e) => void answered.push(e) }))
    const running = await listen(http.createServer(app))
    try {
      const r = await new Promise<number>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: running.port, method: 'POST', path: '/x', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        })
        req.on('error', reject)
        req.end('{not json')
      })
      expect(r).toBe(400)
      expect(answered).toEqual([]) // passed on to Express, not answered as a 500
      expect(engine.pool.checkedOut()).toBe(0)
    } finally {
      await running.close()
      await engine.dispose()
    }
  })
})
