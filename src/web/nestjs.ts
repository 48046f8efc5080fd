/**
 * Session per request for NestJS: a global module with an interceptor (the
 * unit of work around each handler) and an exception filter (athanor's
 * errors as HTTP answers). Written without decorator syntax (providers are
 * plain values and factories), so it needs no compiler option.
 *
 * ```ts
 * import 'reflect-metadata'
 * import { Module } from '@nestjs/common'
 * import { createEngine, scopedSession, sessionmaker } from 'athanor'
 * import { AthanorModule } from 'athanor/nestjs'
 *
 * export const db = scopedSession(sessionmaker({ bind: createEngine('sqlite://') }))
 *
 * @Module({ imports: [AthanorModule.forRoot({ scoped: db })], controllers: [AuthorsController] })
 * export class AppModule {}
 * ```
 */
import type { ArgumentsHost, CallHandler, DynamicModule, ExceptionFilter, ExecutionContext, NestInterceptor } from '@nestjs/common'
import { APP_FILTER, APP_INTERCEPTOR, BaseExceptionFilter, HttpAdapterHost } from '@nestjs/core'
import { Observable, type Subscription } from 'rxjs'
import { type HttpErrorOptions, httpErrorFor } from './http-error.js'
import { logServerErrors, type SessionPerRequestOptions } from './options.js'
import { openRequestUnit, type RequestScope } from './request-unit.js'

export { type HttpErrorBody, type HttpErrorOptions, type HttpErrorResponse, httpErrorFor } from './http-error.js'

/**
 * The injection token of the module's scoped session.
 *
 * ```ts
 * import { Inject } from '@nestjs/common'
 * import type { ScopedSession } from 'athanor'
 * import { SCOPED_SESSION } from 'athanor/nestjs'
 *
 * export class AuthorsService {
 *   constructor(@Inject(SCOPED_SESSION) private readonly db: ScopedSession<unknown>) {}
 * }
 * ```
 */
export const SCOPED_SESSION = 'athanor:scoped-session'

/** What a response is, as far as the interceptor needs: Express's, or Fastify's reply with its `raw`. */
interface ClosingResponse {
  once(event: 'close', fn: () => void): unknown
}

function rawResponse(response: unknown): ClosingResponse | undefined {
  const r = response as { raw?: unknown } | null | undefined
  const raw = (r !== null && typeof r === 'object' && typeof r.raw === 'object' ? r.raw : r) as Partial<ClosingResponse> | null | undefined
  return raw !== null && raw !== undefined && typeof raw.once === 'function' ? (raw as ClosingResponse) : undefined
}

/**
 * Runs each HTTP handler in its own scope of `scoped`: the handler (and
 * everything it calls) sees the request's Session as `scoped.current`; when
 * the handler returns, the session commits before the value goes on to be
 * sent; when it throws, or the commit fails, the session rolls back and the
 * error goes on to the exception filters. When the client goes away first,
 * the scope ends at once: the session rolls back and its connection returns.
 *
 * ```ts
 * import { createEngine, scopedSession, sessionmaker } from 'athanor'
 * import { SessionInterceptor } from 'athanor/nestjs'
 *
 * const db = scopedSession(sessionmaker({ bind: createEngine('sqlite://') }))
 * export const interceptor = new SessionInterceptor(db) // app.useGlobalInterceptors(interceptor)
 * ```
 */
export class SessionInterceptor implements NestInterceptor {
  constructor(private readonly scoped: RequestScope) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle()
    const scoped = this.scoped
    return new Observable<unknown>((subscriber) => {
      const values: unknown[] = []
      let inner: Subscription | undefined
      // handle() is called inside the scope: Nest binds the handler's async context there.
      const unit = openRequestUnit(scoped, () => {
        inner = next.handle().subscribe({
          next: (value) => values.push(value),
          error: (error: unknown) => {
            void unit.settle(false).then(
              () => subscriber.error(error),
              () => subscriber.error(error),
            )
          },
          complete: () => {
            unit.settle(true).then(
              () => {
                for (const v of values) subscriber.next(v)
                subscriber.complete()
              },
              (error: unknown) => subscriber.error(error),
            )
          },
        })
      })
      const response = rawResponse(context.switchToHttp().getResponse())
      // 'close' comes after the answer, or when the client went away before it.
      if (response !== undefined) response.once('close', () => unit.end())
      return () => {
        inner?.unsubscribe()
        if (response === undefined) unit.end()
      }
    })
  }
}

