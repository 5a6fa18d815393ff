import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { expect, it } from 'vitest'

// The lines the seed's Complete Example prints, in order.
const seedLines = [
  'stored: greeting -> hello world',
  'retrieved: greeting -> hello world',
  'exists: true',
  'stored compressed: doc-001',
  'retrieved compressed: doc-001 -> {"payload": "large document content that benefits from compression..."}',
  'deleted: greeting (confirmed nil)',
]

it("prints the seed example's lines, twice in a row over the same data directory", () => {
  const cwd = mkdtempSync(join(tmpdir(), 'kv-example-'))
  try {
    const main = resolve(import.meta.dirname, '../src/main.ts')
    for (let run = 0; run < 2; run++) {
      const output = execFileSync(process.execPath, [main], {
        cwd,
        encoding: 'utf8',
        env: { ...process.env, KV_CONFIG: '' },
      })
      expect(output.trimEnd().split('\n')).toEqual(seedLines)
    }
  } finally {
    rmSync(cwd, { recursive: true, force: true })
  }
})
