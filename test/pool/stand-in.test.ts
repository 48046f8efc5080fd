/**
 * `pool.acquire()` hands out one stand-in per checkout: a stale or repeated
 * `release()` / `invalidate()` is a PoolReleaseError and can never return or
 * condemn another holder's checkout, in every pool class. The stand-in works
 * for any resource: plain objects with methods, class instances with #private
 * fields, built-ins with internal slots, sockets.
 */
import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import {
  AssertionPool,
  AssertionPoolError,
  NullPool,
  PoolReleaseError,
  PoolTimeoutError,
  QueuePool,
  SingleConnectionPool,
  StaticPool,
  type Pool,
  type PoolDriver,
} from '../../src/pool/index.js'
import { FakeDriver, type FakeConnection } from '../support/fake-driver.js'

type Make = (driver: FakeDriver) => Pool<FakeConnection>

const ONE = { poolSize: 1, maxOverflow: 0, poolTimeout: 30 } as const
const CLASSES: [string, Make][] = [
  ['QueuePool', (d) => new QueuePool(d, ONE)],
  ['SingleConnectionPool', (d) => new SingleConnectionPool(d, { poolTimeout: 30 })],
  ['NullPool', (d) => new NullPool(d)],
  ['StaticPool', (d) => new StaticPool(d)],
  ['AssertionPool', (d) => new AssertionPool(d)],
]

const pools: Pool<unknown>[] = []
afterEach(async () => {
  for (const p of pools.splice(0)) await p.dispose({ timeout: 100 })
})

function track<C>(pool: Pool<C>): Pool<C> {
  pools.push(pool as Pool<unknown>)
  return pool
}

describe.each(CLASSES)('%s: a stale or repeated release never frees another checkout', (name, make) => {
  it('release(a) after b got the same connection throws, and b keeps its checkout', async () => {
    const driver = new FakeDriver()
    const pool = track(make(driver))
    const a = await pool.acquire()
    pool.release(a)
    const b = await pool.acquire()
    expect(() => pool.release(a)).toThrow(PoolReleaseError)
    expect(pool.checkedOut()).toBe(1)
    // The next checkout must not get b's connection.
    if (name === 'QueuePool' || name === 'SingleConnectionPool') {
      await expect(pool.acquire()).rejects.toBeInstanceOf(PoolTimeoutError)
    } else if (name === 'AssertionPool') {
      await expect(pool.acquire()).rejects.toBeInstanceOf(AssertionPoolError)
    } else if (name === 'NullPool') {
      expect(b.closed).toBe(false)
    }
    pool.release(b)
    expect(pool.checkedOut()).toBe(0)
    expect(() => pool.release(b)).toThrow(PoolReleaseError)
  })

  it('invalidate(a) after b got the same connection throws and leaves b alone', async () => {
    const driver = new FakeDriver()
    const pool = track(make(driver))
    const a = await pool.acquire()
    pool.release(a)
    const b = await pool.acquire()
    expect(() => pool.invalidate(a, new Error('stale'))).toThrow(PoolReleaseError)
    expect(b.closed).toBe(false)
    expect(pool.stats().invalidated).toBe(0)
    pool.release(b)
  })

  it('refuses the bare connection, a stranger and another pool\'s checkout', async () => {
    const driver = new FakeDriver()
    const pool = track(make(driver))
    const other = track(make(new FakeDriver()))
    const a = await pool.acquire()
    const bare = driver.connections[0]
    expect(bare.id).toBe(a.id)
    expect(() => pool.release(bare)).toThrow(PoolReleaseError)
    expect(() => pool.invalidate(bare)).toThrow(PoolReleaseError)
    const stranger: FakeConnection = { id: 99, dead: false, closed: false, inTransaction: false, resets: [] }
    expect(() => pool.release(stranger)).toThrow(/does not hold/)
    const theirs = await other.acquire()
    expect(() => pool.release(theirs)).toThrow(/another pool/)
    expect(pool.checkedOut()).toBe(1)
    pool.release(a)
    other.release(theirs)
  })

  it('a released stand-in refuses method calls but still shows its data', async () => {
    const pool = track(make(new FakeDriver()))
    const c = await pool.acquire()
    pool.release(c)
    expect(typeof c.id).toBe('number')
    const withMethod = c as FakeConnection & { toString(): string }
    expect(() => withMethod.toString()).toThrow(PoolReleaseError)
  })
})

