/**
 * True when the module at `moduleUrl` is the program being run
 * (`npx tsx bench/engine.ts`), false when it is imported by `bench/run.ts`.
 *
 * ```ts
 * if (isMain(import.meta.url)) await runEngineBench()
 * ```
 */
import { realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

export function isMain(moduleUrl: string): boolean {
  const script = process.argv[1]
  if (!script) return false
  try {
    return pathToFileURL(realpathSync(script)).href === moduleUrl
  } catch {
    return false
  }
}
