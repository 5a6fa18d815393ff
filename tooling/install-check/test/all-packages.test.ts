/**
 * A user who installs every published package from the tarballs npm would publish: each backend
 * through the package-level API (LevelDB files on disk, Elasticsearch over real HTTP to the
 * stand-in), the `kv` command, the conformance suite under `node --test` for a third-party
 * backend, and the type declarations as a strict TypeScript project resolves them.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Standin, startStandin } from '@kv/es-standin'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { install, type PackageDir, pack, type Scratch } from './scratch.js'

const PACKAGES: PackageDir[] = ['core', 'simple', 'badger', 'elastic', 'cli', 'conformance']

let tarballDir: string
let project: Scratch
let standin: Standin

beforeAll(async () => {
  tarballDir = mkdtempSync(join(tmpdir(), 'kv-tarballs-all-'))
  const tarballs = pack(PACKAGES, tarballDir)
  ;[project, standin] = await Promise.all([
    install('all', Object.values(tarballs)),
    startStandin({ refreshIntervalMs: -1 }),
  ])
})

afterAll(async () => {
  project?.remove()
  await standin?.close()
  rmSync(tarballDir, { recursive: true, force: true })
})

describe('every package installed together', () => {
  it('badger: LevelDB files under data_dir, read back by another process with require', async () => {
    writeFileSync(join(project.dir, 'badger.yml'), 'data_dir: ./badger-data\n')
    const env = { KV_CONFIG: 'badger.yml' }
    await project.run(
      'badger-put.mjs',
      `import * as kv from '@kv/core'
import '@kv/badger'
kv.use('badger')
await kv.addValue('b', 'k', 'stored in LevelDB')
await kv.close()`,
      [],
      env,
    )
    // The default path is <data_dir>/badger, and it is a LevelDB database.
    expect(existsSync(join(project.dir, 'badger-data', 'badger', 'CURRENT'))).toBe(true)
    const read = await project.run(
      'badger-get.cjs',
      `const kv = require('@kv/core')
require('@kv/badger')
kv.use('badger')
kv.getValue('b', 'k').then(async (v) => { console.log(new TextDecoder().decode(v)); await kv.close() })`,
      [],
      env,
    )
    expect(read.trim()).toBe('stored in LevelDB')
  })

  it('elastic: the official client installed by npm talks to a cluster over HTTP', async () => {
    standin.resetCounts()
    const out = await project.run(
      'elastic.mjs',
      `import * as kv from '@kv/core'
import '@kv/elastic'
kv.configure({ elastic: { endpoint: process.env.ES_URL, index_name: 'install-check' } })
kv.use('elastic')
await kv.addValueCompress('docs', 'readme', 'hello '.repeat(40))
const text = new TextDecoder().decode(await kv.getCompressedValue('docs', 'readme'))
console.log(JSON.stringify({ text, exists: await kv.existsKey('docs', 'readme') }))
await kv.close()`,
      [],
      { ES_URL: standin.url },
    )
    expect(JSON.parse(out)).toEqual({ text: 'hello '.repeat(40), exists: true })
    // The value went to the server, not to a local fallback.
    expect(standin.counts().byEndpoint.bulk ?? 0).toBeGreaterThan(0)
  })

  it('the kv command: put, get and --version', async () => {
    writeFileSync(join(project.dir, 'cli.yml'), 'simple_kv:\n  path: ./cli-state\n')
    const env = { KV_CONFIG: 'cli.yml' }
    expect(
      await project.bin('kv', ['--backend', 'simple_kv', 'put', 'demo', 'hello', 'world'], env),
    ).toBe('')
    expect(await project.bin('kv', ['--backend', 'simple_kv', 'get', 'demo', 'hello'], env)).toBe(
      'world',
    )
    const manifest = JSON.parse(
      readFileSync(join(project.dir, 'node_modules', '@kv', 'cli', 'package.json'), 'utf8'),
    )
    expect((await project.bin('kv', ['--version'], env)).trim()).toBe(manifest.version)
  })

  it('conformance: a third-party backend runs the suite under node --test', async () => {
    // A backend of the user's own, on core's public base class: it passes because MemoryStore does.
    const file = 'my-store.test.mjs'
    writeFileSync(
      join(project.dir, file),
      `import { MemoryStore } from '@kv/core'
import { runConformance } from '@kv/conformance'
import { nodeTestRunner } from '@kv/conformance/node-test'
class MyStore extends MemoryStore {}
runConformance(nodeTestRunner, { name: 'my-store', create: () => new MyStore(), modelRuns: 2, modelOps: 50 })`,
    )
    const out = await project.node(['--test', '--test-reporter=tap', file])
    const count = (label: string) => Number(out.match(new RegExp(`^# ${label} (\\d+)$`, 'm'))?.[1])
    expect(count('fail')).toBe(0)
    expect(count('pass')).toBeGreaterThan(50)
  })

  it('types: a strict NodeNext TypeScript project compiles against every package, ESM and CommonJS', async () => {
    writeFileSync(
      join(project.dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2023',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: [],
        },
        files: ['typed.mts', 'typed.cts'],
      }),
    )
    const body = `
const stores: KVStore[] = [new SimpleKV({ path: './t' }), new BadgerKV({ memory_mode: true }), new ElasticKV()]
const value: Promise<Uint8Array | null> = stores[0]!.getValue('b', 'k')
const code: string = new NotOpenError('closed').code
export { value, code, runConformance }`
    writeFileSync(
      join(project.dir, 'typed.mts'),
      `import { type KVStore, NotOpenError } from '@kv/core'
import { SimpleKV } from '@kv/simple'
import { BadgerKV } from '@kv/badger'
import { ElasticKV } from '@kv/elastic'
import { runConformance } from '@kv/conformance'
${body}`,
    )
    writeFileSync(
      join(project.dir, 'typed.cts'),
      `import { type KVStore, NotOpenError } from '@kv/core'
import { SimpleKV } from '@kv/simple'
import { BadgerKV } from '@kv/badger'
import { ElasticKV } from '@kv/elastic'
import { runConformance } from '@kv/conformance'
${body}`,
    )
    // The workspace's TypeScript, run over the scratch project (which has no TypeScript of its own).
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
    // Rejects on a non-zero exit, with tsc's diagnostics (its stdout) in the message.
    const failed = await project.node([tsc, '-p', 'tsconfig.json']).then(
      () => undefined,
      (error: { stdout?: string; stderr?: string; message: string }) =>
        `${error.stdout ?? ''}${error.stderr ?? ''}` || error.message,
    )
    expect(failed).toBeUndefined()
  })
})
