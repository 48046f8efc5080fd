import { pathToFileURL } from 'node:url'
import { MigrationConfigError } from './errors.js'

let tsxRegistered: Promise<void> | undefined

/** Registers tsx's ESM loader once (Node 20 cannot strip types itself). */
function registerTsx(file: string): Promise<void> {
  tsxRegistered ??= (async () => {
    let api: { register(): unknown }
    try {
      api = (await import('tsx/esm/api' as string)) as { register(): unknown }
    } catch (error) {
      tsxRegistered = undefined
      throw new MigrationConfigError(
        `${file} is TypeScript: install tsx (npm install -D tsx) so athanor can load it, or write it as .js`,
        { cause: error },
      )
    }
    api.register()
  })()
  return tsxRegistered
}

/**
 * Imports a config, models or migration module. A `.ts` file the running Node
 * cannot load itself is loaded through tsx (an optional peer), registered on
 * first need. Internal.
 *
 * ```ts
 * const mod = await importModule('/app/athanor.config.ts')
 * ```
 */
export async function importModule(file: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(file).href
  try {
    return (await import(url)) as Record<string, unknown>
  } catch (error) {
    const code = (error as { code?: string }).code
    if (!/\.[mc]?ts$/.test(file) || (code !== 'ERR_UNKNOWN_FILE_EXTENSION' && code !== 'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING')) throw error
  }
  await registerTsx(file)
  return (await import(url)) as Record<string, unknown>
}
