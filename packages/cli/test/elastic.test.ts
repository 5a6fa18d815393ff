/**
 * The elastic backend through the Elasticsearch stand-in (real HTTP on 127.0.0.1): the
 * single-key commands, export/import with another backend, and migrate both ways.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { Standin } from '@kv/es-standin'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startFaultProxy } from './es-proxy.js'
import { ALL_BYTES, exportFile, generated, type Workspace, workspace } from './helpers.js'

// Built by turbo before the tests (it is a dev dependency); run `pnpm build` in packages/elastic otherwise.
const built = existsSync(
  fileURLToPath(new URL('../node_modules/@kv/elastic/dist/index.js', import.meta.url)),
)

/** `kv migrate --from simple_kv --to elastic` in `ws`, with `extra` arguments after it. */
function migrateToElastic(ws: Workspace, ...extra: string[]) {
  return ws.kv(['--no-progress', 'migrate', '--from', 'simple_kv', '--to', 'elastic', ...extra])
}

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

describe.skipIf(!built)('elastic: failures the CLI reports', () => {
  let ws: Workspace
  afterEach(async () => {
    await ws?.cleanup()
  })

  it('migrate verifies by reading the keys a lagging listing does not show (exit 0, counts and values)', async () => {
    // No periodic refresh, and a target that lists without refreshing first: its listings (which
    // the counts come from) see none of the entries the copy wrote, but reads of single keys do.
    const { startStandin } = await import('@kv/es-standin')
    const standin = await startStandin({ refreshIntervalMs: -1 })
    const config = (index: string) =>
      `data_dir: ./data\nelastic:\n  endpoint: ${standin.url}\n  index_name: ${index}\n  refresh_before_listing: false\n`
    try {
      ws = await workspace(config('kv-lagging'))
      const seed = await ws.file('seed.ndjson', exportFile(generated(30, 3)))
      expect((await ws.kv(['--backend', 'simple_kv', 'import', seed])).code).toBe(0)
      const migrated = await ws.kv(['migrate', '--from', 'simple_kv', '--to', 'elastic'])
      expect(migrated.code, migrated.stderr).toBe(0)
      expect(migrated.out).toMatch(/copied 30 entries in 3 buckets/)
      expect(migrated.out).toMatch(/verified counts: all 30 entries of 3 buckets are in the target/)
      expect(migrated.out).toMatch(
        /bucket bucket-0: source 10, target 0: every key found when read, though the target lists fewer/,
      )
      // A fresh index (the first target refreshed its index when it closed), with values compared.
      const other = await ws.file('values.yml', config('kv-lagging-values'))
      const json = await ws.kv([
        '--json',
        '--no-progress',
        '--config',
        other,
        'migrate',
        '--from',
        'simple_kv',
        '--to',
        'elastic',
        '--verify-values',
      ])
      expect(json.code, json.stderr).toBe(0)
      const { verification } = JSON.parse(json.out)
      expect(verification).toMatchObject({ mode: 'values', ok: true })
      expect(verification.buckets).toContainEqual({
        bucket: 'bucket-1',
        source: 10,
        target: 0,
        missing: 0,
        different: 0,
      })
    } finally {
      await standin.close()
    }
  })

  it('migrate exits 7 naming the keys missing when the target acknowledged writes it did not keep', async () => {
    const { startStandin } = await import('@kv/es-standin')
    const standin = await startStandin()
    const proxy = await startFaultProxy(standin.url)
    try {
      ws = await workspace(
        `data_dir: ./data\nelastic:\n  endpoint: ${proxy.url}\n  index_name: kv-lost\n`,
      )
      const seed = await ws.file('seed.ndjson', exportFile(generated(30, 3)))
      expect((await ws.kv(['--backend', 'simple_kv', 'import', seed])).code).toBe(0)
      proxy.dropWrites = true
      const migrated = await ws.kv(['migrate', '--from', 'simple_kv', '--to', 'elastic'])
      expect(migrated.code, migrated.stderr).toBe(7)
      expect(migrated.out).toMatch(/copied 30 entries in 3 buckets/)
      expect(migrated.out).toMatch(/verification FAILED \(counts\) in 3 buckets/)
      expect(migrated.out).toMatch(/bucket bucket-0: source 10, target 0: 10 keys missing/)
      expect(migrated.stderr).toMatch(
        /kv: migrate: the target does not hold every entry of the source \(see above\)/,
      )
      const json = await ws.kv([
        '--json',
        '--no-progress',
        'migrate',
        '--from',
        'simple_kv',
        '--to',
        'elastic',
        '--verify-values',
      ])
      expect(json.code, json.stderr).toBe(7)
      const { verification } = JSON.parse(json.out)
      expect(verification).toMatchObject({ mode: 'values', ok: false })
      expect(verification.buckets).toContainEqual({
        bucket: 'bucket-2',
        source: 10,
        target: 0,
        missing: 10,
        different: 0,
      })
      expect(JSON.parse(json.stderr).error).toMatchObject({ exitCode: 7 })
    } finally {
      await proxy.close()
      await standin.close()
    }
  })

  it('migrate says re-running will not help when the target cannot store an entry (KV_NOT_SUPPORTED, exit 5)', async () => {
    const { startStandin } = await import('@kv/es-standin')
    const standin = await startStandin()
    try {
      ws = await workspace(
        `data_dir: ./data\nelastic:\n  endpoint: ${standin.url}\n  index_name: kv-infini\n  id_scheme: infini\n`,
      )
      // Under id_scheme: infini, bucket "a" key "b_c" and bucket "a_b" key "c" get one id.
      const seed = await ws.file(
        'seed.ndjson',
        exportFile([
          { b: 'a', k: Buffer.from('b_c'), v: Buffer.from('one') },
          { b: 'a_b', k: Buffer.from('c'), v: Buffer.from('two') },
        ]),
      )
      expect((await ws.kv(['--backend', 'simple_kv', 'import', seed])).code).toBe(0)
      for (let run = 0; run < 2; run++) {
        const migrated = await migrateToElastic(ws)
        expect(migrated.code, migrated.stderr).toBe(5)
        expect(migrated.stderr).toMatch(
          /^kv: migrate failed on bucket "a_b" key "c": .*; 1 entry was copied before it stopped; re-running fails the same way: the target, as configured, cannot store this entry\. .* \[KV_NOT_SUPPORTED\]\n$/,
        )
        expect(migrated.stderr).not.toMatch(/to resume/)
      }
    } finally {
      await standin.close()
    }
  })

  it("migrate does not claim a failed part wrote none of its entries: elastic's addValues is not atomic", async () => {
    // A cluster whose http.max_content_length (64 KiB) is below the store's (the default 100mb):
    // the part of 10 entries goes out as one _bulk request, refused (413) as too large, then in
    // halves, which the cluster takes except the one holding k005's 100 KiB value alone. So 9 of
    // the part's entries are written, and its addValues fails.
    const { startStandin } = await import('@kv/es-standin')
    const standin = await startStandin({ maxContentLength: 64 * 1024 })
    try {
      ws = await workspace(
        `data_dir: ./data\nelastic:\n  endpoint: ${standin.url}\n  index_name: kv-parts\n  refresh: true\n`,
      )
      const seed = await ws.file(
        'seed.ndjson',
        exportFile(
          Array.from({ length: 10 }, (_, i) => ({
            b: 'p',
            k: Buffer.from(`k00${i}`),
            v: Buffer.alloc(i === 5 ? 100 * 1024 : 100, i),
          })),
        ),
      )
      expect((await ws.kv(['--backend', 'simple_kv', 'import', seed])).code).toBe(0)
      const migrated = await migrateToElastic(ws)
      expect(migrated.code, migrated.stderr).toBe(4)
      expect(migrated.stderr).toMatch(
        /^kv: migrate failed on bucket "p" keys "k000" to "k009" \(10 entries written together with one addValues\): .*; 0 entries of other parts were copied before it stopped, and some of this part's 10 entries may have been written too \(elastic's addValues is not atomic: a failed entry fails the call while its other entries may be written\); re-running fails the same way/,
      )
      expect(migrated.stderr).not.toMatch(/0 entries were copied|none of this part's/)
      // As the message allows: the part's other entries are in the target.
      for (const [key, code] of [
        ['k000', 0],
        ['k009', 0],
        ['k005', 3],
      ] as const) {
        expect((await ws.kv(['--backend', 'elastic', 'exists', 'p', key])).code, key).toBe(code)
      }
      // @kv/elastic reports a write refused alone with 413 as KV_INVALID_CONFIG (its
      // max_content_length is above the cluster's), naming the key: the advice is to fix that.
      expect(migrated.stderr).toMatch(/key "k005"/)
      expect(migrated.stderr).toMatch(/\[KV_INVALID_CONFIG\]\n$/)
      expect(migrated.stderr).toMatch(
        /re-running fails the same way until the configuration is fixed: fix the setting the message names/,
      )
      expect(migrated.stderr).not.toMatch(/Remove or shrink/)
    } finally {
      await standin.close()
    }
  })

  it('import names the line whose write failed and the kv error code (a read-only user)', async () => {
    const { startStandin } = await import('@kv/es-standin')
    const standin = await startStandin({
      auth: {
        users: {
          admin: { password: 'admin-pw' },
          reader: { password: 'reader-pw', readOnly: true },
        },
      },
    })
    try {
      const config = (user: string) =>
        `elastic:\n  endpoint: ${standin.url}\n  index_name: kv-readonly\n  username: ${user}\n  password: ${user}-pw\n`
      ws = await workspace(`data_dir: ./data\n${config('admin')}`)
      // The index exists (created by a user who may write), so the read-only user can open it.
      expect((await ws.kv(['--backend', 'elastic', 'put', 'b', 'k', 'v'])).code).toBe(0)
      const reader = await ws.file('reader.yml', config('reader'))
      const file = await ws.file(
        'one.ndjson',
        exportFile([{ b: 'b', k: Buffer.from('new'), v: Buffer.from('value') }]),
      )
      const imported = await ws.kv([
        '--backend',
        'elastic',
        '--config',
        reader,
        '--no-progress',
        'import',
        file,
      ])
      expect(imported.code, imported.stderr).toBe(5)
      expect(imported.stderr).toMatch(
        /^kv: cannot import .*one\.ndjson: writing the entry of line 2 failed: .* \[KV_AUTH_FAILED\]\n$/,
      )
      expect((await ws.kv(['--backend', 'elastic', 'exists', 'b', 'new'])).code).toBe(3)
    } finally {
      await standin.close()
    }
  })
})

