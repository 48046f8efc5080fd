import type { DialectName } from '../engine/types.js'
import type { ColumnSpec } from './column.js'

/**
 * Converters between the values drivers return / accept and the values the
 * session's objects hold, for the column kinds whose driver values differ
 * between dialects (dates, times, binary, exact bigints, arrays). The aim is
 * one JavaScript value per column type, whatever the dialect.
 */
export type Converter = (v: unknown) => unknown

/** A `[fromDb, toDb]` pair; `null` where the driver's value is already right. */
export type ConverterPair = [Converter | null, Converter | null]

const pad = (n: number, width: number) => String(n).padStart(width, '0')

/**
 * A driver's `Date` for a DATE column, as `YYYY-MM-DD`. node-postgres and
 * mysql2 (time zone `local`) build local midnight, PGlite and mysql2 with
 * `timezone=Z` UTC midnight: whichever midnight it is names the day.
 *
 * ```ts
 * calendarDate(new Date(1960, 1, 29)) // '1960-02-29'
 * ```
 */
export function calendarDate(v: unknown): unknown {
  if (typeof v === 'string') return v.length > 10 && v[10] === 'T' ? v.slice(0, 10) : v
  if (!(v instanceof Date)) return v
  if (v.getHours() === 0 && v.getMinutes() === 0 && v.getSeconds() === 0 && v.getMilliseconds() === 0) {
    return `${pad(v.getFullYear(), 4)}-${pad(v.getMonth() + 1, 2)}-${pad(v.getDate(), 2)}`
  }
  // UTC midnight, or midnight at another fixed offset (mysql2's `+hh:mm`): the nearest UTC day.
  const day = new Date(Math.round(v.getTime() / 86_400_000) * 86_400_000)
  return `${pad(day.getUTCFullYear(), 4)}-${pad(day.getUTCMonth() + 1, 2)}-${pad(day.getUTCDate(), 2)}`
}

/**
 * A time of day as `HH:MM:SS`, or `HH:MM:SS.mmm` when it has milliseconds:
 * PostgreSQL drops trailing zeros of the fraction, MySQL pads them.
 *
 * ```ts
 * timeOfDay('10:00:00.100000') // '10:00:00.100'; timeOfDay('10:00:00.000') // '10:00:00'
 * ```
 */
export function timeOfDay(v: unknown): unknown {
  if (typeof v !== 'string') return v
  const dot = v.indexOf('.')
  if (dot < 0) return v
  const ms = `${v.slice(dot + 1)}000`.slice(0, 3)
  return ms === '000' ? v.slice(0, dot) : `${v.slice(0, dot)}.${ms}`
}

/** A driver's Buffer as a plain Uint8Array (a copy: a Buffer may share a pooled slab). */
const plainBytes: Converter = (v) => (v instanceof Uint8Array && v.constructor !== Uint8Array ? new Uint8Array(v) : v)

/** A Uint8Array as the Buffer node-postgres, mysql2 and better-sqlite3 bind as binary (a view, no copy). */
const bufferView: Converter = (v) => (v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v)

const toNumber: Converter = (v) => (typeof v === 'number' ? v : Number(v))
const toBigInt: Converter = (v) => (typeof v === 'bigint' ? v : BigInt(v as string | number))
const bigintText: Converter = (v) => (typeof v === 'bigint' ? v.toString() : v)
const parseJson: Converter = (v) => (typeof v === 'string' ? JSON.parse(v) : v)
const jsonText: Converter = (v) => JSON.stringify(v)

/**
 * The converters of the column kinds this file adds, or `undefined` for the
 * kinds the mapper converts itself.
 *
 * ```ts
 * typeConverters({ kind: 'date' } as ColumnSpec, 'postgresql') // [calendarDate, null]
 * ```
 */
export function typeConverters(col: ColumnSpec, dialect: DialectName): ConverterPair | undefined {
  const pg = dialect === 'postgresql' || dialect === 'pglite'
  if (col.array === true) {
    if (!pg) return [parseJson, jsonText]
    // int8[] arrives as strings (node-postgres) or bigints (PGlite).
    return col.kind === 'bigint' ? [(v) => (Array.isArray(v) ? v.map((e) => (e === null ? null : Number(e))) : v), null] : [null, null]
  }
  switch (col.kind) {
    case 'bigint':
      if (col.mode !== 'bigint') return [toNumber, null]
      return [toBigInt, dialect === 'sqlite' ? null : bigintText]
    case 'date':
      return [calendarDate, null]
    case 'time':
      return [timeOfDay, null]
    case 'bytes':
      return [plainBytes, dialect === 'pglite' ? null : bufferView]
    default:
      return undefined
  }
}
