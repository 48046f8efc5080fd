import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEngine, sessionmaker } from '../../src/index.js'
import type { Engine } from '../../src/index.js'
import { library } from '../session/fixtures.js'

const lib = library('inspect')
const { Author, Book } = lib
const oneLine = { breakLength: Infinity }

describe('util.inspect / console.log of a mapped object', () => {
  let engine: Engine<unknown>
  beforeAll(async () => {
    engine = createEngine('sqlite://')
    await lib.metadata.createAll(engine)
    const Session = sessionmaker({ bind: engine })
    await Session.begin(async (session) => {
      const ada = new Author({ name: 'Ada', email: 'ada@example.org' })
      session.add(ada)
      for (const title of ['Notes', 'Sketches']) session.add(Object.assign(new Book({ title }), { author: ada }))
    })
  })
  afterAll(() => engine.dispose())

  it('shows a loaded object as its class, state and column values, on one line', async () => {
    const session = sessionmaker({ bind: engine })()
    try {
      const [ada] = await session.query(Author, (q) => q.where('name', '=', 'Ada'))
      const shown = inspect(ada, oneLine)
      expect(shown).toMatch(/^Author \(persistent\) \{ id: \d+, name: 'Ada', email: 'ada@example\.org', active: (true|1), createdAt: .+ \}$/)
      expect(shown).not.toMatch(/InstanceState|session|mapper|Symbol/)
      // console.log's default layout: one line per column, not the bookkeeping.
      expect(inspect(ada).split('\n').length).toBeLessThanOrEqual(7)
      // Loaded relationships are summarised, never expanded into their objects' state.
      await session.load([ada!], 'books')
      expect(inspect(ada, oneLine)).toBe(shown.replace(/ \}$/, ', books: [2 × Book] }'))
    } finally {
      await session.close()
    }
  })

  it('shows a pending object, and a transient one', async () => {
    const session = sessionmaker({ bind: engine })()
    try {
      const bo = new Author({ name: 'Bo' })
      expect(inspect(bo)).toBe("Author (transient) { name: 'Bo' }")
      session.add(bo)
      expect(inspect(bo)).toBe("Author (pending) { name: 'Bo' }")
    } finally {
      await session.close()
    }
  })

  it('shows an expired attribute as <expired>, without loading it', async () => {
    const Session = sessionmaker({ bind: engine })
    const session = Session()
    try {
      const [ada] = await session.query(Author, (q) => q.where('name', '=', 'Ada'))
      session.expire(ada!, ['email'])
      const shown = inspect(ada, oneLine)
      expect(shown).toMatch(/^Author \(persistent\) \{ id: \d+, name: 'Ada', email: <expired>, /)
      // Expired after commit: every column but the key.
      await session.commit()
      expect(inspect(ada, oneLine)).toMatch(/^Author \(persistent\) \{ id: \d+, name: <expired>, email: <expired>/)
    } finally {
      await session.close()
    }
  })

  it('nested in another value, respects the depth', () => {
    const bo = new Author({ name: 'Bo' })
    expect(inspect({ list: [bo] })).toBe("{ list: [ Author (transient) { name: 'Bo' } ] }")
    expect(inspect({ a: { b: { c: bo } } }, { depth: 1 })).toBe('{ a: { b: [Object] } }')
    expect(inspect({ a: { b: bo } }, { depth: 1 })).toBe('{ a: { b: [Author (transient)] } }')
  })
})
