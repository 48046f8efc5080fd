/**
 * The CommonJS build's module-require.ts (scripts/build.mjs puts it in its
 * place): CommonJS has its own `require`, and `import.meta` is a syntax error there.
 *
 * ```ts
 * requireHere.resolve('better-sqlite3')
 * ```
 */
export const requireHere: NodeJS.Require = require
