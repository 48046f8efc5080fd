import { pathToFileURL } from 'node:url'
import { MigrationConfigError } from './errors.js'

let tsxRegistered: Promise<void> | undefined

/** Registers tsx's ESM loader once (Node 20 cannot strip types itself). */
function registerTsx(file: string): Promise<void> {
  tsxRegistered ??= (async () => {
    let esm: { register(): unknown }
    let cjs: { register(): unknown }
    try {
      esm = (await import('tsx/esm/api' as string)) as { register(): unknown }
      // A .ts file in a package without "type": "module" is CommonJS to Node: tsx's require hooks load it.
      cjs = (await import('tsx/cjs/api' as string)) as { register(): unknown }
    } catch (error) {
      tsxRegistered = undefined
      throw new MigrationConfigError(
        `${file} is TypeScript: install tsx (npm install -D tsx) so athanor can load it, or write it as .js`,
        { cause: error },
      )
    }
    cjs.register()
    esm.register()
  })()
  return tsxRegistered
}

/**
 * Whether this process already loads `.ts` itself: Node with type stripping,
 * or a loader (tsx, vitest) that hooks imports.
 */
function loadsTypeScript(): boolean {
  const features = process.features as { typescript?: unknown }
  if (features.typescript) return true
  if (process.env.VITEST !== undefined) return true
  const flags = [...process.execArgv, process.env.NODE_OPTIONS ?? '']
  return flags.some((f) => /\btsx\b|experimental-strip-types|experimental-transform-types/.test(f))
}

/**
 * Imports a config, models or migration module. A `.ts` file the running Node
 * cannot load itself is loaded through tsx (an optional peer), registered
 * before the first such import (a failed native attempt would leave Node's
 * module cache in a state tsx cannot recover from). Internal.
 *
 * ```ts
 * const mod = await importModule('/app/athanor.config.ts')
 * ```
 */
export async function importModule(file: string): Promise<Record<string, unknown>> {
  if (/\.[mc]?ts$/.test(file) && !loadsTypeScript()) await registerTsx(file)
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>
  // A module compiled to CommonJS (a .ts file outside a "type": "module" package) arrives as
  // { default: module.exports }, its own default one level down: read its exports as ESM's.
  const inner = mod.default as Record<string, unknown> | null | undefined
  if (typeof inner === 'object' && inner !== null && '__esModule' in inner) return { ...inner, ...('default' in inner ? { default: inner.default } : {}) }
  return mod
}
