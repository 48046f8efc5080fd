/**
 * Model-based test of the public pool API (fast-check `fc.commands`): random
 * sequences of acquire (served, or waiting FIFO), release, stale and repeated
 * release, release of a stranger, invalidate (hard and soft, stale), the
 * clock running out waiters' `poolTimeout`, and dispose, on the fake driver
 * with a faked clock. After every step the QueuePool must agree with a small
 * reference model: no connection held by two holders, no closed connection
 * held, the counts (size, checkedIn, checkedOut, overflow, waiting) as the
 * model says, every open connection idle or held (nothing lost), and every
 * waiter served, timed out or refused exactly when the model says.
 */
import fc from 'fast-check'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { PoolDisposedError, PoolReleaseError, PoolTimeoutError, QueuePool } from '../../src/pool/index.js'
import { FakeDriver, type FakeConnection } from '../support/fake-driver.js'

const TIMEOUT = 50

interface Checkout {
  readonly id: number
  /** The stand-in the caller got (known once the model has seen it served). */
  c: FakeConnection | undefined
  released: boolean
  /** Hard-invalidated: closed, and its slot free; its one release is still welcome. */
  hard: boolean
}

interface Waiting {
  readonly id: number
  readonly deadline: number
}

/** What the pool should look like. */
class Model {
  now = 0
  disposed = false
  nextId = 0
  readonly checkouts: Checkout[] = []
  readonly waiters: Waiting[] = []

  constructor(
    readonly poolSize: number,
    readonly capacity: number,
  ) {}

  /** Checkouts holding a slot: not released, not hard-invalidated. */
  get held(): Checkout[] {
    return this.checkouts.filter((c) => !c.released && !c.hard)
  }

  /** FIFO: whoever waits longest gets the next free slot. */
  serveWaiters(): void {
    while (!this.disposed && this.waiters.length > 0 && this.held.length < this.capacity) {
      const w = this.waiters.shift()!
      this.checkouts.push({ id: w.id, c: undefined, released: false, hard: false })
    }
  }
}

interface Outcome {
  value?: FakeConnection
  error?: unknown
}

interface Real {
  readonly pool: QueuePool<FakeConnection>
  readonly driver: FakeDriver
  readonly outcomes: Map<number, Outcome>
  disposing: Promise<void> | undefined
}

type Cmd = fc.AsyncCommand<Model, Real>

/** Lets opens (microtasks) and the pool's immediates run, without moving the clock. */
const settle = (): Promise<void> => vi.advanceTimersByTimeAsync(0).then(() => undefined)

function verify(m: Model, r: Real): void {
  const { pool, driver } = r
  for (const ck of m.checkouts) {
    if (ck.c !== undefined) continue
    const o = r.outcomes.get(ck.id)!
    expect(o.error, `checkout ${ck.id} should have been served`).toBeUndefined()
    expect(o.value, `checkout ${ck.id} should have been served`).toBeDefined()
    ck.c = o.value
  }
  for (const w of m.waiters) expect(r.outcomes.get(w.id), `waiter ${w.id} should still wait`).toEqual({})
  const held = m.held
  const ids = held.map((ck) => ck.c!.id)
  expect(new Set(ids).size, `one connection held twice: ${ids.join(',')}`).toBe(ids.length)
  for (const ck of held) expect(ck.c!.closed, `checkout ${ck.id} holds a closed connection`).toBe(false)
  expect(pool.checkedOut()).toBe(held.length)
  expect(pool.size()).toBe(m.poolSize)
  expect(pool.checkedIn() + pool.checkedOut()).toBe(pool.size() + pool.overflow())
  expect(pool.checkedIn()).toBeLessThanOrEqual(m.poolSize)
  expect(pool.checkedIn() + pool.checkedOut()).toBeLessThanOrEqual(m.capacity)
  expect(pool.stats().waiting).toBe(m.waiters.length)
  // Nothing lost: every connection still open is idle or held.
  expect(driver.live).toBe(pool.checkedIn() + pool.checkedOut())
  if (m.disposed) expect(pool.checkedIn()).toBe(0)
}

const pick = <T>(items: T[], k: number): T => items[k % items.length]
const unreleased = (m: Model): Checkout[] => m.checkouts.filter((c) => !c.released && c.c !== undefined)
const released = (m: Model): Checkout[] => m.checkouts.filter((c) => c.released)

class Acquire implements Cmd {
  check(): boolean {
    return true
  }
  async run(m: Model, r: Real): Promise<void> {
    const id = m.nextId++
    const outcome: Outcome = {}
    r.outcomes.set(id, outcome)
    r.pool.acquire().then(
      (c) => (outcome.value = c),
      (e: unknown) => (outcome.error = e),
    )
    if (m.disposed) {
      await settle()
      expect(outcome.error).toBeInstanceOf(PoolDisposedError)
      return
    }
    m.waiters.push({ id, deadline: m.now + TIMEOUT })
    m.serveWaiters()
    await settle()
    verify(m, r)
  }
  toString(): string {
    return 'acquire'
  }
}

class Release implements Cmd {
  constructor(readonly k: number) {}
  check(m: Model): boolean {
    return unreleased(m).length > 0
  }
  async run(m: Model, r: Real): Promise<void> {
    const ck = pick(unreleased(m), this.k)
    r.pool.release(ck.c!)
    ck.released = true
    m.serveWaiters()
    await settle()
    verify(m, r)
  }
  toString(): string {
    return `release(${this.k})`
  }
}

