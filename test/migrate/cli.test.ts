import { execFile } from 'node:child_process'
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../src/migrate/cli.js'
import { REPO, tempProject, type TempProject } from './project.js'

interface Result {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const BIN = path.join(REPO, 'src/migrate/bin.ts')
/** tsx's loader by absolute URL: the child runs in the temporary project, which has no tsx of its own. */
const TSX = pathToFileURL(path.join(REPO, 'node_modules/tsx/dist/loader.mjs')).href

const SCHEMA_V1 = `import { MetaData, serial, table, text } from 'athanor'
export const author = table('author', { id: serial().primaryKey(), name: text() })
export const metadata = new MetaData(author)
`
const SCHEMA_V2 = `import { MetaData, serial, table, text, varchar } from 'athanor'
export const author = table('author', { id: serial().primaryKey(), name: text(), email: varchar(200).nullable() })
export const metadata = new MetaData(author)
`

describe('the athanor CLI in a temporary project', () => {
  let project: TempProject
  let env: NodeJS.ProcessEnv

  /** `athanor <args>` as a child process in the project (tsx stands in for the built bin). */
  function child(...args: string[]): Promise<Result> {
    return new Promise((resolve) => {
      execFile(process.execPath, ['--import', TSX, BIN, ...args], { cwd: project.dir, env, timeout: 120_000 }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
        resolve({ code, stdout, stderr })
      })
    })
  }

  /** The same command line in this process (each child costs seconds on a busy machine). */
  async function athanor(...args: string[]): Promise<Result> {
    let stdout = ''
    let stderr = ''
    const code = await runCli(args, {
      cwd: project.dir,
      env,
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: (t: string) => (stderr += t) },
    })
    return { code, stdout, stderr }
  }

  beforeAll(() => {
    project = tempProject('cli')
    writeFileSync(path.join(project.dir, 'schema.ts'), SCHEMA_V1)
    // A second schema file and config: a module imported in this process is not imported again.
    writeFileSync(path.join(project.dir, 'schema-v2.ts'), SCHEMA_V2)
    const config = (schema: string) =>
      `import { defineConfig } from 'athanor'\nexport default defineConfig({ url: process.env.DATABASE_URL, metadata: '${schema}', migrations: './migrations' })\n`
    writeFileSync(path.join(project.dir, 'athanor.config.ts'), config('./schema.ts'))
    writeFileSync(path.join(project.dir, 'athanor.v2.config.ts'), config('./schema-v2.ts'))
    env = { ...process.env, DATABASE_URL: `sqlite:///${path.join(project.dir, 'app.db')}`, NO_COLOR: '1' }
  })
  afterAll(() => project.remove())

  it('writes, applies, checks, prints and reverts migrations; codegen reads the database back', async () => {
    // As a process: the bin, the .ts config and models, the exit code.
    const drift = await child('migrate', 'check')
    expect(drift.code).toBe(1)
    expect(drift.stdout).toContain('- create table author')
    const first = await child('migrate', 'revision', '--autogenerate', '-m', 'create author')
    expect(first).toMatchObject({ code: 0, stderr: '' })
    expect(first.stdout).toMatch(/wrote migrations\/\d{14}_[0-9a-f]{12}_create_author\.ts\n {2}- create table author/)
    const rev1 = /_([0-9a-f]{12})_create_author/.exec(first.stdout)![1]

    const up = await athanor('migrate', 'upgrade')
    expect(up.code).toBe(0)
    expect(up.stdout).toContain(`↑ ${rev1}  create author`)
    expect(up.stdout).toContain(`Upgraded base -> ${rev1} (1 migration(s)).`)
    expect(await athanor('migrate', 'check')).toMatchObject({ code: 0, stdout: 'The models and the database match.\n' })
    expect(await athanor('migrate', 'current')).toMatchObject({ code: 0, stdout: `${rev1} (head)\n` })

    const second = await athanor('--config', 'athanor.v2.config.ts', 'migrate', 'revision', '--autogenerate', '-m', 'add email')
    expect(second.stdout).toContain('- add column author.email')
    const rev2 = /_([0-9a-f]{12})_add_email/.exec(second.stdout)![1]
    expect(readdirSync(project.migrations)).toHaveLength(2)

    // Offline: the SQL of the whole history, the database untouched.
    const offline = await athanor('migrate', 'sql', 'base:head')
    expect(offline.code).toBe(0)
    expect(offline.stdout).toContain('create table "author"')
    expect(offline.stdout).toContain('alter table "author" add column "email" TEXT')
    expect(offline.stdout).toContain(`insert into "athanor_version" ("version_num", "state") values ('${rev2}', 'applied');`)
    // ...and the database was left at rev1.
    expect((await athanor('migrate', 'upgrade')).stdout).toContain(`Upgraded ${rev1} -> ${rev2}`)
    const history = await athanor('migrate', 'history')
    expect(history.stdout.split('\n').slice(0, 2)).toEqual([`${rev2}  ${rev1} -> ${rev2}  add email <- current`, `${rev1}  base -> ${rev1}  create author`])

    const codegen = await athanor('codegen', '--out', 'models.ts')
    expect(codegen).toMatchObject({ code: 0, stdout: 'wrote models.ts: 1 table(s)\n' })
    const models = readFileSync(path.join(project.dir, 'models.ts'), 'utf8')
    expect(models).toContain(`export const author = table('author', {\n  id: serial().primaryKey(),\n  name: text(),\n  email: text().nullable(),\n})`)
    expect(models).toContain('export class Author extends Model(author) {}')

    const down = await athanor('migrate', 'downgrade', 'base')
    expect(down.stdout).toContain(`↓ ${rev2}  add email`)
    expect(down.stdout).toContain(`Downgraded ${rev2} -> base (2 migration(s)).`)

    // Errors: typed, named by code, non-zero; as a process too.
    const missing = await child('migrate', 'upgrade', 'nope')
    expect(missing).toMatchObject({ code: 1, stdout: '', stderr: 'error [MIGRATE_REVISION_NOT_FOUND]: no revision "nope" among the migrations\n' })
    expect(await athanor('migrate', 'sideways')).toMatchObject({ code: 1, stderr: expect.stringContaining('unknown migrate command "sideways"') })
    expect((await athanor('frobnicate')).code).toBe(2)
  }, 600_000)
})
