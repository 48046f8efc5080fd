import { DependencyCycleError } from './errors.js'

/**
 * Orders `nodes` so each comes after every node it depends on, keeping the
 * given order where the dependencies allow. `dependsOn(n)` lists n's parents
 * (self-dependencies are ignored). A cycle throws {@link DependencyCycleError}.
 */
export function topologicalSort<T>(
  nodes: readonly T[],
  dependsOn: (node: T) => Iterable<T>,
  name: (node: T) => string,
): T[] {
  const state = new Map<T, 1 | 2>() // 1 = on the stack, 2 = done
  const out: T[] = []
  const stack: T[] = []
  const visit = (n: T): void => {
    const s = state.get(n)
    if (s === 2) return
    if (s === 1) {
      const cycle = [...stack.slice(stack.indexOf(n)), n].map(name)
      throw new DependencyCycleError(
        `dependency cycle between ${cycle.join(' -> ')}: no insert/delete order satisfies it; ` +
          'make one foreign key nullable and flush in two steps',
        cycle,
      )
    }
    state.set(n, 1)
    stack.push(n)
    for (const p of dependsOn(n)) if (p !== n && nodes.includes(p)) visit(p)
    stack.pop()
    state.set(n, 2)
    out.push(n)
  }
  for (const n of nodes) visit(n)
  return out
}
