#!/usr/bin/env node
// Builds dist/: ESM in dist/esm and CommonJS in dist/cjs, each with .d.ts,
// declaration maps and source maps that point at src/ (shipped in the package).
//
// The CommonJS build compiles a staged copy of src/ in .build-cjs/, beside a
// package.json of type commonjs, so TypeScript (module NodeNext) emits CommonJS
// and checks the imports under the `require` condition. A file `x-cjs.cts` in src/
// replaces `x.ts` there: that is how a line that only ESM has (import.meta) gets
// its CommonJS twin. The output lands in .build-cjs/dist/cjs and moves to
// dist/cjs: one directory deep either way, so the maps' relative paths to
// ../src/... hold unchanged.
import { spawn } from 'node:child_process'
import { cp, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const stage = join(root, '.build-cjs')
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')

function run(project) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsc, '-p', project], { cwd: root, stdio: 'inherit' })
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tsc -p ${project} exited with ${code}`))))
  })
}

async function* walk(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) yield* walk(path)
    else yield path
  }
}

/** Stages src/ for the CommonJS build; returns the replaced files (staged .ts path -> real .cts path). */
async function stageCjs() {
  await rm(stage, { recursive: true, force: true })
  await mkdir(stage, { recursive: true })
  await cp(join(root, 'src'), join(stage, 'src'), { recursive: true })
  await writeFile(join(stage, 'package.json'), '{ "type": "commonjs" }\n')
  const replaced = new Map()
  for await (const file of walk(join(stage, 'src'))) {
    if (!file.endsWith('-cjs.cts')) continue
    const target = file.slice(0, -'-cjs.cts'.length) + '.ts'
    await rename(file, target)
    replaced.set(target, join(root, relative(stage, file)))
  }
  return replaced
}

/** Points the maps of replaced files at the -cjs.cts file that was compiled. */
async function fixReplacedMaps(replaced) {
  for (const [stagedTs, realCts] of replaced) {
    const rel = relative(join(stage, 'src'), stagedTs).slice(0, -'.ts'.length)
    for (const ext of ['.js.map', '.d.ts.map']) {
      const mapFile = join(root, 'dist/cjs', rel + ext)
      const map = JSON.parse(await readFile(mapFile, 'utf8'))
      map.sources = [relative(dirname(mapFile), realCts)]
      await writeFile(mapFile, JSON.stringify(map))
    }
  }
}

await rm(join(root, 'dist'), { recursive: true, force: true })
const replaced = await stageCjs()
try {
  // Two single-threaded compilers: run them side by side.
  await Promise.all([run('tsconfig.build.json'), run('tsconfig.build-cjs.json')])
  await rename(join(stage, 'dist/cjs'), join(root, 'dist/cjs'))
  await fixReplacedMaps(replaced)
} finally {
  await rm(stage, { recursive: true, force: true })
}
// Explicit module types, so neither build depends on the root package.json's "type".
await writeFile(join(root, 'dist/esm/package.json'), '{ "type": "module" }\n')
await writeFile(join(root, 'dist/cjs/package.json'), '{ "type": "commonjs" }\n')
