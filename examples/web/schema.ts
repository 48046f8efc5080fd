/** The web example's tables and mapped classes (a prefix keeps test runs apart). */
import { MetaData, Model, integer, manyToOne, oneToMany, relate, serial, table, timestamp, varchar } from '../../src/session/index.js'

export function schema(prefix = 'web') {
  const author = table(`${prefix}_author`, {
    id: serial().primaryKey(),
    name: varchar(100).unique(),
    createdAt: timestamp().defaultNow(),
  })
  const book = table(`${prefix}_book`, {
    id: serial().primaryKey(),
    authorId: integer().references(() => author.c.id, { onDelete: 'cascade' }),
    title: varchar(200),
  })
  class Author extends Model(author) {
    declare books: Book[]
  }
  class Book extends Model(book) {
    declare author: Author | null
  }
  relate(Author, { books: oneToMany(() => Book, { backPopulates: 'author' }) })
  relate(Book, { author: manyToOne(() => Author, { backPopulates: 'books' }) })
  return { metadata: new MetaData(author, book), Author, Book }
}
