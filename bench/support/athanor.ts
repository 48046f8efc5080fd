/**
 * Loads athanor's parts at run time, so a benchmark whose part is not built
 * yet is skipped with a reason instead of failing to start.
 *
 * ```ts
 * const loaded = await loadEngine()
 * if (!loaded.ok) console.log(`skipped: ${loaded.reason}`)
 * else loaded.value.createEngine(PG_URL, { poolSize: 10 })
 * ```
 */
import type { Engine, EngineOptions } from '../../src/engine/types.js'

/** A module that loaded, or the reason it did not: `{ ok: false, reason: 'src/session is missing' }`. */
export type Loaded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string }

/** The part of athanor's engine module the benchmarks use: `mod.createEngine(PG_URL, { poolSize: 10 })`. */
export interface EngineModule {
  createEngine<DB>(url: string, options?: EngineOptions): Engine<DB>
}

/**
 * Imports the first of `specifiers` that loads and has `exportName`.
 * The specifiers are variables so the type checker does not demand that
 * files still being written exist.
 */
async function loadFirst<T>(specifiers: readonly string[], exportName: string): Promise<Loaded<T>> {
  const reasons: string[] = []
  for (const specifier of specifiers) {
    try {
      const mod = (await import(specifier)) as Record<string, unknown>
      if (mod[exportName] !== undefined) return { ok: true, value: mod as T }
      reasons.push(`${specifier} has no export '${exportName}'`)
    } catch (error) {
      reasons.push(`${specifier}: ${firstLine(error)}`)
    }
  }
  return { ok: false, reason: reasons.join('; ') }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]
}

/**
 * athanor's `createEngine`, from the public entry or, before that exists, the engine folder.
 *
 * ```ts
 * const engine = await loadEngine()
 * ```
 */
export function loadEngine(): Promise<Loaded<EngineModule>> {
  return loadFirst<EngineModule>(['../../src/index.js', '../../src/engine/index.js'], 'createEngine')
}
