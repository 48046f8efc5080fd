/**
 * Prints where a V8 CPU profile (`node --cpu-prof`) spent its time: self
 * time per function and total (inclusive) time per function, top N each.
 * Given a sampling heap profile (`.heapprofile`), prints bytes allocated per function.
 *
 * ```sh
 * npx tsx bench/support/cpuprofile-top.ts /tmp/prof/CPU.*.cpuprofile 30
 * ```
 */
import { readFileSync } from 'node:fs'
import { isMain } from './main.js'

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: readonly number[]
}
interface Profile {
  readonly nodes: readonly ProfileNode[]
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

/** Self and inclusive milliseconds per function (name + file:line). */
export function summarize(profile: Profile): { self: Map<string, number>; total: Map<string, number>; totalMs: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const selfById = new Map<number, number>()
  profile.samples.forEach((id, i) => selfById.set(id, (selfById.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000))
  const label = (n: ProfileNode) => {
    const file = n.callFrame.url.replace(/^file:\/\/\/work\/main\//, '').replace(/.*node_modules\//, 'nm/')
    return `${n.callFrame.functionName || '(anonymous)'} ${file}:${n.callFrame.lineNumber + 1}`
  }
  const self = new Map<string, number>()
  const total = new Map<string, number>()
  let totalMs = 0
  for (const [id, ms] of selfById) {
    totalMs += ms
    const node = byId.get(id)!
    self.set(label(node), (self.get(label(node)) ?? 0) + ms)
    const seen = new Set<string>()
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur)!)
      if (seen.has(l)) continue
      seen.add(l)
      total.set(l, (total.get(l) ?? 0) + ms)
    }
  }
  return { self, total, totalMs }
}

interface HeapNode {
  readonly callFrame: ProfileNode['callFrame']
  readonly selfSize: number
  readonly children: readonly HeapNode[]
}

/**
 * Bytes allocated per function in a sampling heap profile. Allocations inside
 * a built-in (`push`, `sort`, `Map.set`...) count for the JavaScript function
 * that called it, shown as `caller > builtin`.
 */
export function summarizeHeap(head: HeapNode): { self: Map<string, number>; totalMs: number } {
  const self = new Map<string, number>()
  let total = 0
  const walk = (n: HeapNode, caller: string) => {
    const file = n.callFrame.url.replace(/^file:\/\/\/work\/main\//, '').replace(/.*node_modules\//, 'nm/')
    const name = n.callFrame.functionName || '(anonymous)'
    const l = file === '' ? `${caller} > ${name}` : `${name} ${file}:${n.callFrame.lineNumber + 1}`
    self.set(l, (self.get(l) ?? 0) + n.selfSize / 1e6)
    total += n.selfSize / 1e6
    for (const c of n.children) walk(c, file === '' ? caller : l)
  }
  walk(head, '(root)')
  return { self, totalMs: total }
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2)
  const top = /^\d+$/.test(args.at(-1) ?? '') ? Number(args.pop()) : 25
  for (const file of args) {
    const data = JSON.parse(readFileSync(file, 'utf8')) as Profile & { head?: HeapNode }
    const unit = data.head ? 'MB' : 'ms'
    const print = (title: string, m: Map<string, number>, of: number) => {
      console.log(`\n${title} (of ${of.toFixed(0)} ${unit} sampled)`)
      for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${v.toFixed(1).padStart(9)} ${unit}  ${k}`)
    }
    console.log(`== ${file}`)
    if (data.head) {
      const heap = summarizeHeap(data.head)
      print('bytes allocated (self)', heap.self, heap.totalMs)
      continue
    }
    const { self, total, totalMs } = summarize(data)
    print('self time', self, totalMs)
    print('total time', total, totalMs)
  }
}
