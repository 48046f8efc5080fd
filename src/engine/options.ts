import { POOL_OPTION_NAMES } from '../pool/index.js'
import type { PoolClassName, PoolOptions } from '../pool/types.js'
import { EngineOptionError } from './errors.js'
import type { EngineOptions, IsolationLevel } from './types.js'

type EngineOwnOptionName = Exclude<keyof EngineOptions, keyof PoolOptions>

/**
 * The engine's own option names (the pool's are `POOL_OPTION_NAMES`).
 *
 * ```ts
 * ENGINE_OPTION_NAMES.includes('echo') // true
 * ```
 */
export const ENGINE_OPTION_NAMES: readonly EngineOwnOptionName[] = Object.freeze([
  'poolClass',
  'isolationLevel',
  'echo',
  'echoPool',
  'logger',
  'logFormat',
  'hideParameters',
  'connectArgs',
  'statementTimeout',
  'connectionBudget',
  'replicas',
  'replicaRouting',
] as const)

// Compile-time guard: adding an option to EngineOptions without listing it above fails here.
type Unlisted = Exclude<EngineOwnOptionName, (typeof ENGINE_OPTION_NAMES)[number]>
const everyEngineOptionListed: [Unlisted] extends [never] ? true : Unlisted = true
void everyEngineOptionListed

/**
 * The isolation levels `isolationLevel` accepts.
 *
 * ```ts
 * ISOLATION_LEVELS.includes('SERIALIZABLE') // true
 * ```
 */
export const ISOLATION_LEVELS: readonly IsolationLevel[] = Object.freeze([
  'READ UNCOMMITTED',
  'READ COMMITTED',
  'REPEATABLE READ',
  'SERIALIZABLE',
  'AUTOCOMMIT',
] as const)

/**
 * The built-in pool classes `poolClass` accepts by name (or pass a factory).
 *
 * ```ts
 * POOL_CLASS_NAMES // ['queue', 'null', 'static', 'assertion', 'single']
 * ```
 */
export const POOL_CLASS_NAMES: readonly PoolClassName[] = Object.freeze([
  'queue',
  'null',
  'static',
  'assertion',
  'single',
] as const)

/**
 * Checks `createEngine`'s options: throws {@link EngineOptionError} for a
 * non-object, an unknown option name (the message lists the known ones and
 * suggests the likely one, e.g. `pool_size` -> `poolSize`), or a bad value of
 * an engine option. Pool option values are the pool's to check
 * (`PoolOptionError`); `undefined` values count as not given.
 *
 * ```ts
 * validateEngineOptions({ poolSize: 5, echo: true })  // fine
 * validateEngineOptions({ isolationLevel: 'SNAPSHOT' }) // throws EngineOptionError
 * ```
 */
