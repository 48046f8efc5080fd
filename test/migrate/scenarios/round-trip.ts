import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Engine } from '../../../src/engine/types.js'
import type { MigrationDatabase } from '../../../src/migrate/migration.js'
import { generateModels } from '../../../src/migrate/codegen.js'
import { diff } from '../../../src/migrate/diff.js'
import { reflect } from '../../../src/migrate/reflect.js'
import { MigrationRunner } from '../../../src/migrate/runner.js'
import type { MetaData } from '../../../src/session/index.js'
import type { Target } from '../../session/helpers.js'
import { richTables } from '../fixtures.js'
import { tempProject, type TempProject } from '../project.js'

const PREFIX = 'mrt'
const VERSION = `${PREFIX}_version`
const ours = (name: string) => name.startsWith(`${PREFIX}_`) && name !== VERSION

/** Registers the scenario on one target; the engine is shared by the scenarios of that target. */
export function roundTripScenario(target: Target, getEngine: () => Engine<MigrationDatabase>): void {
  describe(`migration round trip`, () => {
    let engine: Engine<MigrationDatabase>
    let project: TempProject
    const { metadata } = richTables(PREFIX)

    beforeAll(async () => {
      engine = getEngine()
      project = tempProject(`rt-${target.name}`)
      await metadata.dropAll(engine)
      await engine.begin(async (c) => {
        await c.db.schema.dropTable(VERSION).ifExists().execute()
      })
    }, 120_000)
    afterAll(async () => {
      await metadata.dropAll(engine)
      project.remove()
    }, 120_000)

    it('autogenerates, upgrades to a schema that diffs empty, and downgrades to nothing', async () => {
      const runner = new MigrationRunner({ engine, migrations: project.migrations, metadata, versionTable: VERSION, include: ours })
      const rev = await runner.revision({ message: 'initial schema', autogenerate: true })
      expect(rev.operations.map((op) => op.kind)).toEqual(['createTable', 'createTable', 'createTable', 'createTable'])
      const text = readFileSync(rev.file, 'utf8')
      expect(text).toContain(`export const revision = '${rev.revision}'`)
      expect(text).toContain('export const parent: string | null = null')

      expect(await runner.upgrade()).toEqual([rev.revision])
      expect(await runner.current()).toEqual({ revision: rev.revision, state: 'applied' })
      const reflected = await reflect(engine, { only: ours })
      expect(reflected.tables.map((t) => t.name).sort()).toEqual(metadata.tables.map((t) => t.name).sort())
      expect(reflected.warnings).toEqual([])
      expect(diff(metadata, reflected)).toEqual([])
      expect((await runner.check()).operations).toEqual([])

      // codegen: the generated table definitions describe the same database.
      const file = path.join(project.dir, 'models.ts')
      writeFileSync(file, generateModels(reflected))
      const models = (await import(pathToFileURL(file).href)) as { metadata: MetaData; [name: string]: unknown }
      expect(models.metadata.tables.map((t) => t.name).sort()).toEqual(metadata.tables.map((t) => t.name).sort())
      expect(diff(models.metadata, reflected)).toEqual([])
      expect(typeof models.MrtBookTag).toBe('function')

      // A second autogenerate finds nothing to do.
      const again = await new MigrationRunner({ engine, migrations: project.migrations, metadata, versionTable: VERSION, include: ours }).revision({
        message: 'nothing',
        autogenerate: true,
      })
      expect(again.operations).toEqual([])

      const back = new MigrationRunner({ engine, migrations: project.migrations, metadata, versionTable: VERSION, include: ours })
      await back.upgrade()
      expect(await back.downgrade('base')).toEqual([again.revision, rev.revision])
      expect(await back.current()).toEqual({ revision: null, state: 'applied' })
      expect((await reflect(engine, { only: ours })).tables).toEqual([])
    }, 120_000)
  })
}