class StaleRelease implements Cmd {
  constructor(readonly k: number) {}
  check(m: Model): boolean {
    return released(m).length > 0
  }
  async run(m: Model, r: Real): Promise<void> {
    const ck = pick(released(m), this.k)
    expect(() => r.pool.release(ck.c!)).toThrow(PoolReleaseError)
    expect(() => r.pool.invalidate(ck.c!, new Error('stale'))).toThrow(PoolReleaseError)
    await settle()
    verify(m, r)
  }
  toString(): string {
    return `staleRelease(${this.k})`
  }
}

class ReleaseStranger implements Cmd {
  constructor(readonly k: number) {}
  check(): boolean {
    return true
  }
  async run(m: Model, r: Real): Promise<void> {
    const bare = r.driver.connections
    const stranger: FakeConnection = bare.length > 0 ? pick(bare, this.k) : { id: -1, dead: false, closed: false, inTransaction: false, resets: [] }
    expect(() => r.pool.release(stranger)).toThrow(PoolReleaseError)
    await settle()
    verify(m, r)
  }
  toString(): string {
    return `releaseStranger(${this.k})`
  }
}

class Invalidate implements Cmd {
  constructor(
    readonly k: number,
    readonly soft: boolean,
  ) {}
  check(m: Model): boolean {
    return unreleased(m).length > 0
  }
  async run(m: Model, r: Real): Promise<void> {
    const ck = pick(unreleased(m), this.k)
    r.pool.invalidate(ck.c!, new Error('disconnect'), { soft: this.soft })
    if (!this.soft) ck.hard = true
    m.serveWaiters()
    await settle()
    verify(m, r)
  }
  toString(): string {
    return `invalidate(${this.k}, ${this.soft ? 'soft' : 'hard'})`
  }
}

class Tick implements Cmd {
  constructor(readonly ms: number) {}
  check(): boolean {
    return true
  }
  async run(m: Model, r: Real): Promise<void> {
    m.now += this.ms
    await vi.advanceTimersByTimeAsync(this.ms)
    while (m.waiters.length > 0 && m.waiters[0].deadline <= m.now) {
      const w = m.waiters.shift()!
      expect(r.outcomes.get(w.id)!.error, `waiter ${w.id} should have timed out`).toBeInstanceOf(PoolTimeoutError)
    }
    verify(m, r)
  }
  toString(): string {
    return `tick(${this.ms})`
  }
}

class Dispose implements Cmd {
  check(m: Model): boolean {
    return !m.disposed
  }
  async run(m: Model, r: Real): Promise<void> {
    r.disposing = r.pool.dispose()
    m.disposed = true
    const refused = m.waiters.splice(0)
    await settle()
    for (const w of refused) expect(r.outcomes.get(w.id)!.error).toBeInstanceOf(PoolDisposedError)
    verify(m, r)
  }
  toString(): string {
    return 'dispose'
  }
}

const acquire = fc.constant(new Acquire())
const release = fc.nat().map((k) => new Release(k))
// Listed more than once: weighted, so connections go round many times per run.
const commands = [
  acquire,
  acquire,
  acquire,
  release,
  release,
  release,
  fc.nat().map((k) => new StaleRelease(k)),
  fc.nat().map((k) => new ReleaseStranger(k)),
  fc.tuple(fc.nat(), fc.boolean()).map(([k, soft]) => new Invalidate(k, soft)),
  fc.integer({ min: 1, max: TIMEOUT }).map((ms) => new Tick(ms)),
  fc.constant(new Dispose()),
]

/** One run: a fresh pool and model, the commands, then everything returned and the pool disposed. */
async function runModel(poolSize: number, maxOverflow: number, lifo: boolean, cmds: Iterable<Cmd>): Promise<void> {
  vi.useFakeTimers({ toFake: ['performance', 'Date', 'setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'] })
  try {
    const driver = new FakeDriver()
    const pool = new QueuePool(driver, { poolSize, maxOverflow, poolUseLifo: lifo, poolTimeout: TIMEOUT })
    const model = new Model(poolSize, poolSize + maxOverflow)
    const real: Real = { pool, driver, outcomes: new Map(), disposing: undefined }
    await fc.asyncModelRun(() => ({ model, real }), cmds)
    // Return everything; let the waiters be served or time out; dispose: nothing stays open.
    for (let round = 0; round < 50 && (unreleased(model).length > 0 || model.waiters.length > 0); round++) {
      for (const ck of unreleased(model)) {
        pool.release(ck.c!)
        ck.released = true
      }
      model.serveWaiters()
      await settle()
      verify(model, real)
    }
    expect(model.waiters).toEqual([])
    if (!model.disposed) real.disposing = pool.dispose()
    await real.disposing
    expect(driver.live).toBe(0)
  } finally {
    vi.useRealTimers()
  }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('QueuePool against a reference model', () => {
  it('random acquire / release / stale release / invalidate / timeout / dispose sequences', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 2 }),
        fc.boolean(),
        fc.commands(commands, { maxCommands: 60, size: 'max' }),
        (poolSize, maxOverflow, lifo, cmds) => runModel(poolSize, maxOverflow, lifo, cmds),
      ),
      { numRuns: 200 },
    )
  })

  // The counterexamples the model found (shrunk) on the code before the per-checkout
  // stand-ins, where acquire() returned the bare connection: kept as regression cases.
  it.each([
    ['the bare connection released as if it were a checkout', 1, 0, [new Acquire(), new ReleaseStranger(0)]],
    ['a stale release after the connection went to the next holder', 1, 0, [new Acquire(), new Release(0), new Acquire(), new StaleRelease(0)]],
  ] as [string, number, number, Cmd[]][])('regression: %s', async (_name, poolSize, maxOverflow, cmds) => {
    await runModel(poolSize, maxOverflow, false, cmds)
  })
})
