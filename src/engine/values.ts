import type { DialectName } from './types.js'

/**
 * The portable value types a column can have (the session's column kinds).
 * Internal: the session passes them down; insertMany without them checks
 * only what holds for every column.
 *
 * ```ts
 * const check = columnValueCheck({ kind: 'integer' }, 'mysql')
 * check(1.5) // 'a number with a fraction'
 * ```
 */
export type ValueType =
  | 'integer'
  | 'bigint'
  | 'real'
  | 'numeric'
  | 'text'
  | 'varchar'
  | 'boolean'
  | 'timestamp'
  | 'json'
  | 'uuid'
  | 'smallint'
  | 'date'
  | 'time'
  | 'bytes'
  | 'enum'

/** What a value check needs to know of a column. */
export interface ValueColumn {
  readonly kind: ValueType
  /** varchar length, numeric precision. */
  readonly length?: number
  /** numeric scale. */
  readonly scale?: number
  /** An array of `kind` (each element checked; `null` elements allowed). */
  readonly array?: boolean
  /** enum labels. */
  readonly enumValues?: readonly string[]
}

/**
 * Checks one value that is neither `null` nor `undefined` (those are the
 * database's to judge: NOT NULL). Returns `undefined` when it may be sent, else
 * what is wrong with it, naming its kind and never the value itself.
 */
export type ValueCheck = (value: unknown) => string | undefined

const INT32_MIN = -2_147_483_648
const INT32_MAX = 2_147_483_647
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
const INTEGER_TEXT = /^[+-]?\d+$/
const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/
const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/
const TIME_TEXT = /^(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{3})?$/
const UUID_TEXT = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/

/** What kind of value this is, for messages (never the value: it may be a secret). */
export function kindOf(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return 'a string'
    case 'number':
      return Number.isNaN(value) ? 'NaN' : Number.isFinite(value) ? 'a number' : `${value > 0 ? '' : '-'}Infinity`
    case 'bigint':
      return 'a bigint'
    case 'boolean':
      return 'a boolean'
    case 'function':
      return 'a function'
    case 'symbol':
      return 'a symbol'
    case 'undefined':
      return 'undefined'
    default:
      if (value === null) return 'null'
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an Invalid Date' : 'a Date'
      if (Array.isArray(value)) return 'an array'
      if (value instanceof Uint8Array) return 'a Buffer'
      return 'an object'
  }
}

/** True when `text` has no lone UTF-16 surrogate (which a driver would replace with U+FFFD). */
export function isWellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed()
}

const LONE_SURROGATE = 'a string with a lone UTF-16 surrogate (the database would store U+FFFD instead)'

function integerCheck(min: number, max: number, label: string): ValueCheck {
  return (v) => {
    if (typeof v === 'number') {
      if (Number.isInteger(v)) return v >= min && v <= max && Number.isSafeInteger(v) ? undefined : outOfRange(v, label)
      return Number.isFinite(v) ? 'a number with a fraction' : kindOf(v)
    }
    if (typeof v === 'bigint') return v >= BigInt(min) && v <= BigInt(max) ? undefined : `a bigint out of range for ${label}`
    if (typeof v === 'string') {
      if (!INTEGER_TEXT.test(v)) return 'a string that is not an integer'
      return v.length < 16 && Number(v) >= min && Number(v) <= max ? undefined : `a string out of range for ${label}`
    }
    return kindOf(v)
  }
}

function outOfRange(v: number, label: string): string {
  return Number.isSafeInteger(v) ? `a number out of range for ${label}` : 'an integer beyond 2^53 (not exact in a JavaScript number: pass a bigint or a string)'
}

const bigintCheck: ValueCheck = (v) => {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return undefined
    if (Number.isInteger(v)) return outOfRange(v, 'bigint')
    return Number.isFinite(v) ? 'a number with a fraction' : kindOf(v)
  }
  if (typeof v === 'bigint') return v >= INT64_MIN && v <= INT64_MAX ? undefined : 'a bigint out of range for bigint (64 bits)'
  if (typeof v === 'string') {
    if (!INTEGER_TEXT.test(v)) return 'a string that is not an integer'
    const n = BigInt(v)
    return n >= INT64_MIN && n <= INT64_MAX ? undefined : 'a string out of range for bigint (64 bits)'
  }
  return kindOf(v)
}

function realCheck(nonFinite: boolean): ValueCheck {
  return (v) => {
    if (typeof v !== 'number') return kindOf(v)
    if (Number.isFinite(v) || (nonFinite && !Number.isNaN(v))) return undefined
    return Number.isNaN(v) ? 'NaN' : `${kindOf(v)} (this database has no infinite floats)`
  }
}

