/**
 * A small JSON API on node:http with one Session per request (a scoped
 * session): every handler reaches the same Session through `db.current`,
 * and the scope closes it when the request ends, even when the handler throws.
 *
 *   POST /authors          {"name": "Ada", "books": ["Notes"]}  -> 201 {"id": 1}
 *   GET  /authors/:id      -> 200 {"id": 1, "name": "Ada", "books": ["Notes"]}
 *   GET  /authors          -> 200 [{"id": 1, "name": "Ada"}]
 *
 * Run: `npx tsx examples/web/server.ts [url]` (default `pglite://`).
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createEngine } from '../../src/engine/index.js'
import type { Engine } from '../../src/engine/types.js'
import { type DatabaseOf, scopedSession, sessionmaker } from '../../src/session/index.js'
import { schema } from './schema.js'

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  let body = ''
  for await (const chunk of req) body += chunk
  try {
    return body ? (JSON.parse(body) as Record<string, unknown>) : {}
  } catch {
    throw new HttpError(400, 'body is not JSON')
  }
}

/** Builds the app on an engine; `listen(0)` for a free port. */
export function createApp<DB>(engine: Engine<DB>, prefix = 'web') {
  const { metadata, Author, Book } = schema(prefix)
  const Session = sessionmaker({ bind: engine })
  const db = scopedSession(Session)

  // Handlers below never see the session as an argument: `db.current` is this request's.
  async function createAuthor(req: http.IncomingMessage) {
    const input = await readJson(req)
    if (typeof input.name !== 'string' || input.name === '') throw new HttpError(400, 'name is required')
    const author = new Author({ name: input.name })
    for (const title of (input.books as string[] | undefined) ?? []) author.books.push(new Book({ title }))
    db.current.add(author)
    await db.current.flush() // the INSERTs run now; a failure below still rolls them back
    if (input.fail === true) throw new HttpError(500, 'failing on purpose after the flush')
    await db.current.commit()
    return { status: 201, body: { id: author.id } }
  }

  async function getAuthor(id: number) {
    const author = await db.current.get(Author, id, { load: ['books'] })
    if (author === null) throw new HttpError(404, `no author ${id}`)
    return { status: 200, body: { id: author.id, name: author.name, books: author.books.map((b) => b.title) } }
  }

  async function listAuthors() {
    const authors = await db.current.query(Author, (q) => q.orderBy('id'))
    return { status: 200, body: authors.map((a) => ({ id: a.id, name: a.name })) }
  }

  async function route(req: http.IncomingMessage) {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const m = /^\/authors(?:\/(\d+))?$/.exec(url.pathname)
    if (!m) throw new HttpError(404, 'not found')
    if (req.method === 'POST' && !m[1]) return createAuthor(req)
    if (req.method === 'GET' && m[1]) return getAuthor(Number(m[1]))
    if (req.method === 'GET') return listAuthors()
    throw new HttpError(405, 'method not allowed')
  }

  const server = http.createServer((req, res) => {
    void db
      .run(() => route(req))
      .then(
        ({ status, body }) => send(res, status, body),
        (e: unknown) => send(res, e instanceof HttpError ? e.status : 500, { error: (e as Error).message }),
      )
  })

  function send(res: http.ServerResponse, status: number, body: unknown) {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  }

  return {
    server,
    metadata,
    Session,
    db,
    /** Starts listening; resolves to the base URL. */
    async listen(port = 0): Promise<string> {
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    },
    close(): Promise<void> {
      return new Promise((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())))
    },
  }
}

// `npx tsx examples/web/server.ts`: serve on port 3000.
if (import.meta.url === `file://${process.argv[1]}`) {
  const engine = createEngine<DatabaseOf<ReturnType<typeof schema>['metadata']>>(process.argv[2] ?? 'pglite://')
  const app = createApp(engine)
  await app.metadata.createAll(engine)
  console.log(`listening on ${await app.listen(Number(process.env.PORT ?? 3000))}`)
}
