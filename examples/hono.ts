/**
 * Session per request on Hono (served by @hono/node-server): `npm run example:hono [url]`
 * (default `sqlite://`, in memory; `pglite://` or a PostgreSQL/MySQL URL work too).
 *
 *   curl -X POST localhost:3000/authors -H 'content-type: application/json' -d '{"name":"Ada"}'   # 201 {"id":1}
 *   curl -X POST localhost:3000/authors -H 'content-type: application/json' -d '{"name":"Ada"}'   # 409 unique constraint
 *   curl localhost:3000/authors/1                                                                # 200 {"id":1,"name":"Ada"}
 *   curl localhost:3000/authors/99                                                               # 404
 *
 * `--check` starts it on a free port, makes those requests, prints the answers and exits.
 */
import http from 'node:http'
import { pathToFileURL } from 'node:url'
import { getRequestListener } from '@hono/node-server'
import { Hono } from 'hono'
import { createEngine, MetaData, Model, scopedSession, serial, sessionmaker, table, varchar } from '../src/index.js'
import { errorHandler, sessionMiddleware } from '../src/web/hono.js'
import { type ExampleApp, runExample, serve } from './framework-check.js'

const author = table('author', { id: serial().primaryKey(), name: varchar(100).unique() })
class Author extends Model(author) {}
const metadata = new MetaData(author)

/** Starts the app; resolves to its port and a `close` that also disposes the engine. */
export async function start(url = 'sqlite://', port = 3000): Promise<ExampleApp> {
  const engine = createEngine(url)
  await metadata.createAll(engine)
  const db = scopedSession(sessionmaker({ bind: engine }))

  const app = new Hono()
  app.use(sessionMiddleware(db)) // one Session per request, committed before a 2xx leaves
  app.onError(errorHandler()) // IntegrityError -> 409, ObjectNotFoundError -> 404, ...
  app.post('/authors', async (c) => {
    const body = (await c.req.json()) as { name?: string }
    const a = new Author({ name: String(body.name ?? '') })
    db.current.add(a)
    await db.current.flush() // the id is known now
    return c.json({ id: a.id }, 201)
  })
  app.get('/authors/:id', async (c) => {
    const a = await db.current.getOrThrow(Author, Number(c.req.param('id'))) // 404 when missing
    return c.json({ id: a.id, name: a.name })
  })

  return serve(http.createServer(getRequestListener(app.fetch)), port, () => engine.dispose())
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runExample('hono', start)
