import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Engine } from '../../../src/engine/types.js'
import type { MigrationDatabase } from '../../../src/migrate/migration.js'
import { diff } from '../../../src/migrate/diff.js'
import { reflect } from '../../../src/migrate/reflect.js'
import { MigrationRunner } from '../../../src/migrate/runner.js'
import { MetaData, integer, serial, table, text, varchar } from '../../../src/session/index.js'
import type { Target } from '../../session/helpers.js'
import { tempProject, type TempProject } from '../project.js'

const PREFIX = 'mcs'
const VERSION = `${PREFIX}_version`
const ours = (name: string) => name.startsWith(`${PREFIX}_`) && name !== VERSION

function v1() {
  const parent = table(`${PREFIX}_parent`, { id: serial().primaryKey(), code: varchar(20) })
  const child = table(`${PREFIX}_child`, {
    id: serial().primaryKey(),
    parentId: integer().references(() => parent.c.id),
    label: varchar(30).index(),
    note: text().nullable(),
    rank: integer().serverDefault('0'),
  })
  return new MetaData(parent, child)
}

/** A unique added, a foreign key's action changed, an index swapped, nullability both ways, a default changed. */
function v2() {
  const parent = table(`${PREFIX}_parent`, { id: serial().primaryKey(), code: varchar(20).unique() })
  const child = table(
    `${PREFIX}_child`,
    {
      id: serial().primaryKey(),
      parentId: integer().nullable().references(() => parent.c.id, { onDelete: 'cascade' }),
      label: varchar(30),
      note: text(),
      rank: integer().serverDefault('5'),
    },
    { indexes: [['rank', 'label']] },
  )
  return new MetaData(parent, child)
}

const describeOp = (op: ReturnType<typeof diff>[number]) =>
  op.kind === 'alterColumn' ? `alterColumn:${op.to.name}:${op.changes.join('+')}` : op.kind

/** Registers the scenario on one target; the engine is shared by the scenarios of that target. */
export function constraintsScenario(target: Target, getEngine: () => Engine<MigrationDatabase>): void {
  describe(`constraint and column changes`, () => {
    let engine: Engine<MigrationDatabase>
    let project: TempProject
    const runner = (metadata: MetaData) => new MigrationRunner({ engine, migrations: project.migrations, metadata, versionTable: VERSION, include: ours })

    beforeAll(async () => {
      engine = getEngine()
      project = tempProject(`cs-${target.name}`)
      await v1().dropAll(engine)
      await engine.begin((c) => c.db.schema.dropTable(VERSION).ifExists().execute())
    }, 120_000)
    afterAll(async () => {
      await v1().dropAll(engine)
      project.remove()
    })

    it('detects and applies them, and reverts them, with the rows in place', async () => {
      await runner(v1()).revision({ message: 'v1', autogenerate: true })
      await runner(v1()).upgrade()
      await engine.db.insertInto(`${PREFIX}_parent`).values([{ code: 'p1' }, { code: 'p2' }]).execute()
      const [p1] = await engine.db.selectFrom(`${PREFIX}_parent`).select('id').orderBy('id').execute()
      await engine.db.insertInto(`${PREFIX}_child`).values([{ parentId: p1.id, label: 'a', note: 'n' }]).execute()

      const rev = await runner(v2()).revision({ message: 'v2', autogenerate: true })
      expect(rev.operations.map(describeOp).sort()).toEqual(
        [
          'addForeignKey',
          'addUnique',
          'alterColumn:note:nullable',
          'alterColumn:parentId:nullable',
          'alterColumn:rank:serverDefault',
          'createIndex',
          'dropForeignKey',
          'dropIndex',
        ].sort(),
      )
      await runner(v2()).upgrade()
      expect(diff(v2(), await reflect(engine, { only: ours }))).toEqual([])
      expect(await engine.db.selectFrom(`${PREFIX}_child`).select(['label', 'note', 'rank']).execute()).toEqual([{ label: 'a', note: 'n', rank: 0 }])
      await engine.db.insertInto(`${PREFIX}_child`).values({ parentId: null, label: 'b', note: 'm' }).execute()
      expect((await engine.db.selectFrom(`${PREFIX}_child`).select('rank').where('label', '=', 'b').executeTakeFirst())?.rank).toBe(5)
      // The foreign key now cascades.
      await engine.db.deleteFrom(`${PREFIX}_parent`).where('id', '=', p1.id).execute()
      expect(await engine.db.selectFrom(`${PREFIX}_child`).select('label').execute()).toEqual([{ label: 'b' }])
      await engine.db.deleteFrom(`${PREFIX}_child`).execute()

      await runner(v2()).downgrade('-1')
      expect(diff(v1(), await reflect(engine, { only: ours }))).toEqual([])
      expect(await engine.db.selectFrom(`${PREFIX}_parent`).select('code').execute()).toEqual([{ code: 'p2' }])
    })
  })
}
