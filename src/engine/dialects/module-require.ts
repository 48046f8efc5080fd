import { createRequire } from 'node:module'

/**
 * `require` relative to this package, to find optional peers where they are
 * installed for athanor. This file is ESM; the CommonJS build replaces it with
 * module-require-cjs.cts, because `import.meta` does not exist in CommonJS.
 *
 * ```ts
 * requireHere.resolve('better-sqlite3')
 * ```
 */
export const requireHere: NodeJS.Require = createRequire(import.meta.url)