function numericCheck(precision: number, scale: number): ValueCheck {
  const label = `numeric(${precision}, ${scale})`
  return (v) => {
    let text: string
    if (typeof v === 'string') text = v
    else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return kindOf(v)
      text = String(v)
    } else if (typeof v === 'bigint') text = v.toString()
    else return kindOf(v)
    const m = DECIMAL_TEXT.exec(text)
    if (m === null || (m[2] === '' && (m[3] === undefined || m[3] === ''))) return 'a string that is not a decimal number'
    // The significant digits and where the point falls among them once the exponent is applied.
    const whole = m[2] + (m[3] ?? '')
    const significant = whole.replace(/^0+/, '')
    const point = m[2].length + (m[4] === undefined ? 0 : Number(m[4])) - (whole.length - significant.length)
    const digits = significant.replace(/0+$/, '')
    if (digits === '') return undefined
    const intDigits = Math.max(0, point)
    const fracDigits = Math.max(0, digits.length - point)
    if (intDigits > precision - scale) {
      return `${typeof v === 'string' ? 'a decimal' : kindOf(v)} with more than ${precision - scale} digits before the point for ${label}`
    }
    if (fracDigits > scale) {
      return `${typeof v === 'string' ? 'a decimal' : kindOf(v)} with more than ${scale} digits after the point for ${label} (the database would round it; round it first)`
    }
    return undefined
  }
}

const textCheck: ValueCheck = (v) => (typeof v !== 'string' ? kindOf(v) : isWellFormed(v) ? undefined : LONE_SURROGATE)

function varcharCheck(length: number): ValueCheck {
  return (v) => {
    if (typeof v !== 'string') return kindOf(v)
    if (!isWellFormed(v)) return LONE_SURROGATE
    // UTF-16 units are an upper bound on characters: count code points only when it is over.
    if (v.length > length && codePoints(v) > length) return `a string longer than ${length} characters`
    return undefined
  }
}

function codePoints(text: string): number {
  let n = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0xd800 || c > 0xdbff) n++
  }
  return n
}

const booleanCheck: ValueCheck = (v) => (typeof v === 'boolean' ? undefined : kindOf(v))

const timestampCheck: ValueCheck = (v) => (v instanceof Date && !Number.isNaN(v.getTime()) ? undefined : kindOf(v))

const uuidCheck: ValueCheck = (v) => {
  if (typeof v !== 'string') return kindOf(v)
  return UUID_TEXT.test(v) ? undefined : 'a string that is not a UUID (8-4-4-4-12 hex digits)'
}

/** JSON: whatever `JSON.stringify` writes as itself (top level; nested values are JSON's own business). */
const jsonCheck: ValueCheck = (v) => {
  switch (typeof v) {
    case 'string':
      return isWellFormed(v) ? undefined : LONE_SURROGATE
    case 'boolean':
      return undefined
    case 'number':
      return Number.isFinite(v) ? undefined : `${kindOf(v)} (JSON would write null)`
    case 'object':
      if (v instanceof Date && Number.isNaN(v.getTime())) return 'an Invalid Date (JSON would write null)'
      return undefined
    default:
      return `${kindOf(v)} (not JSON)`
  }
}

/** A calendar date `YYYY-MM-DD`, years 0001 to 9999, a day the month has. */
const dateCheck: ValueCheck = (v) => {
  if (typeof v !== 'string') return kindOf(v)
  const m = DATE_TEXT.exec(v)
  if (m === null) return 'a string that is not a date (YYYY-MM-DD)'
  const y = Number(m[1])
  const mo = Number(m[2])
  const d = Number(m[3])
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return 'a string that is not a calendar date (YYYY-MM-DD, year 0001 to 9999)'
  return undefined
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31
}

const timeCheck: ValueCheck = (v) => {
  if (typeof v !== 'string') return kindOf(v)
  return TIME_TEXT.test(v) ? undefined : 'a string that is not a time of day (HH:MM:SS or HH:MM:SS.mmm, 00:00:00 to 23:59:59.999)'
}

const bytesCheck: ValueCheck = (v) => (v instanceof Uint8Array ? undefined : kindOf(v))

function enumCheck(values: readonly string[]): ValueCheck {
  const allowed = new Set(values)
  return (v) => (typeof v !== 'string' ? kindOf(v) : allowed.has(v) ? undefined : 'a string that is not one of the enum values')
}

function arrayCheck(element: ValueCheck): ValueCheck {
  return (v) => {
    if (!Array.isArray(v)) return kindOf(v)
    for (let i = 0; i < v.length; i++) {
      const e = v[i]
      if (e === null) continue
      const problem = e === undefined ? 'undefined' : element(e)
      if (problem !== undefined) return `an array whose element ${i} is ${problem}`
    }
    return undefined
  }
}

