/**
 * Issue 8, "dotted names": a table in a schema is declared with
 * `table(name, columns, { schema })`, keyed `'schema.table'` in DatabaseOf as
 * Kysely expects, and quoted as schema + table in every statement athanor
 * writes (DDL, indexes, foreign keys, the flush, get, insertMany). A dot in a
 * bare name is refused when declared.
 */
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { parseUrl } from '../../src/engine/url.js'
import type { Engine } from '../../src/engine/types.js'
import {
  type DatabaseOf,
  MappingError,
  MetaData,
  Model,
  integer,
  manyToOne,
  oneToMany,
  relate,
  serial,
  sessionmaker,
  table,
  text,
} from '../../src/session/index.js'
import { MYSQL_URL } from '../support/servers.js'
import { SLOW_HOOK, SLOW_START, StatementLog, TARGETS, engineFor } from './helpers.js'

/** The schema each dialect's test uses: SQLite's main database, a PostgreSQL schema, MySQL's current database. */
function schemaFor(target: string): string {
  if (target === 'sqlite') return 'main'
  if (target === 'mysql') return parseUrl(MYSQL_URL).database ?? 'test'
  return 'athanor_schema_test'
}

function model<S extends string>(schema: S) {
  const shelf = table('shelf', { id: serial().primaryKey(), label: text() }, { schema })
  const item = table(
    'shelf_item',
    { id: serial().primaryKey(), shelfId: integer().references(() => shelf.c.id, { onDelete: 'cascade' }).index(), body: text() },
    { schema },
  )
  class Shelf extends Model(shelf) {
    declare items: Item[]
  }
  class Item extends Model(item) {
    declare shelf: Shelf | null
  }
  relate(Shelf, { items: oneToMany(() => Item, { backPopulates: 'shelf' }) })
  relate(Item, { shelf: manyToOne(() => Shelf, { backPopulates: 'items' }) })
  return { shelf, item, Shelf, Item, metadata: new MetaData(shelf, item) }
}

describe('declaring a table in a schema', () => {
  it("keys it 'schema.table' in DatabaseOf, as Kysely reads a dotted name", () => {
    const { shelf, metadata } = model('app')
    expect(shelf.name).toBe('app.shelf')
    expect(shelf.tableName).toBe('shelf')
    expect(shelf.schema).toBe('app')
    expect(shelf.c.id).toEqual({ table: 'app.shelf', column: 'id' })
    type DB = DatabaseOf<typeof metadata>
    expectTypeOf<keyof DB>().toEqualTypeOf<'app.shelf' | 'app.shelf_item'>()
  })

  it('refuses a dot in a bare table name, saying to use { schema }', () => {
    expect(() => table('main.note', { id: serial().primaryKey() })).toThrow(MappingError)
    expect(() => table('main.note', { id: serial().primaryKey() })).toThrow(/cannot contain "\."; .*table\('note', columns, \{ schema: 'main' \}\)/)
    expect(() => table('note', { id: serial().primaryKey() }, { schema: 'a.b' })).toThrow(/schema name "a.b" cannot contain/)
    expect(() => table('note', { 'a.b': serial().primaryKey() })).toThrow(/column name "a.b" cannot contain/)
  })
})

for (const target of TARGETS) {
  describe.skipIf(!target.run)(`a table in a schema on ${target.name}`, () => {
    const schema = schemaFor(target.name)
    const { Shelf, Item, shelf, item, metadata } = model(schema)
    type DB = DatabaseOf<typeof metadata>
    const log = new StatementLog()
    let engine: Engine<DB>

    beforeAll(async () => {
      engine = engineFor<DB>(target, log, SLOW_START)
      if (target.name === 'postgresql' || target.name === 'pglite') await sql.raw(`CREATE SCHEMA IF NOT EXISTS ${schema}`).execute(engine.db)
      await metadata.dropAll(engine)
      await metadata.createAll(engine)
    }, SLOW_HOOK)
    afterAll(async () => {
      await metadata.dropAll(engine)
      await engine.dispose()
    })

    it('createAll puts the tables (and the index) in the schema', async () => {
      if (target.name === 'sqlite') {
        const { rows } = await sql<{ name: string }>`SELECT name FROM main.sqlite_master WHERE name LIKE 'shelf%' ORDER BY name`.execute(engine.db)
        expect(rows.map((r) => r.name)).toEqual(['shelf', 'shelf_item', 'shelf_item_shelfId_idx'])
      } else {
        const { rows } = await sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = ${schema} AND table_name IN ('shelf', 'shelf_item')`.execute(engine.db)
        expect(Number(rows[0].n)).toBe(2)
      }
    })

    it('the session inserts, gets, loads, updates and deletes through the schema', async () => {
      const Session = sessionmaker({ bind: engine })
      const id = await Session.begin(async (s) => {
        const sh = new Shelf({ label: 'top' })
        sh.items.push(new Item({ body: 'a' }), new Item({ body: 'b' }))
        s.add(sh)
        await s.flush()
        return sh.id
      })
      const s = Session()
      try {
        const sh = (await s.get(Shelf, id, { load: ['items'] }))!
        expect(sh.label).toBe('top')
        expect(sh.items.map((i) => i.body).sort()).toEqual(['a', 'b'])
        sh.label = 'renamed'
        s.delete(sh.items[0])
        await s.commit()
        const again = await s.query(Shelf, (q) => q.where('id', '=', id))
        expect(again[0].label).toBe('renamed')
      } finally {
        await s.close()
      }
      const rows = await engine.db.selectFrom(item.name).select('body').execute()
      expect(rows).toHaveLength(1)
    })

    it("engine.insertMany('schema.table') quotes the two parts", async () => {
      const before = Number((await engine.db.selectFrom(shelf.name).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
      const ids = await engine.insertMany<{ id: number }>(shelf.name, [{ label: 'x' }, { label: 'y' }], { returning: ['id'] })
      expect(ids).toHaveLength(2)
      const after = Number((await engine.db.selectFrom(shelf.name).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
      expect(after).toBe(before + 2)
      expect(log.take().some((s) => s.includes(target.name === 'mysql' ? `\`${schema}\`.\`shelf\`` : `"${schema}"."shelf"`))).toBe(true)
    })
  })
}
