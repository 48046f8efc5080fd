import { existsSync } from 'node:fs'
import path from 'node:path'
import type { EngineOptions } from '../engine/types.js'
import { MetaData } from '../session/metadata.js'
import { MigrationConfigError } from './errors.js'
import { importModule } from './load-module.js'

/**
 * What `athanor.config.ts` (or `.js`) exports by default: where the database
 * is, where the models and the migrations are.
 *
 * ```ts
 * // athanor.config.ts
 * import { defineConfig } from 'athanor'
 * import { metadata } from './src/models.js'
 *
 * export default defineConfig({
 *   url: process.env.DATABASE_URL,
 *   metadata,
 *   migrations: './migrations',
 * })
 * ```
 */
export interface AthanorConfig {
  /** The engine URL; `--url` overrides it, and `DATABASE_URL` is used when both are absent. */
  readonly url?: string
  readonly engineOptions?: EngineOptions
  /** Your models: a MetaData, or the path of a module exporting `metadata` (or a default MetaData). */
  readonly metadata?: MetaData | string
  /** The migrations folder, relative to the config file. Default `migrations`. */
  readonly migrations?: string
  /** Default `athanor_version`. */
  readonly versionTable?: string
  /** Wait this long for another process's migration lock, in ms. Default 60 000. */
  readonly lockTimeout?: number
  /** PostgreSQL schema / MySQL database to compare. Default the connection's. */
  readonly schema?: string
  /** Which tables `check` and autogenerate consider (default all but the version table). */
  readonly include?: (table: string) => boolean
  /** The language of new migration files. Default `'ts'`. */
  readonly language?: 'ts' | 'js'
}

/**
 * Types a config object (it returns it as is).
 *
 * ```ts
 * export default defineConfig({ url: process.env.DATABASE_URL, metadata: './src/models.ts' })
 * ```
 */
export function defineConfig(config: AthanorConfig): AthanorConfig {
  return config
}

/**
 * A loaded config: paths resolved, the MetaData imported.
 *
 * ```ts
 * const { metadata, migrations } = await loadConfig(process.cwd())
 * ```
 */
export interface ResolvedConfig extends Omit<AthanorConfig, 'metadata' | 'migrations'> {
  /** The config file, or `undefined` when none was found (flags and `DATABASE_URL` only). */
  readonly file: string | undefined
  readonly metadata: MetaData | undefined
  /** Absolute path of the migrations folder. */
  readonly migrations: string
}

const NAMES = ['athanor.config.ts', 'athanor.config.mts', 'athanor.config.js', 'athanor.config.mjs']

/** MetaData from another copy of athanor is still a MetaData: tell it by shape. */
function isMetaData(x: unknown): x is MetaData {
  return x instanceof MetaData || (typeof x === 'object' && x !== null && Array.isArray((x as MetaData).tables) && typeof (x as MetaData).sortedTables === 'function')
}

/**
 * Finds and loads the config file (`--config`, or `athanor.config.{ts,mts,js,mjs}` in `cwd`).
 *
 * ```ts
 * const config = await loadConfig(process.cwd())
 * ```
 */
export async function loadConfig(cwd: string, explicit?: string): Promise<ResolvedConfig> {
  const file = explicit ? path.resolve(cwd, explicit) : NAMES.map((n) => path.join(cwd, n)).find((f) => existsSync(f))
  if (explicit && (file === undefined || !existsSync(file))) throw new MigrationConfigError(`config file ${explicit} not found`)
  let config: AthanorConfig = {}
  if (file !== undefined) {
    const mod = await importModule(file)
    const value = (mod.default ?? mod.config) as unknown
    if (typeof value !== 'object' || value === null) throw new MigrationConfigError(`${path.basename(file)} must export default defineConfig({ ... })`)
    config = value as AthanorConfig
  }
  const base = file ? path.dirname(file) : cwd
  let metadata: MetaData | undefined
  if (typeof config.metadata === 'string') {
    const modFile = path.resolve(base, config.metadata)
    const mod = await importModule(modFile)
    const found = [mod.metadata, mod.default].find(isMetaData)
    if (!found) throw new MigrationConfigError(`${config.metadata} must export \`metadata\` (or a default export): a MetaData`)
    metadata = found
  } else if (config.metadata !== undefined) {
    if (!isMetaData(config.metadata)) throw new MigrationConfigError('config.metadata must be a MetaData or the path of a module exporting one')
    metadata = config.metadata
  }
  return { ...config, file, metadata, migrations: path.resolve(base, config.migrations ?? 'migrations') }
}
