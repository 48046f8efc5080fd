// The TypeScript consumer, compiled as CommonJS (.cts) and as ESM (.mts) under
// moduleResolution node16 and nodenext, and as .ts under bundler. It must
// type-check against the package's own declarations (skipLibCheck off) and run.
import { InsertResult } from 'kysely'
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
  type Engine,
} from 'athanor'

const author = table('author', { id: serial().primaryKey(), name: varchar(100) })
const book = table('book', {
  id: serial().primaryKey(),
  authorId: integer().references(() => author.c.id),
  title: varchar(200),
})
const metadata = new MetaData(author, book)
type DB = DatabaseOf<typeof metadata>

class Author extends Model(author) {
  declare books: Book[]
}
class Book extends Model(book) {
  declare author: Author | null
}
relate(Author, { books: oneToMany(() => Book, { backPopulates: 'author' }) })
relate(Book, { author: manyToOne(() => Author, { backPopulates: 'books' }) })

async function titlesByAuthor(engine: Engine<DB>): Promise<Array<{ title: string; name: string }>> {
  // A typed query: the row type is inferred from the table declarations.
  const rows = await engine.db
    .selectFrom('book')
    .innerJoin('author', 'author.id', 'book.authorId')
    .select(['book.title', 'author.name'])
    .orderBy('book.id')
    .execute()
  // @ts-expect-error: book has no column "pages" (proves the types are real, not any)
  engine.db.selectFrom('book').select('pages')
  return rows
}

async function main(label: string): Promise<void> {
  const engine = createEngine<DB>('sqlite://')
  await metadata.createAll(engine)
  const Session = sessionmaker({ bind: engine })
  await Session.begin(async (session) => {
    const a = new Author({ name: 'Ursula' })
    for (const title of ['The Dispossessed', 'The Lathe of Heaven']) {
      const b = new Book({ title })
      b.author = a
      session.add(b)
    }
  })
  const rows = await titlesByAuthor(engine)
  const first: string = rows[0].name
  if (rows.length !== 2 || first !== 'Ursula') throw new Error(`${label}: unexpected rows ${JSON.stringify(rows)}`)
  const inserted = await engine.db.insertInto('author').values({ name: 'Octavia' }).executeTakeFirstOrThrow()
  if (!(inserted instanceof InsertResult)) throw new Error(`${label}: two copies of kysely`)
  if (engine.pool.checkedOut() !== 0) throw new Error(`${label}: a connection is still checked out`)
  await engine.dispose()
  console.log(`${label}: ok (typed query compiled, unit of work committed, one kysely)`)
}

main(process.argv[2] ?? 'typescript').catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
