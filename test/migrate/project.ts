/** Temporary projects for the migration suites: a folder whose `node_modules/athanor` is this repository's source. */
import { createEngine } from '../../src/engine/index.js'
import type { Engine } from '../../src/engine/types.js'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { PGLITE_START } from '../support/slow-setup.js'

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

export interface TempProject {
  readonly dir: string
  readonly migrations: string
  remove(): void
}

export function tempProject(name: string): TempProject {
  const dir = mkdtempSync(path.join(os.tmpdir(), `athanor-${name}-`))
  mkdirSync(path.join(dir, 'node_modules'))
  symlinkSync(path.join(REPO, 'test/support/athanor-package'), path.join(dir, 'node_modules/athanor'), 'dir')
  symlinkSync(path.join(REPO, 'node_modules/kysely'), path.join(dir, 'node_modules/kysely'), 'dir')
  return { dir, migrations: path.join(dir, 'migrations'), remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** An engine for one of the four targets, patient enough for PGlite's start on a busy machine. */
export function migrateEngine<DB = unknown>(url: string): Engine<DB> {
  return createEngine<DB>(url, { poolSize: 3, ...PGLITE_START })
}
