import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Engine } from '../../../src/engine/types.js'
import type { MigrationDatabase } from '../../../src/migrate/migration.js'
import { diff } from '../../../src/migrate/diff.js'
import { reflect } from '../../../src/migrate/reflect.js'
import { MigrationRunner } from '../../../src/migrate/runner.js'
import { MetaData, integer, serial, table, text, timestamp, varchar } from '../../../src/session/index.js'
import type { Target } from '../../session/helpers.js'
import { tempProject, type TempProject } from '../project.js'

const PREFIX = 'mev'
const VERSION = `${PREFIX}_version`
const ours = (name: string) => name.startsWith(`${PREFIX}_`) && name !== VERSION

function v1() {
  const owner = table(`${PREFIX}_owner`, { id: serial().primaryKey(), name: varchar(50) })
  const item = table(`${PREFIX}_item`, {
    id: serial().primaryKey(),
    ownerId: integer().references(() => owner.c.id, { onDelete: 'cascade' }).index(),
    name: varchar(50),
    qty: text(),
    legacy: text().nullable(),
  })
  return new MetaData(owner, item)
}

/** A NOT NULL column with a server default on tables with rows, a type change, a dropped column. */
function v2() {
  const owner = table(`${PREFIX}_owner`, { id: serial().primaryKey(), name: varchar(50), createdAt: timestamp().defaultNow() })
  const item = table(`${PREFIX}_item`, {
    id: serial().primaryKey(),
    ownerId: integer().references(() => owner.c.id, { onDelete: 'cascade' }).index(),
    name: varchar(50),
    qty: integer(),
    status: varchar(20).serverDefault("'new'"),
  })
  return new MetaData(owner, item)
}

/** Registers the scenario on one target; the engine is shared by the scenarios of that target. */
export function evolutionScenario(target: Target, getEngine: () => Engine<MigrationDatabase>): void {
  describe(`schema evolution with data`, () => {
    let engine: Engine<MigrationDatabase>
    let project: TempProject
    const runner = (metadata: MetaData) =>
      new MigrationRunner({ engine, migrations: project.migrations, metadata, versionTable: VERSION, include: ours })

    beforeAll(async () => {
      engine = getEngine()
      project = tempProject(`ev-${target.name}`)
      await v2().dropAll(engine)
      await v1().dropAll(engine)
      await engine.begin((c) => c.db.schema.dropTable(VERSION).ifExists().execute())
    }, 120_000)
    afterAll(async () => {
      await v2().dropAll(engine)
      project.remove()
    }, 120_000)

    it('adds, changes and drops columns of tables with rows, and rows survive both ways', async () => {
      await runner(v1()).revision({ message: 'v1', autogenerate: true })
      await runner(v1()).upgrade()
      await engine.db.insertInto(`${PREFIX}_owner`).values([{ name: 'ada' }, { name: 'bob' }]).execute()
      const owners = await engine.db.selectFrom(`${PREFIX}_owner`).select(['id', 'name']).orderBy('id').execute()
      await engine.db
        .insertInto(`${PREFIX}_item`)
        .values([
          { ownerId: owners[0].id, name: 'a', qty: '5', legacy: 'x' },
          { ownerId: owners[1].id, name: 'b', qty: '7', legacy: null },
        ])
        .execute()

      const rev = await runner(v2()).revision({ message: 'v2', autogenerate: true })
      const kinds = rev.operations.map((op) =>
        op.kind === 'addColumn' || op.kind === 'dropColumn' ? `${op.kind}:${op.column.name}` : op.kind === 'alterColumn' ? `${op.kind}:${op.to.name}` : op.kind,
      )
      expect(kinds.sort()).toEqual(['addColumn:createdAt', 'addColumn:status', 'alterColumn:qty', 'dropColumn:legacy'])
      const file = readFileSync(rev.file, 'utf8')
      if (target.name === 'sqlite') expect(file).toContain('await rebuildTable(db, {')
      else expect(file).not.toContain('rebuildTable')

      await runner(v2()).upgrade()
      expect(diff(v2(), await reflect(engine, { only: ours }))).toEqual([])
      const items = await engine.db.selectFrom(`${PREFIX}_item`).selectAll().orderBy('id').execute()
      expect(items.map((r) => ({ ownerId: r.ownerId, name: r.name, qty: Number(r.qty), status: r.status }))).toEqual([
        { ownerId: owners[0].id, name: 'a', qty: 5, status: 'new' },
        { ownerId: owners[1].id, name: 'b', qty: 7, status: 'new' },
      ])
      expect(typeof items[0].qty === 'number' || typeof items[0].qty === 'bigint').toBe(true)
      expect(items[0]).not.toHaveProperty('legacy')
      const after = await engine.db.selectFrom(`${PREFIX}_owner`).select(['id', 'name', 'createdAt']).orderBy('id').execute()
      expect(after.map((o) => o.name)).toEqual(['ada', 'bob'])
      expect(after.every((o) => o.createdAt !== null)).toBe(true)

      await runner(v2()).downgrade('-1')
      expect(diff(v1(), await reflect(engine, { only: ours }))).toEqual([])
      const back = await engine.db.selectFrom(`${PREFIX}_item`).selectAll().orderBy('id').execute()
      expect(back.map((r) => ({ name: r.name, qty: String(r.qty), legacy: r.legacy }))).toEqual([
        { name: 'a', qty: '5', legacy: null },
        { name: 'b', qty: '7', legacy: null },
      ])
      expect(await engine.db.selectFrom(`${PREFIX}_owner`).select('name').orderBy('id').execute()).toEqual([{ name: 'ada' }, { name: 'bob' }])
    }, 120_000)
  })
}