describe.skipIf(!built)('migrate from elastic to elastic', () => {
  let standin: Standin
  let ws: Workspace

  beforeAll(async () => {
    const { startStandin } = await import('@kv/es-standin')
    standin = await startStandin()
    ws = await workspace()
  })
  afterAll(async () => {
    await ws?.cleanup()
    await standin?.close()
  })

  it('refuses two configuration files that name one index on one cluster (exit 2), contacting no cluster', async () => {
    const here = standin.url // http://127.0.0.1:<port>
    // A side the check let through would try its cluster: fail fast there instead of hanging.
    const quick = '  request_timeout_ms: 2000\n  max_retries: 0\n'
    const section = (keys: string) => `elastic:\n${keys}${quick}`
    const cases: { name: string; from: string; to: string; location: string }[] = [
      {
        name: 'one URL, the default index',
        from: section(`  endpoint: ${here}\n`),
        to: section(`  endpoint: ${here}\n`),
        location: `index "kv" at ${here}`,
      },
      {
        // Credentials and case in one URL, the index named on one side only, one node shared.
        name: 'a node in common',
        from: section(
          `  endpoint: ${here.replace('http:', 'HTTP:').replace('//', '//kv:secret@')}/\n  index_name: kv\n`,
        ),
        to: section(`  endpoints: [http://other.invalid:9200, ${here}]\n`),
        location: `index "kv" at ${here}`,
      },
      {
        name: "the scheme's default port, host case",
        from: section('  endpoint: https://ES.example.invalid:443/\n  index_name: kv-shared\n'),
        to: section('  endpoint: https://es.example.invalid\n  index_name: kv-shared\n'),
        location: 'index "kv-shared" at https://es.example.invalid',
      },
      {
        name: 'a path prefix with and without its trailing slash',
        from: section('  endpoint: http://127.0.0.1:80/es/\n'),
        to: section('  endpoint: http://127.0.0.1/es\n'),
        location: 'index "kv" at http://127.0.0.1/es',
      },
      {
        // No elastic section: the backend's defaults, http://localhost:9200 and index kv.
        name: 'the defaults',
        from: 'data_dir: ./data\n',
        to: section('  endpoint: http://LOCALHOST:9200/\n  index_name: kv\n'),
        location: 'index "kv" at http://localhost:9200',
      },
    ]
    standin.resetCounts()
    for (const { name, from, to, location } of cases) {
      const a = await ws.file('a.yml', from)
      const b = await ws.file('b.yml', to)
      // Both sides from their own file, and the source from the configuration in force.
      for (const fromSide of [
        ['--from-config', a],
        ['--config', a],
      ]) {
        const same = await ws.kv([
          ...(fromSide[0] === '--config' ? fromSide : []),
          'migrate',
          '--from',
          'elastic',
          '--to',
          'elastic',
          ...(fromSide[0] === '--config' ? [] : fromSide),
          '--to-config',
          b,
        ])
        expect(same.code, `${name} ${fromSide[0]}: ${same.stderr}`).toBe(2)
        expect(same.stderr).toBe(
          `kv: --from and --to are the same store (elastic ${location}, configured by ${a} for --from and by ${b} for --to); to migrate between two elastic stores, give one of them another index_name or cluster with --from-config or --to-config\n`,
        )
      }
    }
    expect(standin.counts().total).toBe(0)
  })

  it('leaves a section elastic refuses to the store (a typo is exit 4, not the default index), and names the one file both sides take', async () => {
    const quick = '  request_timeout_ms: 2000\n  max_retries: 0\n'
    const good = await ws.file('good.yml', `elastic:\n  endpoint: ${standin.url}\n${quick}`)
    // index_nme: a typo of index_name. Read as the default index it would be "the same store".
    const typo = await ws.file(
      'typo.yml',
      `elastic:\n  endpoint: ${standin.url}\n  index_nme: kv-new\n${quick}`,
    )
    const migrate = ['migrate', '--from', 'elastic', '--to', 'elastic']
    const typoSide = await ws.kv([...migrate, '--from-config', good, '--to-config', typo])
    expect(typoSide.code, typoSide.stderr).toBe(4)
    expect(typoSide.stderr).toContain('index_nme')
    expect(typoSide.stderr).not.toContain('same store')
    // Both sides from that one file: one store whatever it says, named by its file.
    const oneFile = await ws.kv(['--config', typo, ...migrate])
    expect(oneFile.code, oneFile.stderr).toBe(2)
    expect(oneFile.stderr).toBe(
      `kv: --from and --to are the same store (elastic configured by ${typo}); to migrate between two elastic stores, give one of them another index_name or cluster with --from-config or --to-config\n`,
    )
  })

  it('migrates to another index of the same cluster, and to the same index name on another cluster', async () => {
    const { startStandin } = await import('@kv/es-standin')
    const other = await startStandin()
    try {
      const config = (endpoint: string, index: string) =>
        `data_dir: ./data\nelastic:\n  endpoint: ${endpoint}\n  index_name: ${index}\n  refresh: true\n`
      const source = await ws.file('source.yml', config(standin.url, 'kv-source'))
      const seed = await ws.file('seed.ndjson', exportFile(generated(30, 3)))
      const imported = await ws.kv(['--config', source, '--backend', 'elastic', 'import', seed])
      expect(imported.code, imported.stderr).toBe(0)
      const targets = {
        // The same cluster, spelt otherwise, so that only the index tells the stores apart.
        'another index': config(`${standin.url}/`, 'kv-target'),
        'another cluster': config(other.url, 'kv-source'),
      }
      for (const [name, text] of Object.entries(targets)) {
        const target = await ws.file('target.yml', text)
        const migrated = await ws.kv([
          '--no-progress',
          'migrate',
          '--from',
          'elastic',
          '--to',
          'elastic',
          '--from-config',
          source,
          '--to-config',
          target,
        ])
        expect(migrated.code, `${name}: ${migrated.stderr}`).toBe(0)
        expect(migrated.out).toMatch(/copied 30 entries in 3 buckets from elastic to elastic/)
        expect(migrated.out).toMatch(
          /verified counts: all 30 entries of 3 buckets are in the target/,
        )
      }
      expect(other.cluster.indices.has('kv-source')).toBe(true)
    } finally {
      await other.close()
    }
  })
})
