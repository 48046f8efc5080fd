/**
 * PostgreSQL WAL positions (`16/B374D848`) as numbers that compare.
 *
 * ```ts
 * parseLsn('0/3000060') < parseLsn('0/3000100') // true
 * ```
 */
export function parseLsn(text: string | null | undefined): bigint {
  if (text === null || text === undefined) return -1n
  const slash = text.indexOf('/')
  if (slash < 0) return -1n
  return (BigInt(`0x${text.slice(0, slash)}`) << 32n) | BigInt(`0x${text.slice(slash + 1)}`)
}

/**
 * The text form of a WAL position.
 *
 * ```ts
 * formatLsn(parseLsn('0/3000060')) // '0/3000060'
 * ```
 */
export function formatLsn(lsn: bigint): string {
  if (lsn < 0n) return ''
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`
}
