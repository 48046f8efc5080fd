/**
 * Pool checkout+checkin throughput over a stub connection (16 concurrent
 * callers, at most 10 connections), athanor's QueuePool beside tarn,
 * generic-pool, pg-pool and a bare array stack with a FIFO waiter queue, all
 * measured interleaved in the same run; plus the handoff latency (release to
 * the waiting caller's resolution) when the pool must make callers wait.
 *
 * Run: `npx tsx bench/pool.ts` (or `npm run bench`).
 */
import { EventEmitter } from 'node:events'
import { fileURLToPath } from 'node:url'
import genericPool from 'generic-pool'
// @ts-expect-error pg-pool ships no type declarations
import PgPool from 'pg-pool'
import tarn from 'tarn'
import { QueuePool } from '../src/pool/index.js'

const CALLERS = 16
const MAX = 10
const CYCLES_PER_CALLER = 25_000
const ROUNDS = 5
const HANDOFFS = 20_000

interface Stub {
  id: number
}

/** The uniform face each contender shows the benchmark. */
interface Contender {
  name: string
  acquire(): Promise<Stub>
  release(c: Stub): void
  close(): Promise<void>
}

let nextId = 0
const stub = (): Stub => ({ id: nextId++ })

function athanor(max: number): Contender {
  const pool = new QueuePool<Stub>(
    { open: async () => stub(), close: () => {} },
    { poolSize: max, maxOverflow: 0, poolResetOnReturn: null },
  )
  return { name: 'athanor QueuePool', acquire: () => pool.acquire(), release: (c) => pool.release(c), close: () => pool.dispose() }
}

function tarnPool(max: number): Contender {
  const pool = new tarn.Pool<Stub>({ create: async () => stub(), destroy: () => {}, min: 0, max, acquireTimeoutMillis: 30_000 })
  return { name: 'tarn', acquire: () => pool.acquire().promise, release: (c) => void pool.release(c), close: async () => void (await pool.destroy()) }
}

function generic(max: number): Contender {
  const pool = genericPool.createPool<Stub>({ create: async () => stub(), destroy: async () => {} }, { max, min: 0 })
  return {
    name: 'generic-pool',
    acquire: () => pool.acquire(),
    release: (c) => void pool.release(c),
    close: async () => {
      await pool.drain()
      await pool.clear()
    },
  }
}

/** The least a pg.Client must do for pg-pool: connect, end, and be an EventEmitter. */
class StubClient extends EventEmitter {
  _queryable = true
  _ending = false
  release: ((err?: Error) => void) | undefined
  connect(cb: (err?: Error) => void): void {
    cb()
  }
  end(cb?: () => void): void {
    this._ending = true
    this.emit('end')
    cb?.()
  }
}

function pgPool(max: number): Contender {
  // pg-pool's defaults (idleTimeoutMillis 10 s), as its users run it.
  const pool = new PgPool({ Client: StubClient, max })
  return {
    name: 'pg-pool',
    acquire: () => pool.connect() as unknown as Promise<Stub>,
    release: (c) => (c as unknown as StubClient).release!(),
    close: () => pool.end(),
  }
}

/** The floor: an array stack of connections and a FIFO queue of waiting resolvers, nothing else. */
function bare(max: number): Contender {
  const free: Stub[] = []
  const waiters: ((c: Stub) => void)[] = []
  let head = 0
  let created = 0
  return {
    name: 'bare stack + FIFO',
    acquire() {
      const c = free.pop()
      if (c !== undefined) return Promise.resolve(c)
      if (created < max) {
        created++
        return Promise.resolve(stub())
      }
      return new Promise<Stub>((resolve) => waiters.push(resolve))
    },
    release(c) {
      if (head < waiters.length) {
        const w = waiters[head]
        waiters[head++] = undefined as never
        if (head > 1024 && head * 2 > waiters.length) {
          waiters.splice(0, head)
          head = 0
        }
        w(c)
      } else free.push(c)
    },
    close: async () => {},
  }
}

const CONTENDERS: ((max: number) => Contender)[] = [athanor, tarnPool, generic, pgPool, bare]

async function cycles(pool: Contender): Promise<number> {
  const worker = async (): Promise<void> => {
    for (let i = 0; i < CYCLES_PER_CALLER; i++) {
      const c = await pool.acquire()
      pool.release(c)
    }
  }
  // Warm up: open the connections and let the JIT settle.
  await Promise.all(Array.from({ length: CALLERS }, () => (async () => { for (let i = 0; i < 2_000; i++) pool.release(await pool.acquire()) })()))
  const t0 = performance.now()
  await Promise.all(Array.from({ length: CALLERS }, worker))
  const ms = performance.now() - t0
  return (CALLERS * CYCLES_PER_CALLER) / (ms / 1000)
}

/** Microseconds from release() to the waiting caller running, pool of one. */
async function handoff(pool: Contender): Promise<number> {
  const samples: number[] = []
  let held = await pool.acquire()
  for (let i = 0; i < HANDOFFS; i++) {
    let released = 0
    const waiting = pool.acquire().then((c) => {
      samples.push(performance.now() - released)
      return c
    })
    // Let the waiter get queued before releasing.
    await null
    released = performance.now()
    pool.release(held)
    held = await waiting
  }
  pool.release(held)
  samples.sort((a, b) => a - b)
  return samples[samples.length >> 1] * 1000
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[s.length >> 1]
}

/** Runs the whole benchmark and prints the table. */
export async function runPoolBench(): Promise<void> {
  const rates = new Map<string, number[]>()
  const latencies = new Map<string, number[]>()
  for (let round = 0; round < ROUNDS; round++) {
    // Interleaved: every contender once per round, in a rotating order.
    for (let k = 0; k < CONTENDERS.length; k++) {
      const make = CONTENDERS[(k + round) % CONTENDERS.length]
      const pool = make(MAX)
      const rate = await cycles(pool)
      await pool.close()
      const single = make(1)
      const lat = await handoff(single)
      await single.close()
      ;(rates.get(pool.name) ?? rates.set(pool.name, []).get(pool.name)!).push(rate)
      ;(latencies.get(pool.name) ?? latencies.set(pool.name, []).get(pool.name)!).push(lat)
    }
  }
  const ours = median(rates.get('athanor QueuePool')!)
  const oursLat = median(latencies.get('athanor QueuePool')!)
  console.log(`\nPool checkout+checkin, stub connection, ${CALLERS} callers, max ${MAX}, median of ${ROUNDS} interleaved rounds`)
  console.log('pool'.padEnd(22) + 'cycles/s'.padStart(12) + '  athanor ×' + 'handoff µs'.padStart(13) + '  athanor ×')
  for (const [name, rs] of rates) {
    const r = median(rs)
    const l = median(latencies.get(name)!)
    console.log(
      name.padEnd(22) +
        `${(r / 1e6).toFixed(2)} M`.padStart(12) +
        `${(ours / r).toFixed(2)}`.padStart(11) +
        `${l.toFixed(2)}`.padStart(13) +
        `${(l / oursLat).toFixed(2)}`.padStart(11),
    )
  }
  const peers = [...rates.entries()].filter(([n]) => n !== 'athanor QueuePool' && n !== 'bare stack + FIFO')
  const fastest = Math.max(...peers.map(([, rs]) => median(rs)))
  console.log(`athanor / fastest peer: ${(ours / fastest).toFixed(2)}x (goal >= 2x)`)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runPoolBench()
}
