/** A rich MetaData for the migration suites: every column kind, composite and self-referencing keys, indexes, uniques, defaults. */
import {
  MetaData,
  bigint,
  bigserial,
  boolean,
  integer,
  json,
  numeric,
  real,
  serial,
  table,
  text,
  timestamp,
  uuid,
  varchar,
} from '../../src/session/index.js'

export function richTables(prefix: string) {
  const category = table(`${prefix}_category`, {
    id: serial().primaryKey(),
    parentId: integer().nullable().references(`${prefix}_category.id`, { onDelete: 'set null' }),
    name: varchar(100).unique(),
  })
  const author = table(`${prefix}_author`, {
    id: bigserial().primaryKey(),
    email: varchar(200).unique(),
    name: text(),
    score: real().serverDefault('0'),
    active: boolean().serverDefault('true'),
    createdAt: timestamp().defaultNow(),
    bio: text().nullable(),
  })
  const book = table(
    `${prefix}_book`,
    {
      id: uuid().primaryKey(),
      authorId: bigint().references(() => author.c.id, { onDelete: 'cascade' }).index(),
      categoryId: integer().nullable().references(() => category.c.id),
      title: varchar(200).serverDefault("'untitled'"),
      price: numeric(10, 2).serverDefault('0'),
      meta: json().nullable(),
      pages: integer().serverDefault('1'),
    },
    { unique: [['authorId', 'title']], indexes: [['categoryId', 'pages']] },
  )
  const bookTag = table(`${prefix}_book_tag`, {
    bookId: uuid().primaryKey().references(() => book.c.id, { onDelete: 'cascade', onUpdate: 'cascade' }),
    tag: varchar(50).primaryKey(),
  })
  return { category, author, book, bookTag, metadata: new MetaData(category, author, book, bookTag) }
}
