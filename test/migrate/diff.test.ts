import { describe, expect, it } from 'vitest'
import { TableRebuildError, rebuildTable } from '../../src/engine/dialects/sqlite/rebuild.js'
import { diff } from '../../src/migrate/diff.js'
import { generateMigration } from '../../src/migrate/generate.js'
import { describeOperation, invertOperation } from '../../src/migrate/operations.js'
import type { MigrationDatabase } from '../../src/migrate/migration.js'
import { MetaData, integer, serial, table, text, varchar } from '../../src/session/index.js'
import { migrateEngine } from './project.js'

const author = table('author', { id: serial().primaryKey(), name: text(), nick: varchar(20) })
const book = table('book', { id: serial().primaryKey(), authorId: integer().references(() => author.c.id), title: text() })

describe('diff without a database', () => {
  it('creates parents before children and drops children before parents, whatever the declaration order', () => {
    const ops = diff(new MetaData(book, author), new MetaData(), { dialect: 'postgresql' })
    expect(ops.map(describeOperation)).toEqual(['create table author', 'create table book'])
    const down = ops.map(invertOperation).reverse()
    expect(down.map(describeOperation)).toEqual(['drop table book', 'drop table author'])
    expect(diff(new MetaData(), new MetaData(book, author), { dialect: 'postgresql' }).map(describeOperation)).toEqual([
      'drop table book',
      'drop table author',
    ])
  })

  it('never guesses a rename: a drop and an add, the add flagged in the generated file', () => {
    const renamed = table('author', { id: serial().primaryKey(), fullName: text(), nick: varchar(20) })
    const ops = diff(new MetaData(renamed), new MetaData(author), { dialect: 'postgresql' })
    expect(ops.map(describeOperation)).toEqual(['add column author.fullName (possibly a rename of name)', 'drop column author.name'])
    const file = generateMigration({
      revision: 'r2',
      parent: 'r1',
      message: 'rename?',
      dialect: 'postgresql',
      operations: ops,
      target: new MetaData(renamed),
      current: new MetaData(author),
    })
    expect(file).toContain(`// "name" is dropped from "author" with the same type: if this is a rename, replace`)
    expect(file).toContain(`.renameColumn('name', 'fullName')`)
    // A column of another type is no candidate.
    const retyped = table('author', { id: serial().primaryKey(), age: integer(), nick: varchar(20) })
    expect(diff(new MetaData(retyped), new MetaData(author), { dialect: 'postgresql' }).map(describeOperation)).toEqual([
      'add column author.age',
      'drop column author.name',
    ])
  })

  it('compares types as the dialect stores them: varchar and text are one type on SQLite, two on PostgreSQL', () => {
    const wider = table('author', { id: serial().primaryKey(), name: varchar(50), nick: varchar(20) })
    expect(diff(new MetaData(wider), new MetaData(author), { dialect: 'sqlite' })).toEqual([])
    expect(diff(new MetaData(wider), new MetaData(author), { dialect: 'postgresql' }).map(describeOperation)).toEqual([
      'alter column author.name (type)',
    ])
  })

  it('writes a SQLite rebuild for what ALTER TABLE cannot do, and an in-place ADD COLUMN for what it can', () => {
    const v2 = table('author', { id: serial().primaryKey(), name: text(), nick: varchar(20).nullable(), bio: text().nullable() })
    const ops = diff(new MetaData(v2), new MetaData(author), { dialect: 'sqlite' })
    expect(ops.map(describeOperation)).toEqual(['add column author.bio', 'alter column author.nick (nullable)'])
    const file = generateMigration({ revision: 'r2', parent: 'r1', message: 'm', dialect: 'sqlite', operations: ops, target: new MetaData(v2), current: new MetaData(author) })
    expect(file).toContain(`import { rebuildTable } from 'athanor'`)
    expect(file).toContain(`copy: ['id', 'name', 'nick'],`)
    const nullableOnly = diff(new MetaData(table('author', { ...author.columns, bio: text().nullable() })), new MetaData(author), { dialect: 'sqlite' })
    const inPlace = generateMigration({ revision: 'r3', parent: 'r2', message: 'm', dialect: 'sqlite', operations: nullableOnly, target: new MetaData(), current: new MetaData() })
    expect(inPlace).toContain(`await db.schema.alterTable('author').addColumn('bio', sql\`TEXT\`).execute()`)
    expect(inPlace).not.toContain('rebuildTable')
  })
})

describe('rebuildTable outside the runner', () => {
  it('refuses while foreign keys are on: dropping the old table would run its ON DELETE actions', async () => {
    const engine = migrateEngine<MigrationDatabase>('sqlite://')
    try {
      await engine.db.schema.createTable('rb').addColumn('id', 'integer', (c) => c.primaryKey()).execute()
      const error = await rebuildTable(engine.db, {
        table: 'rb',
        create: (name) => engine.db.schema.createTable(name).addColumn('id', 'integer', (c) => c.primaryKey()),
        copy: ['id'],
      }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(TableRebuildError)
      expect(error).toMatchObject({ code: 'MIGRATE_TABLE_REBUILD', table: 'rb' })
      expect((await engine.db.introspection.getTables()).map((t) => t.name)).toEqual(['rb'])
    } finally {
      await engine.dispose()
    }
  })
})
