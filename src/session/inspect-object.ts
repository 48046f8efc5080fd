import { EXPIRED, STATUS_NAMES } from './state.js'
import type { InstanceState } from './state.js'

/** Node's `util.inspect` hook, by its registered name: no import of node:util, so other runtimes and bundles are unaffected. */
export const INSPECT: unique symbol = Symbol.for('nodejs.util.inspect.custom')

/** The part of Node's `util.inspect` a custom inspector is handed. */
type InspectFn = (value: unknown, options?: object) => string

/** What Node passes as `options` (only the fields read here). */
interface InspectOptions {
  readonly depth?: number | null
  stylize?(text: string, style: string): string
}

/** Shown in place of an expired attribute's value. */
class ExpiredValue {
  [INSPECT](_depth: number, options: InspectOptions): string {
    return options.stylize?.('<expired>', 'special') ?? '<expired>'
  }
}
const EXPIRED_SHOWN = new ExpiredValue()

/**
 * How `console.log(obj)` and `util.inspect(obj)` show a mapped object: its
 * class, its state, its column values (`<expired>` for an expired one), and
 * the relationships it has loaded, summarised, instead of its bookkeeping:
 *
 * ```ts
 * console.log(ada) // Author (persistent) { id: 1, name: 'Ada', email: <expired>, books: [2 × Book] }
 * ```
 */
export function inspectMapped(s: InstanceState, depth: number, options: InspectOptions, inspect: InspectFn | undefined): string {
  const shown: Record<string, unknown> = {}
  for (const col of s.mapper.columns) {
    const v = s.values[col]
    if (v !== undefined) shown[col] = v === EXPIRED ? EXPIRED_SHOWN : v
  }
  const rels = s.rels
  if (rels !== null) for (const name in rels) shown[name] = new Summary(rels[name])
  const title = `${s.obj.constructor.name} (${STATUS_NAMES[s.status]})`
  if (depth < 0) return options.stylize?.(`[${title}]`, 'special') ?? `[${title}]`
  const body =
    inspect === undefined
      ? JSON.stringify(shown, (_k, v: unknown) => (v instanceof ExpiredValue ? '<expired>' : v instanceof Summary ? v.text : v))
      : inspect(shown, { ...options, depth: options.depth === null || options.depth === undefined ? options.depth : options.depth - 1 })
  return `${title} ${body}`
}

/** A loaded relationship, in a few characters: `Book`, `[2 × Book]`, `null`. */
class Summary {
  readonly text: string
  constructor(value: unknown) {
    if (Array.isArray(value)) {
      const names = [...new Set(value.map((v) => nameOf(v)))]
      this.text = value.length === 0 ? '[]' : `[${value.length} × ${names.join(' | ')}]`
    } else this.text = value === null || value === undefined ? String(value) : nameOf(value)
  }
  [INSPECT](_depth: number, options: InspectOptions): string {
    return options.stylize?.(this.text, 'special') ?? this.text
  }
}

function nameOf(value: unknown): string {
  return typeof value === 'object' && value !== null ? value.constructor.name : typeof value
}
