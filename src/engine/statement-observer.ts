import type { QueryResult } from 'kysely'
import { EngineOptionError } from './errors.js'
import type { Engine } from './types.js'

/**
 * Called once when an observed statement has settled: `error` is the typed
 * error it failed with (`undefined` on success), `result` its result.
 *
 * ```ts
 * const end: StatementEnd = (error) => console.log(error === undefined ? 'ok' : 'failed')
 * ```
 */
export type StatementEnd = (error: unknown, result: QueryResult<unknown> | undefined) => void

/**
 * Watches every statement an engine sends: the application's, and the
 * engine's own (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, the reset on return).
 * `statement` is called as the statement is handed to the driver and may
 * return a {@link StatementEnd} to hear how it ended. `connection` is the
 * pooled connection it runs on: the same object the pool's events pass, so a
 * transaction can be followed from its BEGIN to its COMMIT.
 *
 * An observer that throws fails that statement (as a throwing `echo` logger
 * does), never the pool. Parameters are passed as bound; record them only
 * when the user asks.
 *
 * ```ts
 * const stop = observeStatements(engine, {
 *   statement(sql) {
 *     const t0 = performance.now()
 *     return (error) => console.log(sql, error === undefined ? 'ok' : 'failed', performance.now() - t0, 'ms')
 *   },
 * })
 * stop()
 * ```
 */
export interface StatementObserver {
  /** Called as a statement is sent; the `StatementEnd` it returns (if any) is called when it settles. */
  statement(sql: string, parameters: readonly unknown[], connection: object): StatementEnd | undefined | void
}

/** Where an engine keeps its observers: its shared context (see `EngineContext`). Internal. */
export interface ObserverSlot {
  observer?: StatementObserver | undefined
  observers?: StatementObserver[]
}

/**
 * Adds `observer` to `engine`; returns the function that removes it. With no
 * observer the statement path costs one property test; with one it costs its
 * two calls and one closure per statement.
 *
 * ```ts
 * const stop = observeStatements(engine, { statement: (sql) => void console.log('>', sql) })
 * await engine.db.selectFrom('person').selectAll().execute() // > select * from "person"
 * stop()
 * ```
 */
export function observeStatements<DB>(engine: Engine<DB>, observer: StatementObserver): () => void {
  return addObserver(slotOf(engine), observer)
}

/**
 * {@link observeStatements} on an engine's context. Internal.
 *
 * ```ts
 * const stop = addObserver(context, observer)
 * ```
 */
export function addObserver(slot: ObserverSlot, observer: StatementObserver): () => void {
  const list = (slot.observers ??= [])
  list.push(observer)
  refresh(slot)
  let removed = false
  return () => {
    if (removed) return
    removed = true
    const at = list.indexOf(observer)
    if (at >= 0) list.splice(at, 1)
    refresh(slot)
  }
}

/** One observer is called as is; several through a fan-out. */
function refresh(slot: ObserverSlot): void {
  const list = slot.observers ?? []
  if (list.length === 0) slot.observer = undefined
  else if (list.length === 1) slot.observer = list[0]
  else slot.observer = fanOut([...list])
}

function fanOut(observers: readonly StatementObserver[]): StatementObserver {
  return {
    statement(sql, parameters, connection) {
      const ends: StatementEnd[] = []
      for (const o of observers) {
        const end = o.statement(sql, parameters, connection)
        if (typeof end === 'function') ends.push(end)
      }
      if (ends.length === 0) return undefined
      return (error, result) => {
        for (const end of ends) end(error, result)
      }
    },
  }
}

/** The engine's observer slot (its dialect driver's context). */
function slotOf<DB>(engine: Engine<DB>): ObserverSlot {
  const driver = (engine as { dialectDriver?: { context?: ObserverSlot } }).dialectDriver
  if (driver?.context === undefined) throw new EngineOptionError('observeStatements() needs an engine made by createEngine()', 'engine')
  return driver.context
}

/**
 * Starts observing one statement whose caller is settled through callbacks;
 * returns the callbacks to use instead (the same ones when nothing listens).
 * Internal: the dialects call it when `context.observer` is set.
 *
 * ```ts
 * ;[resolve, reject] = observeCallbacks(observer, sql, parameters, this, resolve, reject)
 * ```
 */
export function observeCallbacks<R>(
  observer: StatementObserver,
  sql: string,
  parameters: readonly unknown[],
  connection: object,
  resolve: (result: QueryResult<R>) => void,
  reject: (error: unknown) => void,
): [(result: QueryResult<R>) => void, (error: unknown) => void] {
  const end = observer.statement(sql, parameters, connection)
  if (typeof end !== 'function') return [resolve, reject]
  return [
    (result) => {
      try {
        end(undefined, result as QueryResult<unknown>)
      } catch (error) {
        reject(error)
        return
      }
      resolve(result)
    },
    (error) => {
      try {
        end(error, undefined)
      } catch {
        // The statement's own error is the one the caller must see.
      }
      reject(error)
    },
  ]
}

/**
 * {@link observeCallbacks} for a statement whose result is a promise.
 *
 * ```ts
 * return observer === undefined ? running : observePromise(observer, sql, parameters, this, running)
 * ```
 */
export function observePromise<R>(
  observer: StatementObserver,
  sql: string,
  parameters: readonly unknown[],
  connection: object,
  start: () => Promise<R>,
): Promise<R> {
  const end = observer.statement(sql, parameters, connection)
  if (typeof end !== 'function') return start()
  let running: Promise<R>
  try {
    running = start()
  } catch (error) {
    running = Promise.reject(error)
  }
  return running.then(
    (result) => {
      end(undefined, result as QueryResult<unknown>)
      return result
    },
    (error: unknown) => {
      try {
        end(error, undefined)
      } catch {
        // The statement's own error is the one the caller must see.
      }
      throw error
    },
  )
}
