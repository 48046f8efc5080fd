/**
 * Small helpers the dialects' migration support shares to put default
 * expressions and type names in one spelling. Internal.
 *
 * ```ts
 * canonicalDefault('((0.00))') // '0'
 * ```
 */

/** Drops parentheses that wrap the whole text: `((0))` → `0`. */
export function stripOuterParens(text: string): string {
  let s = text.trim()
  while (s.startsWith('(') && s.endsWith(')') && closesAtEnd(s)) s = s.slice(1, -1).trim()
  return s
}

/** Whether the `(` at 0 is closed by the last character (quotes respected). */
function closesAtEnd(s: string): boolean {
  let depth = 0
  let quote: string | undefined
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]
    if (quote !== undefined) {
      if (ch === quote) quote = s[i + 1] === quote ? (i++, quote) : undefined
      continue
    }
    if (ch === "'" || ch === '"' || ch === '`') quote = ch
    else if (ch === '(') depth++
    else if (ch === ')' && --depth === 0 && i < s.length - 1) return false
  }
  return depth === 0
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i

/**
 * The spelling-independent form of a literal default: wrapping parentheses
 * dropped, numbers (quoted or not) canonical (`0.00` → `0`), `TRUE`/`FALSE`/`NULL`
 * lower-cased. Anything else is returned trimmed.
 *
 * ```ts
 * canonicalDefault("'12.50'", true) // '12.5'
 * ```
 */
export function canonicalDefault(text: string, unquoteNumbers = false): string {
  let s = stripOuterParens(text)
  if (unquoteNumbers && /^'[^']*'$/.test(s) && NUMBER.test(s.slice(1, -1))) s = s.slice(1, -1)
  if (NUMBER.test(s)) return String(Number(s))
  const lower = s.toLowerCase()
  if (lower === 'true' || lower === 'false' || lower === 'null') return lower
  return s
}

/** A type name lower-cased, spaces collapsed, none after commas or inside parentheses: `DECIMAL(10, 2)` → `decimal(10,2)`. */
export function canonicalTypeName(type: string): string {
  return type
    .trim()
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/\s*([(),])\s*/g, '$1')
}

/** `'NO ACTION'`, `'SET NULL'`... lower-cased with single spaces. */
export function canonicalAction(action: string): string {
  return action.trim().toLowerCase().replace(/\s+/g, ' ')
}