/**
 * The check for one column's values on one dialect, from its declared type.
 *
 * ```ts
 * columnValueCheck({ kind: 'varchar', length: 3 }, 'sqlite')('abcd') // 'a string longer than 3 characters'
 * ```
 */
export function columnValueCheck(column: ValueColumn, dialect: DialectName): ValueCheck {
  if (column.array === true) return arrayCheck(scalarCheck(column, dialect))
  return scalarCheck(column, dialect)
}

function scalarCheck(column: ValueColumn, dialect: DialectName): ValueCheck {
  switch (column.kind) {
    case 'integer':
      return integerCheck(INT32_MIN, INT32_MAX, 'integer (32 bits)')
    case 'bigint':
      return bigintCheck
    case 'real':
      // PostgreSQL stores NaN and ±Infinity in double precision; MySQL refuses them and SQLite turns NaN into NULL.
      return realCheck(dialect === 'postgresql' || dialect === 'pglite')
    case 'numeric':
      return numericCheck(column.length ?? 18, column.scale ?? 4)
    case 'text':
      return textCheck
    case 'varchar':
      return varcharCheck(column.length ?? 255)
    case 'boolean':
      return booleanCheck
    case 'timestamp':
      return timestampCheck
    case 'json':
      return jsonCheck
    case 'uuid':
      return uuidCheck
    case 'smallint':
      return integerCheck(-32_768, 32_767, 'smallint (16 bits)')
    case 'date':
      return dateCheck
    case 'time':
      return timeCheck
    case 'bytes':
      return bytesCheck
    case 'enum':
      return enumCheck(column.enumValues ?? [])
  }
}

/**
 * The check for a value whose column type is unknown (`insertMany` on a table
 * name): what no column of any type would store as given. Invalid dates, lone
 * surrogates, NaN and ±Infinity, functions and symbols everywhere; objects and
 * arrays where the driver would mangle them (MySQL writes `[object Object]` or
 * a list; better-sqlite3 binds an array's items as separate values) and, on
 * SQLite, booleans and Dates, which it cannot bind.
 *
 * ```ts
 * untypedValueCheck('mysql')({ a: 1 }) // 'an object (JSON.stringify it for a JSON column)'
 * ```
 */
export function untypedValueCheck(dialect: DialectName): ValueCheck {
  const objects = dialect === 'postgresql' || dialect === 'pglite'
  const sqlite = dialect === 'sqlite'
  return (v) => {
    switch (typeof v) {
      case 'string':
        return isWellFormed(v) ? undefined : LONE_SURROGATE
      case 'number':
        return Number.isFinite(v) ? undefined : kindOf(v)
      case 'bigint':
        return undefined
      case 'boolean':
        return sqlite ? 'a boolean (SQLite stores 1 or 0: send a number)' : undefined
      case 'object':
        if (v instanceof Date) {
          if (Number.isNaN(v.getTime())) return 'an Invalid Date'
          return sqlite ? 'a Date (SQLite has no date type: send v.toISOString())' : undefined
        }
        if (v instanceof Uint8Array || objects) return undefined
        return `${kindOf(v)} (JSON.stringify it for a JSON column)`
      default:
        return kindOf(v)
    }
  }
}

/** Characters MySQL's client-side escaping doubles. */
const ESCAPED = /[\0\b\t\n\r\x1a"'\\]/g

/**
 * An upper bound of the bytes one bound value takes on the wire, in any
 * dialect's protocol: UTF-8 text plus MySQL's escapes (mysql2 inlines values
 * into the statement), hex for binary. Short strings are bounded by 3 bytes
 * per UTF-16 unit without scanning them.
 *
 * ```ts
 * valueBytes('abc') // 13 (3 * 3 + 4)
 * ```
 */
export function valueBytes(v: unknown): number {
  if (typeof v === 'string') return v.length <= 256 ? 3 * v.length + 4 : longStringBytes(v)
  if (v === null || typeof v !== 'object') return 28
  return objectBytes(v)
}

function longStringBytes(v: string): number {
  return Buffer.byteLength(v, 'utf8') + (v.match(ESCAPED)?.length ?? 0) + 4
}

function objectBytes(v: object): number {
  if (v instanceof Uint8Array) return 2 * v.byteLength + 6
  if (v instanceof Date) return 36
  // JSON values (PostgreSQL): rare and small as a rule, measured exactly.
  const text = JSON.stringify(v) as string | undefined
  return text === undefined ? 28 : valueBytes(text)
}

/**
 * An upper bound of a statement's size on the wire: its text and its values.
 *
 * ```ts
 * statementBytes('SELECT ?', [1]) // 36
 * ```
 */
export function statementBytes(sql: string, parameters: readonly unknown[]): number {
  let bytes = sql.length
  for (let i = 0; i < parameters.length; i++) bytes += valueBytes(parameters[i])
  return bytes
}
