/**
 * Prints rows as an aligned text table: the first row is the header.
 * Numbers are right-aligned, text left-aligned.
 *
 * ```ts
 * printTable([['library', 'q/s'], ['pg.Pool', '25 000']])
 * ```
 */
export function printTable(rows: readonly (readonly string[])[], write: (line: string) => void = console.log): void {
  if (rows.length === 0) return
  const widths: number[] = []
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)))
  const numeric = /^[-+]?[\d ,.]+(x|%| ms| q\/s| B| rows\/s)?/
  const line = (row: readonly string[]) =>
    row.map((cell, i) => (i > 0 && numeric.test(cell) ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd()
  write(line(rows[0]))
  write(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const row of rows.slice(1)) write(line(row))
}

/**
 * A number with thin grouping, e.g. `25 431`, and a fixed count of decimals.
 *
 * ```ts
 * formatNumber(25431.2) // '25 431'
 * ```
 */
export function formatNumber(value: number, decimals = 0): string {
  if (!Number.isFinite(value)) return String(value)
  const [int, frac] = value.toFixed(decimals).split('.')
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ' ')
  return frac === undefined ? grouped : `${grouped}.${frac}`
}
