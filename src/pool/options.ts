import { PoolOptionError } from './errors.js'
import type { PoolOptions, ResolvedPoolOptions } from './types.js'

/**
 * Every pool option's default, SQLAlchemy's where it has one.
 *
 * ```ts
 * DEFAULT_POOL_OPTIONS.poolTimeout // 30000
 * ```
 */
export const DEFAULT_POOL_OPTIONS: ResolvedPoolOptions = Object.freeze({
  poolSize: 5,
  maxOverflow: 10,
  poolTimeout: 30_000,
  poolRecycle: -1,
  poolRecycleJitter: 0,
  poolPrePing: false,
  poolPrePingTimeout: 5_000,
  poolUseLifo: false,
  poolResetOnReturn: 'rollback',
  minIdle: 0,
  idleTimeout: -1,
  maxUses: -1,
  connectTimeout: 10_000,
  connectBackoff: 100,
  connectBackoffMax: 1_000,
  leakDetectionThreshold: -1,
  name: '',
})

/**
 * The names `resolvePoolOptions` accepts; anything else is a {@link PoolOptionError}.
 * A layer above that mixes its own options in picks these out first.
 *
 * ```ts
 * const poolOnly = Object.fromEntries(Object.entries(opts).filter(([k]) => POOL_OPTION_NAMES.includes(k)))
 * ```
 */
export const POOL_OPTION_NAMES: readonly string[] = Object.freeze(Object.keys(DEFAULT_POOL_OPTIONS))

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value)
  if (typeof value === 'function') return 'a function'
  return Array.isArray(value) ? 'an array' : 'an object'
}

function bad(name: string, value: unknown, expected: string): PoolOptionError {
  return new PoolOptionError(`invalid pool option ${name}: expected ${expected}, got ${show(value)}`, name, value)
}

function num(name: string, value: unknown, expected: string, ok: (n: number) => boolean): number {
  if (typeof value !== 'number' || Number.isNaN(value) || !ok(value)) throw bad(name, value, expected)
  return value
}

const isInt = (n: number): boolean => Number.isInteger(n)
const offOrPositive = (n: number): boolean => n === -1 || (n > 0 && Number.isFinite(n))

/**
 * Fills in defaults and checks every option; a bad value or an unknown name
 * throws a {@link PoolOptionError} naming the option and the value.
 *
 * ```ts
 * resolvePoolOptions({ poolSize: 2 }).maxOverflow // 10
 * resolvePoolOptions({ poolSize: -1 })            // throws PoolOptionError
 * ```
 */
export function resolvePoolOptions(options: PoolOptions = {}): ResolvedPoolOptions {
  if (options === null || typeof options !== 'object') {
    throw new PoolOptionError(`pool options must be an object, got ${show(options)}`, '', options)
  }
  const given = options as Record<string, unknown>
  for (const key of Object.keys(given)) {
    if (!POOL_OPTION_NAMES.includes(key)) {
      const near = POOL_OPTION_NAMES.find((n) => n.toLowerCase() === key.toLowerCase().replace(/_/g, ''))
      throw new PoolOptionError(`unknown pool option "${key}"${near ? ` (did you mean "${near}"?)` : ''}`, key, given[key])
    }
  }
  const v = <K extends keyof ResolvedPoolOptions>(k: K): unknown => (given[k] === undefined ? DEFAULT_POOL_OPTIONS[k] : given[k])

  const poolSize = num('poolSize', v('poolSize'), 'an integer >= 0', (n) => isInt(n) && n >= 0)
  const maxOverflow = num('maxOverflow', v('maxOverflow'), 'an integer >= -1 (-1 = no limit)', (n) => isInt(n) && n >= -1)
  const poolTimeout = num('poolTimeout', v('poolTimeout'), 'a finite number of ms > 0', (n) => n > 0 && Number.isFinite(n))
  const poolRecycle = num('poolRecycle', v('poolRecycle'), 'a number of ms > 0, or -1 (off)', offOrPositive)
  const jitterGiven = given.poolRecycleJitter
  const poolRecycleJitter =
    jitterGiven === undefined
      ? poolRecycle > 0
        ? poolRecycle * 0.025
        : 0
      : num('poolRecycleJitter', jitterGiven, `a number of ms >= 0 and below poolRecycle (${poolRecycle})`, (n) =>
          n === 0 || (n > 0 && poolRecycle > 0 && n < poolRecycle),
        )
  const bool = (k: 'poolPrePing' | 'poolUseLifo'): boolean => {
    const x = v(k)
    if (typeof x !== 'boolean') throw bad(k, x, 'a boolean')
    return x
  }
  const reset = v('poolResetOnReturn')
  if (reset !== 'rollback' && reset !== 'commit' && reset !== 'reset' && reset !== null) {
    throw bad('poolResetOnReturn', reset, "'rollback', 'commit', 'reset' or null")
  }
  const poolPrePingTimeout = num('poolPrePingTimeout', v('poolPrePingTimeout'), 'a finite number of ms > 0', (n) => n > 0 && Number.isFinite(n))
  // SQLAlchemy: poolSize 0 lifts the idle limit only; maxOverflow still bounds the total.
  const capacity = maxOverflow === -1 ? Infinity : poolSize + maxOverflow
  if (capacity === 0) throw bad('maxOverflow', maxOverflow, 'a value > 0 or -1 when poolSize is 0 (no connection could ever open)')
  const idleCap = poolSize === 0 ? capacity : poolSize
  const minIdle = num('minIdle', v('minIdle'), `an integer >= 0 and <= ${idleCap === Infinity ? 'the pool capacity' : idleCap}`, (n) => isInt(n) && n >= 0 && n <= idleCap)
  const idleTimeout = num('idleTimeout', v('idleTimeout'), 'a number of ms > 0, or -1 (off)', offOrPositive)
  const maxUses = num('maxUses', v('maxUses'), 'an integer >= 1, or -1 (off)', (n) => n === -1 || (isInt(n) && n >= 1))
  const connectTimeout = num('connectTimeout', v('connectTimeout'), 'a finite number of ms > 0', (n) => n > 0 && Number.isFinite(n))
  const connectBackoff = num('connectBackoff', v('connectBackoff'), 'a finite number of ms >= 0', (n) => n >= 0 && Number.isFinite(n))
  const connectBackoffMax = num('connectBackoffMax', v('connectBackoffMax'), `a finite number of ms >= connectBackoff (${connectBackoff})`, (n) => n >= connectBackoff && Number.isFinite(n))
  const leakDetectionThreshold = num('leakDetectionThreshold', v('leakDetectionThreshold'), 'a number of ms > 0, or -1 (off)', offOrPositive)
  const name = v('name')
  if (typeof name !== 'string') throw bad('name', name, 'a string')

  return Object.freeze({
    poolSize,
    maxOverflow,
    poolTimeout,
    poolRecycle,
    poolRecycleJitter,
    poolPrePing: bool('poolPrePing'),
    poolPrePingTimeout,
    poolUseLifo: bool('poolUseLifo'),
    poolResetOnReturn: reset,
    minIdle,
    idleTimeout,
    maxUses,
    connectTimeout,
    connectBackoff,
    connectBackoffMax,
    leakDetectionThreshold,
    name,
  })
}