/**
 * Answers athanor's errors (and errors that are not Nest `HttpException`s)
 * with {@link httpErrorFor}'s mapping; `HttpException`s and errors that carry
 * their own status keep Nest's answer.
 *
 * ```ts
 * import { HttpAdapterHost, NestFactory } from '@nestjs/core'
 * import { AthanorExceptionFilter } from 'athanor/nestjs'
 *
 * export async function start(AppModule: new () => object) {
 *   const app = await NestFactory.create(AppModule)
 *   app.useGlobalFilters(new AthanorExceptionFilter(app.get(HttpAdapterHost).httpAdapter, { retryAfter: 2 }))
 *   await app.listen(3000)
 * }
 * ```
 */
export class AthanorExceptionFilter extends BaseExceptionFilter implements ExceptionFilter {
  constructor(
    private readonly adapter: HttpAdapterHost['httpAdapter'],
    private readonly options: HttpErrorOptions & Pick<SessionPerRequestOptions, 'onError'> = {},
  ) {
    super(adapter)
  }

  /** Answers athanor's errors with their HTTP status; Nest's own HttpExceptions keep Nest's answer. */
  override catch(exception: unknown, host: ArgumentsHost): void {
    const answer = httpErrorFor(exception, this.options)
    if (answer.source === undefined && (this.isHttpException(exception) || host.getType() !== 'http')) {
      super.catch(exception, host)
      return
    }
    ;(this.options.onError ?? logServerErrors)(exception, answer)
    const response: unknown = host.switchToHttp().getResponse()
    if (this.adapter.isHeadersSent(response)) {
      this.adapter.end(response)
      return
    }
    for (const [name, value] of Object.entries(answer.headers)) this.adapter.setHeader(response, name, value)
    this.adapter.reply(response, answer.body, answer.status)
  }

  private isHttpException(e: unknown): boolean {
    if (typeof e !== 'object' || e === null) return false
    const x = e as { getStatus?: unknown; statusCode?: unknown }
    return typeof x.getStatus === 'function' || (typeof x.statusCode === 'number' && x.statusCode < 500)
  }
}

/**
 * Options of {@link AthanorModule.forRoot}.
 *
 * ```ts
 * import { createEngine, scopedSession, sessionmaker } from 'athanor'
 * import type { AthanorModuleOptions } from 'athanor/nestjs'
 *
 * export const options: AthanorModuleOptions = {
 *   scoped: scopedSession(sessionmaker({ bind: createEngine('sqlite://') })),
 *   exceptionFilter: false,
 * }
 * ```
 */
export interface AthanorModuleOptions extends HttpErrorOptions, Pick<SessionPerRequestOptions, 'onError'> {
  /** The scoped session whose `current` each request gets; injectable as {@link SCOPED_SESSION}. */
  readonly scoped: RequestScope
  /** Install {@link AthanorExceptionFilter} as a global filter. Default true. */
  readonly exceptionFilter?: boolean
}

/**
 * The global module: registers {@link SessionInterceptor} as a global
 * interceptor, {@link AthanorExceptionFilter} as a global filter (unless
 * `exceptionFilter: false`), and provides the scoped session as
 * {@link SCOPED_SESSION}.
 *
 * ```ts
 * import { createEngine, scopedSession, sessionmaker } from 'athanor'
 * import { AthanorModule } from 'athanor/nestjs'
 *
 * const db = scopedSession(sessionmaker({ bind: createEngine('sqlite://') }))
 * export const imports = [AthanorModule.forRoot({ scoped: db, retryAfter: 2 })]
 * ```
 */
export class AthanorModule {
  /** The module for the app's root: a global session interceptor and error filter on `options.scoped`. */
  static forRoot(options: AthanorModuleOptions): DynamicModule {
    const filter =
      options.exceptionFilter === false
        ? []
        : [
            {
              provide: APP_FILTER,
              useFactory: (host: HttpAdapterHost) => new AthanorExceptionFilter(host.httpAdapter, options),
              inject: [HttpAdapterHost],
            },
          ]
    return {
      module: AthanorModule,
      global: true,
      providers: [
        { provide: SCOPED_SESSION, useValue: options.scoped },
        { provide: APP_INTERCEPTOR, useValue: new SessionInterceptor(options.scoped) },
        ...filter,
      ],
      exports: [SCOPED_SESSION],
    }
  }
}
