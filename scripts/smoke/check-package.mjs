// Checks an installed copy of the tarball (node_modules/athanor): the files a
// consumer needs are there, nothing of the repository's own is, every export
// target exists, and every source map names sources that the package ships.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'

const dir = process.argv[2]
const problems = []
const files = []
;(function walk(d) {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, e.name)
    if (e.isDirectory()) walk(p)
    else files.push(relative(dir, p))
  }
})(dir)

const required = [
  'package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'src/index.ts',
  'dist/esm/package.json', 'dist/esm/index.js', 'dist/esm/index.d.ts', 'dist/esm/index.js.map',
  'dist/cjs/package.json', 'dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/cjs/index.js.map',
]
for (const f of required) if (!files.includes(f)) problems.push(`missing ${f}`)
const allowed = /^(package\.json|README\.md|LICENSE|CHANGELOG\.md|src\/.+\.c?ts|dist\/(esm|cjs)\/(package\.json|.+\.(js|d\.ts)(\.map)?))$/
for (const f of files) if (!allowed.test(f)) problems.push(`unexpected file ${f}`)

const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
;(function targets(value) {
  if (typeof value === 'string') {
    if (!existsSync(join(dir, value))) problems.push(`exports target ${value} is missing`)
  } else for (const v of Object.values(value)) targets(v)
})(pkg.exports)
if (Object.keys(pkg.dependencies ?? {}).includes('kysely')) problems.push('kysely is a dependency: it must be a peer')

let maps = 0
for (const f of files.filter((f) => f.endsWith('.map'))) {
  maps++
  const map = JSON.parse(readFileSync(join(dir, f), 'utf8'))
  for (const s of map.sources) {
    const source = join(dir, dirname(f), map.sourceRoot ?? '', s)
    if (!existsSync(source)) problems.push(`${f} names ${relative(dir, source)}, which the package does not ship`)
  }
}
if (problems.length > 0) {
  console.error(`package contents: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`)
  process.exit(1)
}
console.log(`package contents: ok (${files.length} files, ${maps} source maps, all sources shipped)`)
