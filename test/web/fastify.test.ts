import Fastify from 'fastify'
import { sessionPlugin } from '../../src/web/fastify.js'
import { frameworkSuite } from './support.js'

frameworkSuite('fastify', async ({ scoped, handlers, onError }) => {
  const app = Fastify({ logger: false, forceCloseConnections: true })
  await app.register(sessionPlugin, { scoped, onError, retryAfter: 2 })
  app.post('/authors', async (req, reply) => {
    const a = await handlers.create(req.body as never)
    return reply.code(a.status).send(a.body)
  })
  app.get<{ Params: { id: string } }>('/authors/:id', async (req, reply) => {
    const a = await handlers.get(Number(req.params.id))
    return reply.code(a.status).send(a.body)
  })
  app.post('/hold', async (req, reply) => {
    const a = await handlers.hold(req.body as never)
    return reply.code(a.status).send(a.body)
  })
  app.get('/slow', async (_req, reply) => {
    const a = await handlers.slow()
    return reply.code(a.status).send(a.body)
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  return { port: typeof address === 'object' && address !== null ? address.port : 0, close: () => app.close() }
})