export function validateEngineOptions(options: unknown): void {
  if (options === undefined) return
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new EngineOptionError(`engine options must be an object, not ${describe(options)}`)
  }
  const given = options as Record<string, unknown>
  const known: readonly string[] = [...ENGINE_OPTION_NAMES, ...POOL_OPTION_NAMES]
  for (const name of Object.keys(given)) {
    if (!known.includes(name)) {
      const near = suggest(name, known)
      throw new EngineOptionError(
        `unknown engine option ${JSON.stringify(name)}${near ? ` (did you mean "${near}"?)` : ''}; ` +
          `known options: ${known.join(', ')}`,
        name,
      )
    }
  }
  const value = (name: EngineOwnOptionName): unknown => given[name]
  const bad = (name: EngineOwnOptionName, expected: string): never => {
    throw new EngineOptionError(`invalid engine option ${name}: expected ${expected}, got ${describe(given[name])}`, name)
  }

  const isolationLevel = value('isolationLevel')
  if (isolationLevel !== undefined && !(ISOLATION_LEVELS as readonly unknown[]).includes(isolationLevel)) {
    bad('isolationLevel', `one of ${ISOLATION_LEVELS.map((l) => `'${l}'`).join(', ')}`)
  }
  for (const name of ['echo', 'echoPool'] as const) {
    const echo = value(name)
    if (echo !== undefined && typeof echo !== 'boolean' && echo !== 'debug') bad(name, "true, false or 'debug'")
  }
  const logFormat = value('logFormat')
  if (logFormat !== undefined && logFormat !== 'text' && logFormat !== 'object') bad('logFormat', "'text' or 'object'")
  const hideParameters = value('hideParameters')
  if (hideParameters !== undefined && typeof hideParameters !== 'boolean') bad('hideParameters', 'a boolean')

  const logger = value('logger')
  if (logger !== undefined) {
    const fns = logger as Record<string, unknown> | null
    const missing =
      fns === null || (typeof fns !== 'object' && typeof fns !== 'function')
        ? ['info', 'warn', 'error']
        : ['info', 'warn', 'error'].filter((m) => typeof fns[m] !== 'function')
    if (fns !== null && typeof fns === 'object' && fns.debug !== undefined && typeof fns.debug !== 'function') {
      missing.push('debug')
    }
    if (missing.length > 0) bad('logger', `an object with info, warn and error functions (bad: ${missing.join(', ')})`)
  }

  const statementTimeout = value('statementTimeout')
  if (
    statementTimeout !== undefined &&
    (typeof statementTimeout !== 'number' || !Number.isFinite(statementTimeout) || statementTimeout < 0)
  ) {
    bad('statementTimeout', 'a finite number of ms >= 0 (0 = no limit)')
  }

  const budget = value('connectionBudget')
  if (budget !== undefined && budget !== false) {
    const b = budget as Record<string, unknown> | null
    if (b === null || typeof b !== 'object' || Array.isArray(b)) bad('connectionBudget', "false or { share?, onExceed? }")
    const share = (b as Record<string, unknown>).share
    const onExceed = (b as Record<string, unknown>).onExceed
    const unknownKey = Object.keys(b as object).find((k) => k !== 'share' && k !== 'onExceed')
    if (unknownKey !== undefined) bad('connectionBudget', `{ share?, onExceed? } (unknown key ${JSON.stringify(unknownKey)})`)
    if (share !== undefined && (typeof share !== 'number' || !(share > 0 && share <= 1))) {
      throw new EngineOptionError(`invalid engine option connectionBudget.share: expected a number > 0 and <= 1, got ${describe(share)}`, 'connectionBudget')
    }
    if (onExceed !== undefined && onExceed !== 'warn' && onExceed !== 'error') {
      throw new EngineOptionError(`invalid engine option connectionBudget.onExceed: expected 'warn' or 'error', got ${describe(onExceed)}`, 'connectionBudget')
    }
  }

  const replicas = value('replicas')
  if (replicas !== undefined && (!Array.isArray(replicas) || replicas.some((r) => typeof r !== 'string' && (r === null || typeof r !== 'object')))) {
    bad('replicas', 'an array of URLs')
  }
  const routing = value('replicaRouting')
  if (routing !== undefined) {
    if (routing === null || typeof routing !== 'object' || Array.isArray(routing)) bad('replicaRouting', 'an object')
    const r = routing as Record<string, unknown>
    const known = ['readYourWrites', 'maxWaitMs', 'maxLagMs', 'checkIntervalMs', 'backoffMs', 'maxBackoffMs']
    const extra = Object.keys(r).find((k) => !known.includes(k))
    if (extra !== undefined) bad('replicaRouting', `an object with ${known.join(', ')} (unknown key ${JSON.stringify(extra)})`)
    if (r.readYourWrites !== undefined && !['wait', 'primary', 'off'].includes(r.readYourWrites as string)) {
      throw new EngineOptionError(`invalid engine option replicaRouting.readYourWrites: expected 'wait', 'primary' or 'off', got ${describe(r.readYourWrites)}`, 'replicaRouting')
    }
    for (const k of known.slice(1)) {
      const v = r[k]
      if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
        throw new EngineOptionError(`invalid engine option replicaRouting.${k}: expected a number of ms >= 0, got ${describe(v)}`, 'replicaRouting')
      }
    }
  }

  const poolClass = value('poolClass')
  if (
    poolClass !== undefined &&
    typeof poolClass !== 'function' &&
    !(POOL_CLASS_NAMES as readonly unknown[]).includes(poolClass)
  ) {
    bad('poolClass', `one of ${POOL_CLASS_NAMES.map((n) => `'${n}'`).join(', ')}, or a pool factory function`)
  }

  const connectArgs = value('connectArgs')
  if (connectArgs !== undefined && (connectArgs === null || typeof connectArgs !== 'object' || Array.isArray(connectArgs))) {
    bad('connectArgs', 'an object')
  }
}

/** A short, secret-free description of a value for an error message. */
function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  switch (typeof value) {
    case 'string':
      return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value)
    case 'number':
    case 'boolean':
    case 'undefined':
    case 'bigint':
      return String(value)
    case 'function':
      return 'a function'
    case 'symbol':
      return 'a symbol'
    default:
      return 'an object'
  }
}

/** The known name a mistyped or snake_cased one most likely meant. */
function suggest(name: string, known: readonly string[]): string | undefined {
  const folded = name.replace(/[_-]/g, '').toLowerCase()
  const exact = known.find((k) => k.toLowerCase() === folded)
  if (exact !== undefined) return exact
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(name.length / 4)) + 1
  for (const k of known) {
    const d = distance(folded, k.toLowerCase())
    if (d < bestDistance) {
      best = k
      bestDistance = d
    }
  }
  return best
}

/** Levenshtein distance; option names are short, so the quadratic table is cheap. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = row
  }
  return prev[b.length]
}
