/**
 * A small library schema (author, book, tag) with its mapped classes, built
 * per test file with a table-name prefix so files never collide on a server.
 */
import {
  MetaData,
  Model,
  boolean,
  integer,
  json,
  manyToOne,
  oneToMany,
  relate,
  serial,
  table,
  text,
  timestamp,
  uuid,
  varchar,
} from '../../src/session/index.js'

export function library<P extends string>(prefix: P) {
  const author = table(`${prefix}_author`, {
    id: serial().primaryKey(),
    name: varchar(100),
    email: varchar(200).unique().nullable(),
    active: boolean().default(true),
    createdAt: timestamp().defaultNow(),
  })
  const book = table(`${prefix}_book`, {
    id: serial().primaryKey(),
    authorId: integer().references(() => author.c.id).index(),
    title: varchar(200),
    meta: json<{ pages?: number }>().nullable(),
    version: integer().version(),
  })
  const note = table(`${prefix}_note`, {
    id: uuid().primaryKey(),
    bookId: integer().references(() => book.c.id).nullable(),
    body: text(),
  })
  const tag = table(`${prefix}_tag`, {
    bookId: integer().primaryKey().references(() => book.c.id),
    label: varchar(50).primaryKey(),
  })
  const metadata = new MetaData(author, book, note, tag)

  class Author extends Model(author) {
    declare books: Book[]
  }
  class Book extends Model(book) {
    declare author: Author | null
    declare notes: Note[]
  }
  class Note extends Model(note) {
    declare book: Book | null
  }
  class Tag extends Model(tag) {}
  relate(Author, { books: oneToMany(() => Book, { backPopulates: 'author' }) })
  relate(Book, {
    author: manyToOne(() => Author, { backPopulates: 'books' }),
    notes: oneToMany(() => Note, { backPopulates: 'book', cascadeDelete: true }),
  })
  relate(Note, { book: manyToOne(() => Book, { backPopulates: 'notes' }) })
  return { author, book, note, tag, metadata, Author, Book, Note, Tag }
}
