import 'reflect-metadata'
import { Body, Controller, Get, HttpException, Module, Param, Post } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import type { AddressInfo } from 'node:net'
import { AthanorModule } from '../../src/web/nestjs.js'
import { type Answer, frameworkSuite } from './support.js'

// Decorators applied as functions: the test needs no decorator compiler options.
function decorateMethod(target: object, key: string, decorator: MethodDecorator): void {
  const descriptor = Object.getOwnPropertyDescriptor(target, key)!
  decorator(target, key, descriptor)
}

/** A 4xx/5xx answer is thrown (Nest's way): the session rolls back. */
function answer(a: Answer): unknown {
  if (a.status >= 400) throw new HttpException(a.body as object, a.status)
  return a.body
}

frameworkSuite('nestjs', async ({ scoped, handlers, onError }) => {
  class AuthorsController {
    async create(body: { name?: unknown; fail?: unknown }) {
      return answer(await handlers.create(body))
    }
    async get(id: string) {
      return answer(await handlers.get(Number(id)))
    }
    async hold(body: { name?: unknown }) {
      return answer(await handlers.hold(body))
    }
    async slow() {
      return answer(await handlers.slow())
    }
  }
  const proto = AuthorsController.prototype
  Controller()(AuthorsController)
  decorateMethod(proto, 'create', Post('authors'))
  Body()(proto, 'create', 0)
  decorateMethod(proto, 'get', Get('authors/:id'))
  Param('id')(proto, 'get', 0)
  decorateMethod(proto, 'hold', Post('hold'))
  Body()(proto, 'hold', 0)
  decorateMethod(proto, 'slow', Get('slow'))

  class AppModule {}
  Module({ imports: [AthanorModule.forRoot({ scoped, onError, retryAfter: 2 })], controllers: [AuthorsController] })(AppModule)

  const app = await NestFactory.create(AppModule, { logger: false, forceCloseConnections: true })
  await app.listen(0, '127.0.0.1')
  const port = (app.getHttpServer().address() as AddressInfo).port
  return { port, close: () => app.close() }
})
