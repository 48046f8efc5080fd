import { DriverNotInstalledError } from '../errors.js'
import { requireHere } from './module-require.js'

/**
 * Throws {@link DriverNotInstalledError} now, synchronously, when an optional
 * peer (better-sqlite3, @electric-sql/pglite) cannot be found, so
 * `createEngine` fails at once instead of at the first query.
 *
 * ```ts
 * assertInstalled('better-sqlite3', 'sqlite')
 * ```
 */
export function assertInstalled(packageName: string, dialect: string): void {
  try {
    requireHere.resolve(packageName)
  } catch (error) {
    throw new DriverNotInstalledError(packageName, dialect, { cause: error })
  }
}

/**
 * Imports an optional peer lazily; a missing package becomes
 * {@link DriverNotInstalledError} naming it.
 *
 * ```ts
 * const { PGlite } = await importOptional<typeof import('@electric-sql/pglite')>('@electric-sql/pglite', 'pglite')
 * ```
 */
export async function importOptional<M>(packageName: string, dialect: string): Promise<M> {
  try {
    return (await import(packageName)) as M
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new DriverNotInstalledError(packageName, dialect, { cause: error })
    }
    throw error
  }
}
