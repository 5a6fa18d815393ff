/**
 * The elastic backend through the Elasticsearch stand-in (real HTTP on 127.0.0.1): the
 * single-key commands, export/import with another backend, and migrate both ways.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { Standin } from '@kv/es-standin'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ALL_BYTES, exportFile, generated, type Workspace, workspace } from './helpers.js'

// Built by turbo before the tests (it is a dev dependency); run `pnpm build` in packages/elastic otherwise.
const built = existsSync(
  fileURLToPath(new URL('../node_modules/@kv/elastic/dist/index.js', import.meta.url)),
)

async function entryLines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).trimEnd().split('\n').slice(1, -1).sort()
}

describe.skipIf(!built)('elastic through the stand-in', () => {
  let standin: Standin
  let ws: Workspace
  const kv = (args: string[], input?: Buffer) => ws.kv(['--backend', 'elastic', ...args], { input })

  beforeAll(async () => {
    const { startStandin } = await import('@kv/es-standin')
    standin = await startStandin()
    // refresh: true makes every write searchable at once, so that the next process lists it
    // (Elasticsearch otherwise shows new documents to searches after its refresh interval).
    ws = await workspace(
      `data_dir: ./data\nelastic:\n  endpoint: ${standin.url}\n  index_name: kv-cli-test\n  refresh: true\n`,
    )
  })
  afterAll(async () => {
    await ws?.cleanup()
    await standin?.close()
  })

  it('puts and gets all 256 byte values through stdin and stdout', async () => {
    expect((await kv(['put', 'bin', 'all', '-'], ALL_BYTES)).code).toBe(0)
    const got = await kv(['get', 'bin', 'all'])
    expect(got.code, got.stderr).toBe(0)
    expect(Buffer.compare(got.stdout, ALL_BYTES)).toBe(0)
    expect((await kv(['exists', 'bin', 'all'])).code).toBe(0)
    expect((await kv(['ls', 'bin'])).out).toBe('all\n')
  })

  it('imports an export of badger byte-identically, and migrates elastic -> simple_kv verified', async () => {
    const seed = await ws.file(
      'seed.ndjson',
      exportFile([{ b: 'bin', k: ALL_BYTES, v: ALL_BYTES }, ...generated(1000, 3)]),
    )
    expect((await ws.kv(['--backend', 'badger', 'import', seed])).code).toBe(0)
    expect((await ws.kv(['--backend', 'badger', 'export', 'badger.ndjson'])).code).toBe(0)
    const imported = await kv(['import', 'badger.ndjson'])
    expect(imported.code, imported.stderr).toBe(0)
    const exported = await kv(['export', 'elastic.ndjson'])
    expect(exported.code, exported.stderr).toBe(0)
    // Every entry of badger, byte-identical, plus bin/all from the first test.
    const fromElastic = new Set(await entryLines(`${ws.dir}/elastic.ndjson`))
    const fromBadger = await entryLines(`${ws.dir}/badger.ndjson`)
    expect(fromBadger.filter((line) => !fromElastic.has(line))).toEqual([])
    expect(fromElastic.size).toBe(fromBadger.length + 1)
    const migrated = await ws.kv([
      'migrate',
      '--from',
      'elastic',
      '--to',
      'simple_kv',
      '--verify-values',
    ])
    expect(migrated.code, migrated.stderr).toBe(0)
    expect(migrated.out).toMatch(/copied 1,002 entries/)
    expect(migrated.out).toMatch(/verified counts and values/)
  })

  it('exits 5 when the cluster cannot be reached', async () => {
    await standin.stop()
    try {
      const down = await ws.kv(['--backend', 'elastic', 'get', 'bin', 'all'], {
        env: {
          KV_CONFIG: await ws.file(
            'down.yml',
            `elastic:\n  endpoint: ${standin.url}\n  request_timeout_ms: 2000\n  max_retries: 0\n`,
          ),
        },
      })
      expect(down.code).toBe(5)
      expect(down.stderr).toMatch(/KV_BACKEND_UNAVAILABLE/)
    } finally {
      await standin.start()
    }
  })
})
