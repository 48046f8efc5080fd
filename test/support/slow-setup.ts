/**
 * Limits for set-ups that are slow on a busy machine, in one place.
 *
 * Starting PGlite compiles and boots PostgreSQL in WebAssembly on the main
 * thread: about 2 s on a quiet 2-core machine, 15-25 s with the cores busy.
 * Its first checkout waits for that start, so an in-memory PGlite engine in a
 * test gets a connect and pool timeout that fit it; a test or hook that
 * starts one gets {@link SLOW_SETUP_MS}.
 *
 * ```ts
 * const engine = createEngine('pglite://', { ...PGLITE_START })
 * it('starts PGlite twice', async () => { ... }, SLOW_SETUP_MS)
 * ```
 */
import type { EngineOptions } from '../../src/engine/index.js'

/** Test and hook timeout for anything that starts PGlite or a private PostgreSQL. */
export const SLOW_SETUP_MS = 180_000

/** How long PGlite's start may take before its first checkout fails. */
export const PGLITE_START_MS = 120_000

/** Engine options for PGlite in tests: the first checkout waits for PGlite to start. */
export const PGLITE_START: Pick<EngineOptions, 'connectTimeout' | 'poolTimeout'> = {
  connectTimeout: PGLITE_START_MS,
  poolTimeout: PGLITE_START_MS,
}

/** {@link PGLITE_START} for a `pglite:` URL, nothing for any other. */
export function slowStartOptions(url: string): Pick<EngineOptions, 'connectTimeout' | 'poolTimeout'> {
  return url.startsWith('pglite:') ? PGLITE_START : {}
}
