import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../../src')

/** Every bare module specifier reachable from `entry` through relative imports (static and dynamic). */
function reachablePackages(entry: string): Set<string> {
  const seen = new Set<string>()
  const packages = new Set<string>()
  const visit = (file: string): void => {
    if (seen.has(file)) return
    seen.add(file)
    // Doc comments hold example imports: only code counts.
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
    for (const match of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'([^']+)'/g)) {
      const spec = match[1]!
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')))
      else packages.add(spec)
    }
  }
  visit(entry)
  return packages
}

describe('optional peers', () => {
  it("the main entry never imports @opentelemetry/api or prom-client: only athanor/opentelemetry and athanor/prometheus do", () => {
    const main = [...reachablePackages(resolve(src, 'index.ts'))]
    expect(main.filter((p) => p.startsWith('@opentelemetry/') || p === 'prom-client')).toEqual([])
    expect(main).toContain('kysely') // the walk does reach the engine's imports
    expect([...reachablePackages(resolve(src, 'integrations/opentelemetry/index.ts'))]).toContain('@opentelemetry/api')
    expect([...reachablePackages(resolve(src, 'integrations/prometheus/index.ts'))]).toContain('prom-client')
  })
})
