/**
 * session.stream's memory (issue 14): the heap stays flat while a session
 * streams N rows (default 1 000 000) as mapped objects, because each finished
 * batch's unchanged objects are only weakly held. For contrast, the heap
 * after `session.query` loads a tenth of them at once. Runs on sqlite:// by
 * default (no server needed), or on the URL in STREAM_URL.
 *
 * ```sh
 * npx tsx bench/stream.ts
 * STREAM_ROWS=200000 STREAM_URL=postgresql://postgres@127.0.0.1:5432/test npx tsx bench/stream.ts
 * ```
 */
import { createEngine } from '../src/engine/index.js'
import { MetaData, Model, integer, serial, sessionmaker, table, text } from '../src/session/index.js'
import { collectGarbage } from './support/memory.js'
import { isMain } from './support/main.js'
import { formatNumber } from './support/table.js'

const ROWS = Number(process.env.STREAM_ROWS ?? 1_000_000)
const URL = process.env.STREAM_URL ?? 'sqlite://'
const BATCH = Number(process.env.STREAM_BATCH ?? 1000)

const row = table('bench_stream_row', { id: serial().primaryKey(), n: integer(), label: text() })
class Row extends Model(row) {}
const metadata = new MetaData(row)

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`

export async function streamBench(): Promise<void> {
  const engine = createEngine<unknown>(URL, { poolTimeout: 120_000, connectTimeout: 120_000 })
  try {
    await metadata.dropAll(engine)
    await metadata.createAll(engine)
    const chunk = 10_000
    for (let start = 0; start < ROWS; start += chunk) {
      const rows = Array.from({ length: Math.min(chunk, ROWS - start) }, (_, i) => ({ n: start + i, label: `row number ${start + i}` }))
      await engine.insertMany('bench_stream_row', rows)
    }
    const Session = sessionmaker({ bind: engine })
    const baseline = collectGarbage()
    const samples: [number, number][] = []
    const session = Session()
    const every = Math.max(BATCH, Math.floor(ROWS / 10))
    let seen = 0
    let sum = 0
    const t0 = performance.now()
    for await (const o of session.stream(Row, undefined, { batchSize: BATCH })) {
      sum += o.n
      if (++seen % every === 0) samples.push([seen, collectGarbage() - baseline])
    }
    const seconds = (performance.now() - t0) / 1000
    await session.close()
    if (seen !== ROWS || sum !== (ROWS * (ROWS - 1)) / 2) throw new Error(`streamed ${seen} rows (sum ${sum}), expected ${ROWS}`)
    console.log(`session.stream over ${formatNumber(ROWS)} rows on ${URL.split(':')[0]}, batchSize ${BATCH}: ${seconds.toFixed(1)} s (${formatNumber(Math.round(ROWS / seconds))} rows/s)`)
    console.log('rows streamed  heap above baseline (after GC)')
    for (const [n, bytes] of samples) console.log(`${formatNumber(n).padStart(13)}  ${mb(bytes)}`)
    const tenth = Math.max(1, Math.floor(ROWS / 10))
    const held = Session()
    const loaded = await held.query(Row, (q) => q.where('id', '<=', tenth))
    const heldBytes = collectGarbage() - baseline
    console.log(`for contrast, session.query holding ${formatNumber(loaded.length)} rows: ${mb(heldBytes)}`)
    await held.close()
    await metadata.dropAll(engine)
  } finally {
    await engine.dispose()
  }
}

if (isMain(import.meta.url)) await streamBench()
