/**
 * Session per request on Express: `npm run example:express [url]`
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
import express from 'express'
import { createEngine, MetaData, Model, scopedSession, serial, sessionmaker, table, varchar } from '../src/index.js'
import { errorHandler, sessionMiddleware } from '../src/web/express.js'
import { type ExampleApp, runExample, serve } from './framework-check.js'

const author = table('author', { id: serial().primaryKey(), name: varchar(100).unique() })
class Author extends Model(author) {}
const metadata = new MetaData(author)

/** Starts the app; resolves to its port and a `close` that also disposes the engine. */
export async function start(url = 'sqlite://', port = 3000): Promise<ExampleApp> {
  const engine = createEngine(url)
  await metadata.createAll(engine)
  const db = scopedSession(sessionmaker({ bind: engine }))

  const app = express()
  app.use(express.json())
  app.use(sessionMiddleware(db)) // one Session per request, committed before a 2xx leaves
  app.post('/authors', async (req, res) => {
    const a = new Author({ name: String(req.body?.name ?? '') })
    db.current.add(a)
    await db.current.flush() // the id is known now
    res.status(201).json({ id: a.id })
  })
  app.get('/authors/:id', async (req, res) => {
    const a = await db.current.getOrThrow(Author, Number(req.params.id)) // 404 when missing
    res.json({ id: a.id, name: a.name })
  })
  app.use(errorHandler()) // IntegrityError -> 409, ObjectNotFoundError -> 404, ...

  return serve(http.createServer(app), port, () => engine.dispose())
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runExample('express', start)
