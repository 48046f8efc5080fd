/**
 * The documentation cannot drift from the code: every ```ts block of README.md
 * and docs/**\/*.md is type-checked as a complete module (all of them in one
 * TypeScript program), and every ```ts run block is also executed, each in its
 * own tsx process. Imports of 'athanor' and 'athanor/<subpath>' resolve to
 * src/ through a generated tsconfig's `paths`, built from package.json
 * "exports", so a new subpath or a new guide needs no change here.
 *
 * A failure names the Markdown file and line: `docs/testing.md:42`.
 * `DOCS_FILES=docs/testing.md npx vitest run test/docs/` checks one file.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { codeBlocks, docsFiles, isTypeScript, type CodeBlock } from './markdown-blocks.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
// Inside the repository (so 'kysely' and the drivers resolve from node_modules),
// outside tsconfig.json's include and vitest's, git-ignored.
const workDir = join(root, '.docs-blocks', String(process.pid))

// A run block starts tsx, maybe PGlite (seconds of WebAssembly start-up, tens
// of seconds on a loaded 2-core machine): a bound that still ends a hung block.
const RUN_LIMIT_MS = 150_000

// DOCS_FILES=docs/testing.md,README.md checks only those files (while writing them).
const only = process.env.DOCS_FILES?.split(',').filter((f) => f !== '')
const blocks = docsFiles(root)
  .filter((file) => only === undefined || only.includes(file))
  .flatMap((file) => codeBlocks(root, file))
const tsBlocks = blocks.filter(isTypeScript)
const runBlocks = tsBlocks.filter((b) => b.run)

const where = (b: CodeBlock) => `${b.file}:${b.line}`
const blockFile = (b: CodeBlock) => join(workDir, `${b.file.replace(/[^\w]+/g, '_')}_L${b.line}.ts`)

/** 'athanor' and each subpath export, mapped to the source file of its ESM build. */
function athanorPaths(): Record<string, string[]> {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> }
  const esm = (entry: unknown): string | undefined => {
    if (typeof entry === 'string') return entry
    if (entry === null || typeof entry !== 'object') return undefined
    const e = entry as Record<string, unknown>
    return esm(e.import ?? e.default)
  }
  const paths: Record<string, string[]> = {}
  for (const [subpath, entry] of Object.entries(pkg.exports)) {
    const target = esm(entry)
    if (target === undefined || !target.startsWith('./dist/esm/')) continue
    const source = join(root, 'src', target.slice('./dist/esm/'.length).replace(/\.js$/, '.ts'))
    if (existsSync(source)) paths[subpath === '.' ? 'athanor' : `athanor/${subpath.slice(2)}`] = [source]
  }
  return paths
}

let tsconfigPath = ''
let diagnostics = new Map<string, string[]>()
let elsewhere: string[] = []

/** Type-checks every block in one program; diagnostics by block file, with Markdown lines. */
function typeCheck(): void {
  const parsed = ts.getParsedCommandLineOfConfigFile(tsconfigPath, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'))
    },
  })
  if (parsed === undefined) throw new Error(`cannot read ${tsconfigPath}`)
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options })
  const byFile = new Map(tsBlocks.map((b) => [resolve(blockFile(b)), b]))
  diagnostics = new Map()
  elsewhere = []
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n')
    const block = d.file === undefined ? undefined : byFile.get(resolve(d.file.fileName))
    if (d.file === undefined || block === undefined || d.start === undefined) {
      const at = d.file === undefined ? '' : `${relative(root, d.file.fileName)}: `
      elsewhere.push(`${at}TS${d.code}: ${message}`)
      continue
    }
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start)
    // The block's first line is the one after the fence.
    const text = `${block.file}:${block.line + 1 + line}:${character + 1} TS${d.code}: ${message}`
    diagnostics.set(where(block), [...(diagnostics.get(where(block)) ?? []), text])
  }
}

beforeAll(() => {
  rmSync(workDir, { recursive: true, force: true })
  mkdirSync(workDir, { recursive: true })
  for (const b of tsBlocks) writeFileSync(blockFile(b), b.code)
  tsconfigPath = join(workDir, 'tsconfig.json')
  writeFileSync(
    tsconfigPath,
    JSON.stringify(
      {
        extends: relative(workDir, join(root, 'tsconfig.json')),
        compilerOptions: {
          noEmit: true,
          declaration: false,
          sourceMap: false,
          // Every block is a module of its own, even one with no import.
          moduleDetection: 'force',
          paths: athanorPaths(),
        },
        include: [],
        files: tsBlocks.map((b) => relative(workDir, blockFile(b))),
      },
      null,
      2,
    ),
  )
  typeCheck()
}, 300_000)

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true })
})

describe('documentation code blocks', () => {
  it('finds the TypeScript blocks of README.md and docs/, and some to run', () => {
    expect(tsBlocks.length).toBeGreaterThan(0)
    if (only === undefined) {
      expect(tsBlocks.filter((b) => b.file === 'README.md').length).toBeGreaterThan(0)
      expect(tsBlocks.some((b) => b.file.startsWith('docs/'))).toBe(true)
      expect(runBlocks.length).toBeGreaterThan(0)
    }
  })

  it('type-checks without errors outside the blocks (athanor itself, the generated config)', () => {
    expect(elsewhere).toEqual([])
  })

  describe.each(tsBlocks.map((b) => [where(b), b] as const))('%s', (_name, block) => {
    it('type-checks as a complete module', () => {
      const errors = diagnostics.get(where(block)) ?? []
      expect(errors, errors.join('\n')).toEqual([])
    })

    if (block.run) {
      it('runs to the end on its own', async () => {
        const started = Date.now()
        const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((done) => {
          const child = execFile(
            join(root, 'node_modules', '.bin', 'tsx'),
            ['--tsconfig', tsconfigPath, blockFile(block)],
            { cwd: workDir, timeout: RUN_LIMIT_MS, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
            (error, stdout, stderr) => {
              const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null
              done({ code, signal: error?.signal ?? null, output: `${stdout}${stderr}` })
            },
          )
          child.stdin?.end()
        })
        const why =
          result.signal !== null
            ? `${where(block)}: killed (${result.signal}) after ${Date.now() - started} ms: it did not finish on its own within ${RUN_LIMIT_MS} ms`
            : `${where(block)}: exited with code ${result.code}\n${result.output}`
        expect(result.code, why).toBe(0)
      }, RUN_LIMIT_MS + 30_000)
    }
  })
})