describe('the stand-in forwards to any resource', () => {
  class Account {
    #balance = 0
    readonly name: string
    constructor(name: string) {
      this.name = name
    }
    deposit(n: number): this {
      this.#balance += n
      return this
    }
    get balance(): number {
      return this.#balance
    }
    set balance(n: number) {
      this.#balance = n
    }
  }

  const driverOf = <C>(open: () => C, close: (c: C) => void = () => {}): PoolDriver<C> => ({
    open: async () => open(),
    close,
  })

  it('class instances with #private fields: methods, getters, setters, instanceof', async () => {
    const pool = track(new QueuePool(driverOf(() => new Account('a')), ONE))
    const acct = await pool.acquire()
    expect(acct).toBeInstanceOf(Account)
    acct.deposit(5).deposit(2)
    expect(acct.balance).toBe(7)
    acct.balance = 10
    expect(acct.balance).toBe(10)
    expect(acct.name).toBe('a')
    // One bound method per name: what a caller compares (or removes as a listener) stays the same.
    expect(acct.deposit).toBe(acct.deposit)
    pool.release(acct)
    const again = await pool.acquire()
    expect(again.balance).toBe(10)
    pool.release(again)
  })

  it('built-ins with internal slots (Map) and frozen objects', async () => {
    const maps = track(new QueuePool(driverOf(() => new Map<string, number>()), ONE))
    const m = await maps.acquire()
    m.set('k', 1)
    expect(m.get('k')).toBe(1)
    expect(m.size).toBe(1)
    expect([...m.entries()]).toEqual([['k', 1]])
    maps.release(m)

    const frozen = track(new QueuePool(driverOf(() => Object.freeze({ n: 3, twice() { return this.n * 2 } })), ONE))
    const f = await frozen.acquire()
    expect(f.twice()).toBe(6)
    frozen.release(f)
  })

  it('sockets: a pooled TCP connection writes, reads and emits through its stand-in', async () => {
    const server = net.createServer((s) => s.on('data', (d) => s.write(d)))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as net.AddressInfo).port
    const driver: PoolDriver<net.Socket> = {
      open: () =>
        new Promise((resolve, reject) => {
          const s = net.connect(port, '127.0.0.1', () => resolve(s))
          s.once('error', reject)
        }),
      close: (s) => void s.destroy(),
    }
    // The first checkout opens a real socket: no 30 ms deadline on a busy machine.
    const pool = new QueuePool(driver, { poolSize: 1, maxOverflow: 0 })
    try {
      const s = await pool.acquire()
      const echoed = new Promise<string>((resolve) => s.once('data', (d: Buffer) => resolve(d.toString())))
      s.write('ping')
      expect(await echoed).toBe('ping')
      expect(s.remotePort).toBe(port)
      pool.release(s)
      expect(() => s.write('late')).toThrow(PoolReleaseError)
    } finally {
      await pool.dispose()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('a primitive resource is handed out as is', async () => {
    let n = 0
    const pool = track(new QueuePool(driverOf(() => ++n), { poolSize: 2 }))
    const a = await pool.acquire()
    expect(a).toBe(1)
    pool.release(a)
    expect(() => pool.release(a)).toThrow(PoolReleaseError)
  })

  it('checkout() handles give the connection itself', async () => {
    const driver = new FakeDriver()
    const pool = track(new QueuePool(driver, ONE))
    const h = await pool.checkout()
    expect(h.connection).toBe(driver.connections[0])
    h.release()
    expect(() => h.release()).toThrow(PoolReleaseError)
    expect(() => h.invalidate()).toThrow(PoolReleaseError)
  })
})
