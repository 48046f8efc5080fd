/**
 * After `engine.dispose()`, every use of the engine, of a Connection held
 * across it, or of a Session opened before it is a PoolDisposedError, never
 * "the connection to the database was lost".
 */
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { PoolDisposedError } from '../../src/pool/index.js'
import { sessionmaker } from '../../src/session/index.js'
import { library } from '../session/fixtures.js'
import { createEngine } from '../../src/engine/index.js'
import { TARGETS } from '../session/helpers.js'
import { PGLITE_START } from '../support/slow-setup.js'

const L = library('dispose_probe')

describe.each(TARGETS)('after engine.dispose() on $name', (target) => {
  it.skipIf(!target.run)('the engine, a held Connection and Sessions opened before all say PoolDisposedError', { timeout: 120_000 }, async () => {
    // PGlite takes seconds to start on a busy machine: generous limits for the opening.
    const engine = createEngine<unknown>(target.url, { poolSize: 3, ...PGLITE_START })
    await L.metadata.dropAll(engine)
    await L.metadata.createAll(engine)
    const multi = target.name === 'postgresql' || target.name === 'mysql'
    const Session = sessionmaker({ bind: engine })
    // A session that holds a connection in its transaction (engines with more than one connection).
    const busy = multi ? Session() : undefined
    if (busy !== undefined) await sql`SELECT 1`.execute(busy.db)
    const held = await engine.connect()
    await held.begin()
    const idle = Session()
    // The held connections are closed when dispose's timeout runs out.
    await engine.dispose({ timeout: 50 })

    const uses: [string, () => Promise<unknown>][] = [
      ['engine.db', () => sql`SELECT 1`.execute(engine.db)],
      ['engine.connect', () => engine.connect()],
      ['engine.begin', () => engine.begin(async () => 1)],
      ['held.db', () => sql`SELECT 1`.execute(held.db)],
      ['held.commit', () => held.commit()],
      ['idle session.db', () => sql`SELECT 1`.execute(idle.db)],
      ['idle session.commit', async () => {
        idle.add(new L.Author({ name: 'late' }))
        await idle.commit()
      }],
    ]
    if (busy !== undefined) {
      uses.push(
        ['busy session.db', () => sql`SELECT 1`.execute(busy.db)],
        ['busy session.flush', async () => {
          busy.add(new L.Author({ name: 'later' }))
          await busy.flush()
        }],
        ['busy session.commit', () => busy.commit()],
      )
    }
    const outcomes: string[] = []
    for (const [what, use] of uses) {
      const e = await use().then(() => undefined, (x: unknown) => x)
      outcomes.push(`${what}: ${e instanceof PoolDisposedError ? 'PoolDisposedError' : e === undefined ? 'succeeded' : `${(e as Error).name}: ${(e as Error).message}`}`)
    }
    expect(outcomes).toEqual(uses.map(([what]) => `${what}: PoolDisposedError`))
    // Closing what was held still works quietly.
    await held.close()
    await idle.close()
    await busy?.close()
  })
})
