import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { createEngine } from '../engine/create-engine.js'
import type { Engine } from '../engine/types.js'
import { AthanorError } from '../pool/errors.js'
import { generateModels } from './codegen.js'
import { loadConfig, type ResolvedConfig } from './config.js'
import { MigrationConfigError } from './errors.js'
import { describeOperation } from './operations.js'
import { reflect } from './reflect.js'
import { type MigrationEvent, MigrationRunner } from './runner.js'

/**
 * Where the CLI reads and writes; `process` by default.
 *
 * ```ts
 * await runCli(['migrate', 'current'], { cwd: '/app', env: process.env, stdout: process.stdout, stderr: process.stderr })
 * ```
 */
export interface CliIo {
  readonly cwd: string
  readonly env: Readonly<Record<string, string | undefined>>
  readonly stdout: {
    /** Writes normal output. */
    write(text: string): unknown
    readonly isTTY?: boolean
  }
  readonly stderr: {
    /** Writes errors and usage. */
    write(text: string): unknown
    readonly isTTY?: boolean
  }
}

const USAGE = `Usage: athanor <command> [options]

Commands:
  migrate revision -m "message" [--autogenerate]   write a new migration file after the head
  migrate upgrade [target] [--sql]                 apply migrations up to target (default head)
  migrate downgrade [target] [--sql]               revert migrations down to target (default -1)
  migrate current                                  the revision the database is at
  migrate history                                  the migrations, oldest first
  migrate check                                    exit 1 when the models and the database differ
  migrate stamp <target>                           record target as applied, running nothing
  migrate sql [from:]to [--down]                   print the SQL of an upgrade (or downgrade)
  codegen [--out file] [--only a,b]                write table definitions from the database

Targets: head, base, a revision id or a unique prefix, +N, -N.
Options:
  --config <file>   config file (default athanor.config.{ts,mts,js,mjs})
  --url <url>       engine URL (overrides the config; default DATABASE_URL)
  --schema <name>   PostgreSQL schema / MySQL database to read
  --no-color        plain output
  -h, --help        this text
`

interface Parsed {
  readonly positional: string[]
  readonly flags: Map<string, string | true>
}

const VALUE_FLAGS = new Set(['config', 'url', 'schema', 'out', 'only', 'm', 'message'])

function parseArgs(argv: readonly string[]): Parsed {
  const positional: string[] = []
  const flags = new Map<string, string | true>()
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--') {
      positional.push(...argv.slice(i + 1))
      break
    }
    const m = /^--?([a-zA-Z][\w-]*)(?:=(.*))?$/.exec(a)
    if (!m || /^-\d+$/.test(a)) {
      positional.push(a)
      continue
    }
    const name = m[1]
    if (m[2] !== undefined) flags.set(name, m[2])
    else if (VALUE_FLAGS.has(name)) {
      const v = argv[++i]
      if (v === undefined) throw new MigrationConfigError(`option --${name} needs a value`)
      flags.set(name, v)
    } else flags.set(name, true)
  }
  return { positional, flags }
}

function painter(enabled: boolean) {
  const wrap = (code: number) => (s: string) => (enabled ? `\x1b[${code}m${s}\x1b[0m` : s)
  return { red: wrap(31), green: wrap(32), yellow: wrap(33), dim: wrap(2), bold: wrap(1) }
}

const short = (rev: string | null) => rev ?? 'base'

