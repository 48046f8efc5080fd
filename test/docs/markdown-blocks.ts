/**
 * Finds the fenced code blocks of the documentation: README.md and every
 * Markdown file under docs/ (the generated docs/api excepted), so a guide
 * added later is picked up without listing it anywhere.
 *
 * ```ts
 * const blocks = docsFiles(root).flatMap((file) => codeBlocks(root, file))
 * blocks.filter((b) => b.language === 'ts' && b.run)
 * ```
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'

/** One fenced block of a Markdown file. */
export interface CodeBlock {
  /** The Markdown file, relative to the repository ("docs/testing.md"). */
  readonly file: string
  /** 1-based line of the opening fence in that file. */
  readonly line: number
  /** The fence's language ("ts", "sh", ""), lower-cased. */
  readonly language: string
  /** Whether the fence says `run` after the language ("```ts run"). */
  readonly run: boolean
  /** The block's text, its fence's indentation removed. */
  readonly code: string
}

/** README.md and docs/**\/*.md (not docs/api), sorted, relative to `root`. */
export function docsFiles(root: string): string[] {
  const files = ['README.md']
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) {
        if (relative(root, path) !== join('docs', 'api')) walk(path)
      } else if (entry.name.endsWith('.md')) {
        files.push(relative(root, path))
      }
    }
  }
  walk(join(root, 'docs'))
  return files.sort()
}

// An opening fence: up to three spaces of a list item's indentation count as the
// block's own (a fence inside a numbered item is indented by its text).
const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)\s*(.*)$/

/** The fenced blocks of one Markdown file, in order. An unclosed fence is an error. */
export function codeBlocks(root: string, file: string): CodeBlock[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n')
  const blocks: CodeBlock[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i])
    if (open === null) continue
    const [, indent, fence, language, info] = open
    const body: string[] = []
    let j = i + 1
    for (; j < lines.length; j++) {
      const text = lines[j]
      const trimmed = text.trimStart()
      if (trimmed.startsWith(fence) && trimmed.slice(fence.length).trim() === '') break
      body.push(text.startsWith(indent) ? text.slice(indent.length) : text.trimStart())
    }
    if (j === lines.length) throw new Error(`${file}:${i + 1}: a code fence is never closed`)
    blocks.push({
      file,
      line: i + 1,
      language: language.toLowerCase(),
      run: info.split(/\s+/).includes('run'),
      code: body.join('\n') + '\n',
    })
    i = j
  }
  return blocks
}

/** Whether a block is TypeScript (and so must type-check as a complete module). */
export function isTypeScript(block: CodeBlock): boolean {
  return block.language === 'ts' || block.language === 'typescript'
}
