import { describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/index.js'
import { sessionmaker, type DatabaseOf } from '../../src/session/index.js'
import { library } from './fixtures.js'

describe('smoke', () => {
  it('works on pglite', async () => {
    const lib = library('smoke')
    const engine = createEngine<DatabaseOf<typeof lib.metadata>>('pglite://', { echo: true })
    await lib.metadata.createAll(engine)
    const Session = sessionmaker({ bind: engine })
    const s = Session()
    const a = new lib.Author({ name: 'Ada' })
    const b = new lib.Book({ title: 'Notes' })
    b.author = a
    s.add(b)
    await s.commit()
    expect(engine.pool.checkedOut()).toBe(0)
    await s.refresh(a)
    expect(a.id).toBeTypeOf('number')
    const books = await s.query(lib.Book, (q) => q.where('authorId', '=', a.id), { load: ['author'] })
    expect(books[0].author).toBe(a)
    books[0].title = 'x'
    await s.commit()
    await s.close()
    await engine.dispose()
  })
})
