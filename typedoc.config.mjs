// TypeDoc configuration for `npm run docs:api`: the API reference in docs/api/
// (git-ignored), generated from the doc comments of every public entry point.
// The entry points are read from package.json "exports", so a new subpath
// export is documented (and validated) without touching this file.
import { existsSync, readFileSync } from 'node:fs'

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'))

/** The ESM JavaScript file of an export entry ("./dist/esm/x.js"), if any. */
function esmTarget(entry) {
  if (typeof entry === 'string') return entry
  if (entry === null || typeof entry !== 'object') return undefined
  const chosen = entry.import ?? entry.default
  return typeof chosen === 'string' ? chosen : esmTarget(chosen)
}

const entryPoints = Object.entries(pkg.exports)
  .map(([, entry]) => esmTarget(entry))
  .filter((target) => typeof target === 'string' && target.startsWith('./dist/esm/'))
  .map((target) => target.replace('./dist/esm/', './src/').replace(/\.js$/, '.ts'))
  .filter((source) => existsSync(new URL(source, import.meta.url)))

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  entryPoints,
  out: 'docs/api',
  tsconfig: 'tsconfig.typedoc.json',
  name: pkg.name,
  readme: 'none',
  // Source links need a git remote, which a clone in CI or a tarball may not have: none are made.
  disableSources: true,
  excludePrivate: true,
  excludeProtected: false,
  excludeInternal: true,
  // Warnings fail the build: a public export without a doc comment, a broken
  // {@link}, or a public type that refers to something not exported.
  treatWarningsAsErrors: true,
  validation: { notExported: true, invalidLink: true, notDocumented: true },
  // Internal types that public signatures mention (an `implements` clause, a
  // constructor only athanor calls): deliberately not exported. A new one
  // fails the build until it is exported or listed here.
  intentionallyNotExported: [
    'EngineFactory', 'ValueType',
    'RecordOwner', 'ConnectionHost', 'QueueHolder', 'HeldConnectionOwner', 'FlushHost',
    'AnyColumn', 'EngineOwnOptionName', 'ConnectionRecord', 'DialectDriver', 'DbConnection',
    'AnyTable', 'MigrationSupport', 'AnyModel', 'ConnectionTransaction', 'SessionEvents', 'ModelRow',
  ],
  requiredToBeDocumented: [
    'Enum', 'Variable', 'Function', 'Class', 'Interface', 'TypeAlias',
  ],
}
