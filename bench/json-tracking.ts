/**
 * The cost of `json({ mutable: true })` (issue 14): a flush compares every
 * loaded object's tracked JSON value with its snapshot, changed or not. This
 * loads N objects (default 10 000) with a small JSON document, then times a
 * flush that finds nothing to write and one after changing 1% of the
 * documents in place, for a mutable and a plain json() column (median of 7).
 *
 * ```sh
 * npx tsx bench/json-tracking.ts
 * JSON_ROWS=50000 npx tsx bench/json-tracking.ts
 * ```
 */
import { createEngine } from '../src/engine/index.js'
import { MetaData, Model, json, serial, sessionmaker, table } from '../src/session/index.js'
import { isMain } from './support/main.js'
import { median } from './support/stats.js'
import { formatNumber } from './support/table.js'

const ROWS = Number(process.env.JSON_ROWS ?? 10_000)
type Doc = { tags: string[]; n: number; nested: { a: number; b: string } }
const tracked = table('bench_json_tracked', { id: serial().primaryKey(), doc: json<Doc>({ mutable: true }) })
const plain = table('bench_json_plain', { id: serial().primaryKey(), doc: json<Doc>() })
class Tracked extends Model(tracked) {}
class Plain extends Model(plain) {}
const metadata = new MetaData(tracked, plain)

export async function jsonTrackingBench(): Promise<void> {
  const engine = createEngine<unknown>('sqlite://')
  try {
    await metadata.createAll(engine)
    const docs = Array.from({ length: ROWS }, (_, i) => ({ doc: JSON.stringify({ tags: ['a', 'b', 'c'], n: i, nested: { a: i, b: 'text' } }) }))
    await engine.insertMany('bench_json_tracked', docs)
    await engine.insertMany('bench_json_plain', docs)
    const Session = sessionmaker({ bind: engine })
    const results: string[] = []
    for (const [name, model] of [['json({ mutable: true })', Tracked], ['json()', Plain]] as const) {
      const loadTimes: number[] = []
      const idle: number[] = []
      const changed: number[] = []
      for (let run = 0; run < 7; run++) {
        const s = Session()
        let t = performance.now()
        const objs = (await s.query(model)) as { doc: Doc }[]
        loadTimes.push(performance.now() - t)
        t = performance.now()
        await s.flush()
        idle.push(performance.now() - t)
        for (let i = 0; i < objs.length; i += 100) objs[i].doc.n++
        t = performance.now()
        await s.flush()
        changed.push(performance.now() - t)
        await s.rollback()
        await s.close()
      }
      results.push(
        `${name.padEnd(24)} load ${median(loadTimes).toFixed(1)} ms, flush with nothing changed ${median(idle).toFixed(2)} ms, after 1% changed in place ${median(changed).toFixed(2)} ms`,
      )
    }
    console.log(`${formatNumber(ROWS)} loaded objects with a JSON document, sqlite://, median of 7:`)
    for (const line of results) console.log(line)
    await metadata.dropAll(engine)
  } finally {
    await engine.dispose()
  }
}

if (isMain(import.meta.url)) await jsonTrackingBench()
