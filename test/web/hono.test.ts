import http from 'node:http'
import { getRequestListener } from '@hono/node-server'
import { Hono } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { errorHandler, sessionMiddleware } from '../../src/web/hono.js'
import { listen } from './listen.js'
import { frameworkSuite } from './support.js'

frameworkSuite('hono', async ({ scoped, handlers, onError }) => {
  const app = new Hono()
  app.use(sessionMiddleware(scoped, { onError }))
  app.onError(errorHandler({ onError, retryAfter: 2 }))
  const reply = (c: { json: (b: unknown, s: ContentfulStatusCode) => Response }, a: { status: number; body: unknown }) => c.json(a.body, a.status as ContentfulStatusCode)
  app.post('/authors', async (c) => reply(c, await handlers.create(await c.req.json())))
  app.get('/authors/:id', async (c) => reply(c, await handlers.get(Number(c.req.param('id')))))
  app.post('/hold', async (c) => reply(c, await handlers.hold(await c.req.json())))
  app.get('/slow', async (c) => reply(c, await handlers.slow()))
  return listen(http.createServer(getRequestListener(app.fetch)))
})