/**
 * Runs the `athanor` command line and returns the exit code: 0 success, 1 an
 * error or (`migrate check`) differences, 2 a usage error.
 *
 * ```ts
 * process.exitCode = await runCli(process.argv.slice(2))
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let args: Parsed
  try {
    args = parseArgs(argv)
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n\n${USAGE}`)
    return 2
  }
  const color = painter(io.stdout.isTTY === true && !args.flags.has('no-color') && io.env.NO_COLOR === undefined)
  const out = (line = '') => io.stdout.write(`${line}\n`)
  const [command, sub, ...rest] = args.positional
  if (args.flags.has('help') || args.flags.has('h') || command === undefined || command === 'help') {
    out(USAGE)
    return command === undefined && !args.flags.has('help') && !args.flags.has('h') ? 2 : 0
  }
  if (command !== 'migrate' && command !== 'codegen') {
    io.stderr.write(`unknown command "${command}"\n\n${USAGE}`)
    return 2
  }
  let engine: Engine<unknown> | undefined
  try {
    const config = await loadConfig(io.cwd, flag(args, 'config'))
    const url = flag(args, 'url') ?? config.url ?? io.env.DATABASE_URL
    if (!url) throw new MigrationConfigError('no database URL: set url in athanor.config.ts, pass --url, or set DATABASE_URL')
    engine = createEngine<unknown>(url, config.engineOptions)
    if (command === 'codegen') return await codegen(engine, args, config, io, out, color)
    return await migrate(engine, sub, rest, args, config, io.cwd, out, color)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    const code = error instanceof AthanorError ? ` [${error.code}]` : ''
    io.stderr.write(`${color.red('error')}${code}: ${message}\n`)
    return 1
  } finally {
    await engine?.dispose()
  }
}

function processIo(): CliIo {
  return { cwd: process.cwd(), env: process.env, stdout: process.stdout, stderr: process.stderr }
}

function flag(args: Parsed, name: string): string | undefined {
  const v = args.flags.get(name)
  return typeof v === 'string' ? v : undefined
}

type Out = (line?: string) => void
type Paint = ReturnType<typeof painter>

async function codegen(engine: Engine<unknown>, args: Parsed, config: ResolvedConfig, io: CliIo, out: Out, color: Paint): Promise<number> {
  const only = flag(args, 'only')?.split(',').map((s) => s.trim())
  const reflected = await reflect(engine, {
    schema: flag(args, 'schema') ?? config.schema,
    only: only ?? config.include,
    exclude: [config.versionTable ?? 'athanor_version'],
  })
  const text = generateModels(reflected)
  const file = flag(args, 'out')
  if (file === undefined) {
    io.stdout.write(text)
    return 0
  }
  await writeFile(path.resolve(io.cwd, file), text)
  out(`${color.green('wrote')} ${file}: ${reflected.tables.length} table(s)`)
  for (const w of reflected.warnings) out(`  ${color.yellow('warning')} ${w.message}`)
  return 0
}

async function migrate(
  engine: Engine<unknown>,
  sub: string | undefined,
  rest: readonly string[],
  args: Parsed,
  config: ResolvedConfig,
  cwd: string,
  out: Out,
  color: Paint,
): Promise<number> {
  const progress = (e: MigrationEvent) => {
    const arrow = e.direction === 'up' ? '↑' : '↓'
    if (e.type === 'start') {
      const note = e.transactional ? '' : color.yellow('  (DDL commits as it runs on MySQL/MariaDB: not atomic)')
      out(`  ${arrow} ${color.bold(e.revision)}  ${e.message ?? ''}${note}`)
    } else {
      out(color.dim(`    done: ${e.statements} statement(s), ${(e.ms / 1000).toFixed(2)} s`))
    }
  }
  const runner = new MigrationRunner({
    engine,
    migrations: config.migrations,
    metadata: config.metadata,
    versionTable: config.versionTable,
    lockTimeout: config.lockTimeout,
    schema: flag(args, 'schema') ?? config.schema,
    include: config.include,
    onProgress: progress,
  })
  const offline = args.flags.has('sql')
  switch (sub) {
    case 'revision': {
      const message = flag(args, 'm') ?? flag(args, 'message')
      if (!message) throw new MigrationConfigError('migrate revision needs a message: -m "what it does"')
      const r = await runner.revision({ message, autogenerate: args.flags.has('autogenerate'), language: config.language })
      out(`${color.green('wrote')} ${path.relative(cwd, r.file)}`)
      if (args.flags.has('autogenerate')) {
        if (r.operations.length === 0) out(color.yellow('  no changes detected: the migration is empty'))
        for (const op of r.operations) out(`  - ${describeOperation(op)}`)
      }
      return 0
    }
    case 'upgrade':
    case 'downgrade': {
      const direction = sub === 'upgrade' ? 'up' : 'down'
      const target = rest[0] ?? (direction === 'up' ? 'head' : '-1')
      if (offline) {
        const [from, to] = target.includes(':') ? target.split(':') : [undefined, target]
        out(await runner.sql({ from, to, direction }))
        return 0
      }
      const before = await runner.current()
      const done = direction === 'up' ? await runner.upgrade(target) : await runner.downgrade(target)
      const after = await runner.current()
      out(
        done.length === 0
          ? `Nothing to do: the database is at ${short(before.revision)}.`
          : `${color.green(direction === 'up' ? 'Upgraded' : 'Downgraded')} ${short(before.revision)} -> ${short(after.revision)} (${done.length} migration(s)).`,
      )
      return 0
    }
    case 'sql': {
      const spec = rest[0] ?? 'head'
      const [from, to] = spec.includes(':') ? spec.split(':') : [undefined, spec]
      out(await runner.sql({ from, to, direction: args.flags.has('down') ? 'down' : 'up' }))
      return 0
    }
    case 'current': {
      const graph = await runner.graph()
      const c = await runner.current()
      const tag = c.revision !== null && c.revision === graph.head ? ' (head)' : ''
      const state = c.state === 'applied' ? '' : color.red(` (${c.state}: did not finish)`)
      out(`${short(c.revision)}${tag}${state}`)
      return 0
    }
    case 'history': {
      const { migrations, current } = await runner.history()
      if (migrations.length === 0) out('No migrations yet.')
      for (const m of [...migrations].reverse()) {
        const mark = m.revision === current.revision ? color.green(' <- current') : ''
        out(`${color.bold(m.revision)}  ${m.parent ?? 'base'} -> ${m.revision}  ${m.message ?? ''}${mark}`)
      }
      return 0
    }
    case 'check': {
      const r = await runner.check()
      const behind = r.current !== r.head
      if (behind) out(color.red(`The database is at ${short(r.current)}, the head is ${short(r.head)}: run "athanor migrate upgrade".`))
      if (r.operations.length > 0) {
        out(color.red(`The models and the database differ (${r.operations.length}):`))
        for (const op of r.operations) out(`  - ${describeOperation(op)}`)
        out('Run "athanor migrate revision --autogenerate -m ..." to write a migration.')
      }
      if (!behind && r.operations.length === 0) out(color.green('The models and the database match.'))
      return behind || r.operations.length > 0 ? 1 : 0
    }
    case 'stamp': {
      const target = rest[0]
      if (!target) throw new MigrationConfigError('migrate stamp needs a target: a revision, head or base')
      out(`Stamped ${short(await runner.stamp(target))}.`)
      return 0
    }
    default:
      throw new MigrationConfigError(`unknown migrate command "${sub ?? ''}": use revision, upgrade, downgrade, current, history, check, stamp or sql`)
  }
}
