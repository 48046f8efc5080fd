import { randomBytes } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { RevisionGraphError, RevisionNotFoundError, MigrationConfigError } from './errors.js'
import { importModule } from './load-module.js'
import type { Migration } from './migration.js'

/**
 * A new revision id: 12 random hex digits, as Alembic's.
 *
 * ```ts
 * newRevisionId() // '3f2a9c1e0b7d'
 * ```
 */
export function newRevisionId(): string {
  return randomBytes(6).toString('hex')
}

const where = (m: Migration) => (m.file ? ` (${path.basename(m.file)})` : '')

/**
 * The migrations in order, checked to form one line from the first (no
 * parent) to the head. Two heads, two roots, an unknown parent, a duplicate id
 * or a cycle is a {@link RevisionGraphError} that says how to fix it.
 *
 * ```ts
 * const graph = new RevisionGraph(migrations)
 * graph.head // '3f2a9c1e0b7d'
 * graph.upgradePath(null, graph.head) // every migration, oldest first
 * ```
 */
export class RevisionGraph {
  /** Oldest first. */
  readonly ordered: readonly Migration[]
  readonly head: string | null

  constructor(migrations: readonly Migration[]) {
    const byId = new Map<string, Migration>()
    for (const m of migrations) {
      const twin = byId.get(m.revision)
      if (twin) throw new RevisionGraphError(`revision "${m.revision}" is declared twice${where(twin)}${where(m)}: give one a new id`)
      byId.set(m.revision, m)
    }
    const children = new Map<string | null, Migration[]>()
    for (const m of migrations) {
      if (m.parent !== null && !byId.has(m.parent)) {
        throw new RevisionGraphError(`revision "${m.revision}"${where(m)} follows "${m.parent}", which is not among the migrations`)
      }
      children.set(m.parent, [...(children.get(m.parent) ?? []), m])
    }
    for (const [parent, kids] of children) {
      if (kids.length < 2) continue
      const [a, b] = kids
      const what = parent === null ? 'both start the history (parent null)' : `both follow "${parent}"`
      throw new RevisionGraphError(
        `two heads: revisions "${a.revision}"${where(a)} and "${b.revision}"${where(b)} ${what}. ` +
          `Put them in one line: set \`parent\` in ${b.file ? path.basename(b.file) : `"${b.revision}"`} to '${a.revision}' ` +
          `(after checking the two do not change the same tables), then upgrade.`,
      )
    }
    const ordered: Migration[] = []
    let next = children.get(null)?.[0]
    while (next) {
      ordered.push(next)
      next = children.get(next.revision)?.[0]
    }
    if (ordered.length !== migrations.length) {
      const stray = migrations.find((m) => !ordered.includes(m))
      throw new RevisionGraphError(`revision "${stray?.revision}"${stray ? where(stray) : ''} is on a cycle of parents that never reaches the first migration`)
    }
    this.ordered = ordered
    this.head = ordered.at(-1)?.revision ?? null
  }

  /**
   * The revision a name stands for: `head`, `base` (→ `null`), an id, or a
   * unique prefix of one; `-N` / `+N` count from `from`.
   */
  resolve(name: string, from: string | null = null): string | null {
    if (name === 'head') return this.head
    if (name === 'base') return null
    const relative = /^([+-])(\d+)$/.exec(name)
    if (relative) {
      const at = from === null ? -1 : this.indexOf(from)
      const to = at + (relative[1] === '+' ? 1 : -1) * Number(relative[2])
      if (to < -1 || to >= this.ordered.length) throw new RevisionNotFoundError(`"${name}" from ${from ?? 'base'} goes past the ${to < -1 ? 'first migration' : 'head'}`, name)
      return to === -1 ? null : this.ordered[to].revision
    }
    const matches = this.ordered.filter((m) => m.revision.startsWith(name))
    if (matches.length === 1) return matches[0].revision
    if (matches.length === 0) throw new RevisionNotFoundError(`no revision "${name}" among the migrations`, name)
    throw new RevisionNotFoundError(`"${name}" is the start of several revisions: ${matches.map((m) => m.revision).join(', ')}`, name)
  }

  /** The migration with this exact revision id; a `RevisionNotFoundError` when there is none. */
  get(revision: string): Migration {
    const m = this.ordered.find((x) => x.revision === revision)
    if (!m) throw new RevisionNotFoundError(`no revision "${revision}" among the migrations (the database names one this folder does not have)`, revision)
    return m
  }

  /** -1 for base. */
  indexOf(revision: string | null): number {
    return revision === null ? -1 : this.ordered.indexOf(this.get(revision))
  }

  /** Migrations to apply from `from` to `to`, oldest first. */
  upgradePath(from: string | null, to: string | null): Migration[] {
    const a = this.indexOf(from)
    const b = this.indexOf(to)
    if (b < a) throw new RevisionNotFoundError(`${to ?? 'base'} is behind the current revision ${from}: use downgrade`, to ?? 'base')
    return this.ordered.slice(a + 1, b + 1)
  }

  /** Migrations to revert from `from` down to `to` (exclusive), newest first. */
  downgradePath(from: string | null, to: string | null): Migration[] {
    const a = this.indexOf(from)
    const b = this.indexOf(to)
    if (b > a) throw new RevisionNotFoundError(`${to} is ahead of the current revision ${from ?? 'base'}: use upgrade`, to ?? 'base')
    return this.ordered.slice(b + 1, a + 1).reverse()
  }
}

const MIGRATION_FILE = /^(?!.*\.d\.[mc]?ts$).*\.(ts|mts|js|mjs)$/

/**
 * Loads every migration file of a folder (`.ts` through tsx, see the docs).
 * Each must export `revision`, `parent`, `up` and `down`.
 *
 * ```ts
 * const migrations = await loadMigrations('./migrations')
 * ```
 */
export async function loadMigrations(directory: string): Promise<Migration[]> {
  let files: string[]
  try {
    files = (await readdir(directory)).filter((f) => MIGRATION_FILE.test(f)).sort()
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return []
    throw error
  }
  const out: Migration[] = []
  for (const f of files) {
    const file = path.resolve(directory, f)
    const mod = await importModule(file)
    const { revision, parent, message, up, down } = mod as Partial<Migration>
    if (typeof revision !== 'string' || revision === '' || (parent !== null && typeof parent !== 'string') || typeof up !== 'function' || typeof down !== 'function') {
      throw new MigrationConfigError(`migration file ${f} must export revision (a string), parent (a string or null), up() and down()`)
    }
    out.push({ revision, parent, message: typeof message === 'string' ? message : undefined, up, down, file })
  }
  return out
}
