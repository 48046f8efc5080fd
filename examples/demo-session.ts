/**
 * The demo's third part: tables declared in TypeScript, a graph of new
 * objects flushed in dependency order in a few statements, the identity map,
 * and the connection going back to the pool when the unit of work ends.
 */
import {
  createEngine,
  integer,
  manyToOne,
  MetaData,
  Model,
  oneToMany,
  relate,
  serial,
  sessionmaker,
  table,
  varchar,
  type DatabaseOf,
} from '../src/index.js'

const author = table('author', {
  id: serial().primaryKey(),
  name: varchar(100),
})
const book = table('book', {
  id: serial().primaryKey(),
  authorId: integer().references(() => author.c.id),
  title: varchar(200),
})
const metadata = new MetaData(author, book)
/** The Kysely schema, inferred from the declarations above: no codegen. */
type DB = DatabaseOf<typeof metadata>

class Author extends Model(author) {
  declare books: Book[]
}
class Book extends Model(book) {
  declare author: Author | null
}
relate(Author, { books: oneToMany(() => Book, { backPopulates: 'author' }) })
relate(Book, { author: manyToOne(() => Author, { backPopulates: 'books' }) })

export async function runSessionDemo(): Promise<void> {
  const statements: string[] = []
  const engine = createEngine<DB>('sqlite://', {
    echo: true,
    logger: { info: (...a: unknown[]) => statements.push(a.map(String).join(' ')), warn: console.warn, error: console.error },
  })
  await metadata.createAll(engine)
  statements.length = 0
  const Session = sessionmaker({ bind: engine })

  const started = performance.now()
  await Session.begin(async (session) => {
    for (const name of ['Ursula', 'Octavia', 'Iain']) {
      const a = new Author({ name })
      for (let i = 1; i <= 3; i++) {
        const b = new Book({ title: `${name}'s book ${i}` })
        b.author = a // enough: the flush fills book.authorId from the author's generated key
        session.add(b)
      }
    }
    console.log(`  pending before the flush: ${session.new.length} new objects; checked out: ${engine.pool.checkedOut()}`)
  })
  console.log(`  9 books and 3 authors committed in ${(performance.now() - started).toFixed(1)} ms, in these statements:`)
  for (const s of statements) console.log(`    ${s.length > 150 ? `${s.slice(0, 147)}...` : s}`)
  console.log(`  after commit the connection is back: checked out ${engine.pool.checkedOut()}`)

  const session = Session()
  const books = await session.query(Book, (q) => q.orderBy('id'), { load: ['author'] })
  const same = await session.get(Author, books[0].authorId)
  console.log(`  loaded ${books.length} books with their authors (one extra query for all of them)`)
  console.log(`  identity map: session.get(Author, ${books[0].authorId}) is books[0].author -> ${same === books[0].author}`)
  books[0].title = 'A renamed book' // assigning is enough to make it dirty
  console.log(`  dirty after one assignment: ${session.dirty.length} object(s)`)
  await session.commit()
  await session.close()
  const [row] = await engine.db.selectFrom('book').select('title').where('id', '=', books[0].id).execute()
  console.log(`  in the database now: "${row.title}"; checked out: ${engine.pool.checkedOut()}`)
  await engine.dispose()
}
