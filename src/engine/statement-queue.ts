import type { CompiledQuery, QueryResult } from 'kysely'
import type { DbConnection } from './dialect.js'

/**
 * What a {@link StatementQueue} asks of the one who holds the connection.
 * Internal.
 *
 * ```ts
 * const queue = new StatementQueue({ connectionForJob: () => held, refuseAtStart: () => undefined })
 * ```
 */
export interface QueueHolder {
  /** The connection for the next caller's statement: the held one, or a promise of a replacement. May throw. */
  connectionForJob(): DbConnection | Promise<DbConnection>
  /**
   * Checked just before a caller's statement (or a checked section) starts:
   * an error to fail it with instead of sending it (the server rolled the
   * holder's transaction back), or `undefined`.
   */
  refuseAtStart(sql: string): Error | undefined
}

/** One statement or section waiting its turn. */
interface Job {
  next: Job | undefined
  /** A caller's statement... */
  readonly query: CompiledQuery | undefined
  /** ...or a section that has the connection to itself. */
  readonly section: (() => Promise<unknown>) | undefined
  /** Whether {@link QueueHolder.refuseAtStart} is asked first, and what to name in its error. */
  readonly checked: boolean
  readonly sql: string
  // Each job settles its own caller's promise: the value's type is the caller's.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly resolve: (value: any) => void
  readonly reject: (error: unknown) => void
}

/**
 * One holder's statements on one connection, one at a time and in the order
 * they were issued. The driver (pg) would otherwise queue them itself, and a
 * transaction's COMMIT or ROLLBACK, or the check-in, could overtake a
 * statement still running. When nothing runs, a statement goes straight to
 * the driver: the queue costs one flag on the common path.
 *
 * ```ts
 * const queue = new StatementQueue(holder)
 * const [a, b] = await Promise.all([queue.statement(q1), queue.statement(q2)]) // q2 starts after q1 ends
 * await queue.exclusive(async () => held.run('COMMIT'), false)             // after both
 * ```
 */
export class StatementQueue {
  #busy = false
  #head: Job | undefined = undefined
  #tail: Job | undefined = undefined
  readonly #holder: QueueHolder

  constructor(holder: QueueHolder) {
    this.#holder = holder
  }

  /**
   * Handed to the driver as its release: the next job starts when the driver
   * is done. Made per job, not kept: a closure held by every queue makes V8
   * promote each checkout's objects, which costs more than the closure.
   */
  #done(): () => void {
    return () => this.#advance()
  }

  /** True while a statement or section runs. */
  get busy(): boolean {
    return this.#busy
  }

  /** Runs a caller's statement after those issued before it. */
  statement<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (this.#busy) {
      return new Promise<QueryResult<R>>((resolve, reject) => {
        this.#push({ next: undefined, query, section: undefined, checked: true, sql: '', resolve, reject })
      })
    }
    // Nothing runs: straight to the driver, which frees the queue before the caller resumes.
    this.#busy = true
    let connection: DbConnection | Promise<DbConnection>
    try {
      connection = this.#holder.connectionForJob()
    } catch (error) {
      this.#advance()
      return Promise.reject(error)
    }
    if (connection instanceof Promise) {
      const replacing = connection
      return new Promise<QueryResult<R>>((resolve, reject) => this.#whenLive(replacing, query, resolve, reject))
    }
    const refused = this.#holder.refuseAtStart(query.sql)
    if (refused !== undefined) {
      this.#advance()
      return Promise.reject(refused)
    }
    return connection.runQueued<R>(query, this.#done())
  }

  /**
   * Runs `section` with the connection to itself, after everything issued
   * before it; what it sends goes to the connection directly. `checked`
   * sections are refused like statements when the transaction is gone.
   */
  exclusive<T>(section: () => Promise<T>, checked: boolean, sql = ''): Promise<T> {
    if (!this.#busy) {
      // Nothing runs: start now, and let the next job start once this one settles (before its caller resumes).
      const refused = checked ? this.#holder.refuseAtStart(sql) : undefined
      if (refused !== undefined) return Promise.reject(refused)
      this.#busy = true
      let running: Promise<T>
      try {
        running = section()
      } catch (error) {
        this.#advance()
        return Promise.reject(error)
      }
      const done = this.#done()
      running.then(done, done)
      return running
    }
    return new Promise<T>((resolve, reject) => {
      this.#push({ next: undefined, query: undefined, section, checked, sql, resolve, reject })
    })
  }

  #push(job: Job): void {
    if (this.#tail === undefined) this.#head = job
    else this.#tail.next = job
    this.#tail = job
  }

  /** The running job is done: start the next, or go idle. */
  #advance(): void {
    const job = this.#head
    if (job === undefined) {
      this.#busy = false
      return
    }
    this.#head = job.next
    if (this.#head === undefined) this.#tail = undefined
    if (job.query !== undefined) this.#startStatement(job.query, job.resolve, job.reject)
    else this.#startSection(job)
  }

  #startStatement<R>(query: CompiledQuery, resolve: (result: QueryResult<R>) => void, reject: (error: unknown) => void): void {
    let connection: DbConnection | Promise<DbConnection>
    try {
      connection = this.#holder.connectionForJob()
    } catch (error) {
      this.#advance()
      reject(error)
      return
    }
    if (connection instanceof Promise) this.#whenLive(connection, query, resolve, reject)
    else this.#submit(connection, query, resolve, reject)
  }

  /** The holder is checking out a replacement connection: the statement runs on it. */
  #whenLive<R>(
    replacing: Promise<DbConnection>,
    query: CompiledQuery,
    resolve: (result: QueryResult<R>) => void,
    reject: (error: unknown) => void,
  ): void {
    replacing.then(
      (live) => this.#submit(live, query, resolve, reject),
      (error: unknown) => {
        this.#advance()
        reject(error)
      },
    )
  }

  #submit<R>(connection: DbConnection, query: CompiledQuery, resolve: (result: QueryResult<R>) => void, reject: (error: unknown) => void): void {
    const refused = this.#holder.refuseAtStart(query.sql)
    if (refused !== undefined) {
      this.#advance()
      reject(refused)
      return
    }
    connection.submit<R>(query, this.#done(), resolve, reject)
  }

  #startSection(job: Job): void {
    if (job.checked) {
      const refused = this.#holder.refuseAtStart(job.sql)
      if (refused !== undefined) {
        this.#advance()
        job.reject(refused)
        return
      }
    }
    let running: Promise<unknown>
    try {
      running = job.section!()
    } catch (error) {
      this.#advance()
      job.reject(error)
      return
    }
    running.then(
      (value) => {
        this.#advance()
        job.resolve(value)
      },
      (error: unknown) => {
        this.#advance()
        job.reject(error)
      },
    )
  }
}
