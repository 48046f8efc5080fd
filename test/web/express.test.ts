import http from 'node:http'
import express from 'express'
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
