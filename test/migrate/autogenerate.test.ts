/**
 * Autogenerate end to end on the four dialects: the rich round trip (with codegen),
 * evolution of tables holding rows, and constraint and column changes. One engine per
 * target for the three scenarios (PGlite takes seconds to start on a busy machine).
 */
import { afterAll, beforeAll, describe } from 'vitest'
import type { Engine } from '../../src/engine/types.js'
import type { MigrationDatabase } from '../../src/migrate/migration.js'
import { TARGETS } from '../session/helpers.js'
import { migrateEngine } from './project.js'
import { constraintsScenario } from './scenarios/constraints.js'
import { evolutionScenario } from './scenarios/evolution.js'
import { roundTripScenario } from './scenarios/round-trip.js'

for (const target of TARGETS) {
  describe.skipIf(!target.run)(`autogenerate on ${target.name}`, () => {
    let engine: Engine<MigrationDatabase>
    beforeAll(() => {
      engine = migrateEngine(target.url)
    })
    afterAll(() => engine.dispose())
    roundTripScenario(target, () => engine)
    evolutionScenario(target, () => engine)
    constraintsScenario(target, () => engine)
  })
}
