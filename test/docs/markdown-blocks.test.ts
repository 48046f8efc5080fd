import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { codeBlocks, docsFiles, isTypeScript } from './markdown-blocks.js'

// The extractor decides which blocks the docs test compiles and runs: a block it
// missed would never be checked, so its rules are pinned here.
const root = mkdtempSync(join(tmpdir(), 'athanor-md-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

function write(file: string, text: string): void {
  mkdirSync(join(root, file, '..'), { recursive: true })
  writeFileSync(join(root, file), text)
}

describe('markdown code blocks', () => {
  it('finds README.md and every docs/ file at any depth, but not docs/api', () => {
    write('README.md', '# x\n')
    write('docs/a.md', '')
    write('docs/guides/b.md', '')
    write('docs/api/generated.md', '')
    write('docs/notes.txt', '')
    expect(docsFiles(root)).toEqual(['README.md', 'docs/a.md', 'docs/guides/b.md'])
  })

  it('reads language, run flag, line and body; indented fences lose their indentation', () => {
    write(
      'docs/c.md',
      [
        'text', //                          1
        '```ts', //                         2
        "import { x } from 'athanor'", //   3
        '```', //                           4
        '1. item', //                       5
        '   ```ts run', //                  6
        '   const a = 1', //                7
        '     const b = 2', //              8
        '   ```', //                        9
        '~~~sh', //                         10
        '```ts', //                         11: inside another fence, not a block
        '~~~', //                           12
        '```', //                           13: no language
        'plain', //                         14
        '```', //                           15
      ].join('\n'),
    )
    const blocks = codeBlocks(root, 'docs/c.md')
    expect(blocks.map((b) => [b.line, b.language, b.run])).toEqual([
      [2, 'ts', false],
      [6, 'ts', true],
      [10, 'sh', false],
      [13, '', false],
    ])
    expect(blocks[1].code).toBe('const a = 1\n  const b = 2\n')
    expect(blocks.filter(isTypeScript).map((b) => b.line)).toEqual([2, 6])
  })

  it('refuses an unclosed fence, naming file and line', () => {
    write('docs/d.md', 'a\n```ts\nconst x = 1\n')
    expect(() => codeBlocks(root, 'docs/d.md')).toThrow('docs/d.md:2: a code fence is never closed')
  })
})
