/**
 * A controllable driver for pool tests: connections are plain objects, and
 * the test decides how long opens take, which fail, what pings answer and
 * whether resets fail. Counts every call, so tests can assert what the pool did.
 *
 * ```ts
 * const driver = new FakeDriver()
 * driver.failOpens(2, new Error('ECONNREFUSED'))
 * const pool = new QueuePool(driver, { poolSize: 2 })
 * ```
 */
import type { PoolDriver, ResetMode } from '../../src/pool/index.js'

export interface FakeConnection {
  readonly id: number
  /** Set by the test to make the next pings answer false. */
  dead: boolean
  closed: boolean
  /** True while a transaction is open (a test sets it; reset clears it). */
  inTransaction: boolean
  resets: ResetMode[]
}

/**
 * What a fake server says when it is at its connection limit: the driver
 * calls it temporary (as PostgreSQL's 53300 and MySQL's 1040 are).
 *
 * ```ts
 * driver.failOpens(2, new ServerFullError())
 * ```
 */
export class ServerFullError extends Error {
  constructor() {
    super('sorry, too many clients already')
  }
}

export class FakeDriver implements PoolDriver<FakeConnection> {
  opens = 0
  openAttempts = 0
  closes = 0
  pings = 0
  resets = 0
  /** ms each open takes (0: resolves in a microtask). */
  openDelay = 0
  /** ms each reset takes; 0 answers synchronously. */
  resetDelay = 0
  /** ms each ping takes; -1 answers synchronously; Infinity never answers. */
  pingDelay = -1
  /** Connections opened, in order. */
  readonly connections: FakeConnection[] = []
  private openFailures: unknown[] = []
  private failAllWith: unknown = undefined
  private resetFailures = 0
  private hangOpens = 0
  private nextId = 1

  /** The next `n` opens reject with `error`. */
  failOpens(n: number, error: unknown = new Error('connection refused')): void {
    for (let i = 0; i < n; i++) this.openFailures.push(error)
  }

  /** Every open rejects with `error` until called with `undefined`. */
  failAllOpens(error: unknown): void {
    this.failAllWith = error
  }

  /** The next `n` opens take 300 ms: longer than any connectTimeout or poolTimeout a test uses. */
  hangNextOpens(n: number): void {
    this.hangOpens += n
  }

  /** The next `n` resets reject. */
  failResets(n: number): void {
    this.resetFailures += n
  }

  open = async (): Promise<FakeConnection> => {
    this.openAttempts++
    if (this.hangOpens > 0) {
      this.hangOpens--
      // Arrives much later than any connectTimeout a test uses.
      await sleep(300)
      return this.make()
    }
    if (this.openDelay > 0) await sleep(this.openDelay)
    if (this.failAllWith !== undefined) throw this.failAllWith
    if (this.openFailures.length > 0) throw this.openFailures.shift()
    return this.make()
  }

  private make(): FakeConnection {
    this.opens++
    const c: FakeConnection = { id: this.nextId++, dead: false, closed: false, inTransaction: false, resets: [] }
    this.connections.push(c)
    return c
  }

  close = (c: FakeConnection): void => {
    this.closes++
    c.closed = true
  }

  ping = (c: FakeConnection): boolean | Promise<boolean> => {
    this.pings++
    if (this.pingDelay < 0) return !c.dead && !c.closed
    if (this.pingDelay === Infinity) return new Promise<boolean>(() => {})
    return sleep(this.pingDelay).then(() => !c.dead && !c.closed)
  }

  reset = (c: FakeConnection, mode: ResetMode): void | Promise<void> => {
    this.resets++
    const fail = this.resetFailures > 0
    if (fail) this.resetFailures--
    const finish = (): void => {
      if (fail) throw new Error('reset failed: connection lost')
      c.inTransaction = false
      c.resets.push(mode)
    }
    if (this.resetDelay <= 0) return finish()
    return sleep(this.resetDelay).then(finish)
  }

  isTemporaryOpenError = (error: unknown): boolean => error instanceof ServerFullError

  /** Connections open right now. */
  get live(): number {
    return this.opens - this.closes
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
