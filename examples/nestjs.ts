/**
 * Session per request on NestJS (Express platform): `npm run example:nestjs [url]`
 * (default `sqlite://`, in memory; `pglite://` or a PostgreSQL/MySQL URL work too).
 *
 *   curl -X POST localhost:3000/authors -H 'content-type: application/json' -d '{"name":"Ada"}'   # 201 {"id":1}
 *   curl -X POST localhost:3000/authors -H 'content-type: application/json' -d '{"name":"Ada"}'   # 409 unique constraint
 *   curl localhost:3000/authors/1                                                                # 200 {"id":1,"name":"Ada"}
 *   curl localhost:3000/authors/99                                                               # 404
 *
 * `--check` starts it on a free port, makes those requests, prints the answers and exits.
 *
 * The decorators are applied as plain function calls so this file runs under
 * tsx without `experimentalDecorators`; in an app compiled with it, write
 * `@Controller('authors')`, `@Post()`, `@Body()` as usual.
 */
import 'reflect-metadata'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import { Body, Controller, Get, Module, Param, Post } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { createEngine, MetaData, Model, type ScopedSession, scopedSession, serial, sessionmaker, table, varchar } from '../src/index.js'
import { AthanorModule } from '../src/web/nestjs.js'
import { type ExampleApp, runExample } from './framework-check.js'

const author = table('author', { id: serial().primaryKey(), name: varchar(100).unique() })
class Author extends Model(author) {}
const metadata = new MetaData(author)

function authorsController(db: ScopedSession<unknown>) {
  class AuthorsController {
    // The interceptor commits when this returns, rolls back when it throws.
    async create(body: { name?: string }) {
      const a = new Author({ name: String(body?.name ?? '') })
      db.current.add(a)
      await db.current.flush() // the id is known now
      return { id: a.id }
    }
    async get(id: string) {
      const a = await db.current.getOrThrow(Author, Number(id)) // 404 when missing
      return { id: a.id, name: a.name }
    }
  }
  const proto = AuthorsController.prototype
  Controller('authors')(AuthorsController)
  Post()(proto, 'create', Object.getOwnPropertyDescriptor(proto, 'create')!)
  Body()(proto, 'create', 0)
  Get(':id')(proto, 'get', Object.getOwnPropertyDescriptor(proto, 'get')!)
  Param('id')(proto, 'get', 0)
  return AuthorsController
}

/** Starts the app; resolves to its port and a `close` that also disposes the engine. */
export async function start(url = 'sqlite://', port = 3000): Promise<ExampleApp> {
  const engine = createEngine(url)
  await metadata.createAll(engine)
  const db = scopedSession(sessionmaker({ bind: engine }))

  class AppModule {}
  // AthanorModule: the session interceptor and the error filter (IntegrityError -> 409, ...), globally.
  Module({ imports: [AthanorModule.forRoot({ scoped: db })], controllers: [authorsController(db)] })(AppModule)

  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'], forceCloseConnections: true })
  await app.listen(port, '127.0.0.1')
  return {
    port: (app.getHttpServer().address() as AddressInfo).port,
    async close() {
      await app.close()
      await engine.dispose()
    },
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runExample('nestjs', start)
