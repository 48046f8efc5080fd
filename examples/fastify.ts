/**
 * Session per request on Fastify: `npm run example:fastify [url]`
 * (default `sqlite://`, in memory; `pglite://` or a PostgreSQL/MySQL URL work too).
 *
 *   curl -X POST localhost:3000/authors -H 'content-type: application/json' -d '{"name":"Ada"}'   # 201 {"id":1}
 *   curl -X POST localhost:3000/authors -H 'content-type: application/json' -d '{"name":"Ada"}'   # 409 unique constraint
 *   curl localhost:3000/authors/1                                                                # 200 {"id":1,"name":"Ada"}
 *   curl localhost:3000/authors/99                                                               # 404
 *
 * `--check` starts it on a free port, makes those requests, prints the answers and exits.
 */
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import Fastify from 'fastify'
import { createEngine, type DatabaseOf, MetaData, Model, scopedSession, serial, sessionmaker, table, varchar } from '../src/index.js'
import { sessionPlugin } from '../src/web/fastify.js'
import { type ExampleApp, runExample } from './framework-check.js'

const author = table('author', { id: serial().primaryKey(), name: varchar(100).unique() })
class Author extends Model(author) {}
const metadata = new MetaData(author)

/** Starts the app; resolves to its port and a `close` that also disposes the engine. */
export async function start(url = 'sqlite://', port = 3000): Promise<ExampleApp> {
  const engine = createEngine<DatabaseOf<typeof metadata>>(url)
  await metadata.createAll(engine)
  const db = scopedSession(sessionmaker({ bind: engine }))

  const app = Fastify({ forceCloseConnections: true })
  // One Session per request, committed in onSend (before a 2xx leaves);
  // its error handler answers IntegrityError with 409, ObjectNotFoundError with 404, ...
  await app.register(sessionPlugin, { scoped: db })
  app.post<{ Body: { name?: string } }>('/authors', async (req, reply) => {
    const a = new Author({ name: String(req.body?.name ?? '') })
    db.current.add(a)
    await db.current.flush() // the id is known now
    return reply.code(201).send({ id: a.id })
  })
  app.get<{ Params: { id: string } }>('/authors/:id', async (req) => {
    const a = await db.current.getOrThrow(Author, Number(req.params.id)) // 404 when missing
    return { id: a.id, name: a.name }
  })
  app.get('/authors', async () => db.current.db.selectFrom('author').selectAll().orderBy('id').execute())

  await app.listen({ port, host: '127.0.0.1' })
  return {
    port: (app.server.address() as AddressInfo).port,
    async close() {
      await app.close()
      await engine.dispose()
    },
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runExample('fastify', start)
