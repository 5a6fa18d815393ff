/**
 * migrate between real stores: a full copy with verification, re-runs, another configuration,
 * and an interruption with SIGINT followed by a re-run that finishes the job.
 */
import { mkdir, readdir, readFile, symlink } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  ALL_BYTES,
  exportFile,
  finish,
  generated,
  start,
  type Workspace,
  workspace,
} from './helpers.js'

/** The entry lines of an export file, sorted (the header carries a date and the source). */
async function entryLines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).trimEnd().split('\n').slice(1, -1).sort()
}

async function entries(ws: Workspace, backend: string, config?: string): Promise<number> {
  const args = [
    '--backend',
    backend,
    'stats',
    '--json',
    ...(config === undefined ? [] : ['--config', config]),
  ]
  const stats = await ws.kv(args)
  expect(stats.code, stats.stderr).toBe(0)
  return JSON.parse(stats.out).entries
}

describe('kv migrate', () => {
  let ws: Workspace
  beforeEach(async () => {
    ws = await workspace()
  })
  afterEach(async () => {
    await ws.cleanup()
  })

  async function seed(backend: string, n: number, config?: string): Promise<void> {
    const seedEntries = [
      { b: 'bin', k: ALL_BYTES, v: Buffer.concat([ALL_BYTES, ALL_BYTES]) },
      { b: 'bin', k: Buffer.from([0]), v: Buffer.alloc(0) },
      { b: 'a,b', k: Buffer.from('c'), v: Buffer.from('x') },
      { b: 'a', k: Buffer.from('b,c'), v: Buffer.from('y') },
      ...generated(n - 4, 3),
    ]
    const file = await ws.file('seed.ndjson', exportFile(seedEntries))
    const args = [
      '--backend',
      backend,
      'import',
      file,
      ...(config === undefined ? [] : ['--config', config]),
    ]
    const imported = await ws.kv(args)
    expect(imported.code, imported.stderr).toBe(0)
  }

  it('copies every bucket from simple_kv to badger, byte-identical, and verifies the counts', async () => {
    await seed('simple_kv', 3000)
    const migrated = await ws.kv(['migrate', '--from', 'simple_kv', '--to', 'badger'])
    expect(migrated.code, migrated.stderr).toBe(0)
    expect(migrated.out).toMatch(/copied 3,000 entries in 6 buckets from simple_kv to badger/)
    expect(migrated.out).toMatch(
      /verified counts: all 3,000 entries of 6 buckets are in the target/,
    )
    // Plain progress lines on stderr (it is not a terminal here).
    expect(migrated.stderr).toMatch(/kv migrate: 3,000\/3,000 entries \(100%\)/)
    await ws.kv(['--backend', 'simple_kv', 'export', 'from.ndjson'])
    await ws.kv(['--backend', 'badger', 'export', 'to.ndjson'])
    expect(await entryLines(`${ws.dir}/to.ndjson`)).toEqual(
      await entryLines(`${ws.dir}/from.ndjson`),
    )
  })

  it('is idempotent when re-run, compares values with --verify-values, and reports JSON', async () => {
    await seed('simple_kv', 500)
    expect((await ws.kv(['migrate', '--from', 'simple_kv', '--to', 'badger'])).code).toBe(0)
    const again = await ws.kv([
      '--json',
      'migrate',
      '--from',
      'simple',
      '--to',
      'badger',
      '--verify-values',
    ])
    expect(again.code, again.stderr).toBe(0)
    const summary = JSON.parse(again.out)
    expect(summary).toMatchObject({ from: 'simple_kv', to: 'badger', copied: 500, buckets: 6 })
    expect(summary.verification).toMatchObject({ mode: 'values', ok: true })
    expect(summary.verification.buckets).toContainEqual({
      bucket: 'bin',
      source: 2,
      target: 2,
      missing: 0,
      different: 0,
    })
    expect(await entries(ws, 'badger')).toBe(500)
  })

  it('says so when the target already held other keys, without failing', async () => {
    await seed('badger', 10)
    await ws.kv(['--backend', 'badger', 'put', 'bin', 'extra', 'was here before'])
    const migrated = await ws.kv(['migrate', '--from', 'badger', '--to', 'simple_kv'])
    expect(migrated.code, migrated.stderr).toBe(0)
    await ws.kv(['--backend', 'badger', 'put', 'bin', 'extra2', 'after'])
    await ws.kv(['--backend', 'simple_kv', 'put', 'a', 'only-in-target', 'x'])
    const again = await ws.kv(['migrate', '--from', 'badger', '--to', 'simple_kv'])
    expect(again.code, again.stderr).toBe(0)
    expect(again.out).toMatch(
      /bucket a: source 1, target 2: 1 key in the target that the source does not have/,
    )
  })

  /**
   * A target that acknowledges writes it does not keep: badger, with a preload that drops the
   * key `k2` from every write (one lost write).
   */
  async function lossyTarget(): Promise<Record<string, string>> {
    const badger = new URL('../node_modules/@kv/badger/dist/index.js', import.meta.url).href
    const preload = await ws.file(
      'drop-k2.mjs',
      `import { BadgerKV } from ${JSON.stringify(badger)}
const keep = (key) => Buffer.from(key).toString() !== 'k2'
const { addValue, addValues } = BadgerKV.prototype
BadgerKV.prototype.addValue = function (bucket, key, value) {
  return keep(key) ? addValue.call(this, bucket, key, value) : Promise.resolve()
}
BadgerKV.prototype.addValues = function (bucket, entries) {
  return addValues.call(this, bucket, [...entries].filter(([key]) => keep(key)))
}
`,
    )
    return { NODE_OPTIONS: `--import ${preload}` }
  }

  const dist = (name: string) =>
    new URL(`../node_modules/@kv/${name}/dist/index.js`, import.meta.url).href

  /** Seeds bucket `b` of simple_kv with values of `sizes` bytes, keys k000, k001, … in order. */
  async function seedSizes(b: string, sizes: number[]): Promise<void> {
    const file = await ws.file(
      `${b}.ndjson`,
      exportFile(
        sizes.map((size, i) => ({
          b,
          k: Buffer.from(`k${String(i).padStart(3, '0')}`),
          v: Buffer.alloc(size, i),
        })),
      ),
    )
    const seeded = await ws.kv(['--backend', 'simple_kv', '--no-progress', 'import', file])
    expect(seeded.code, seeded.stderr).toBe(0)
  }

  /**
   * Migrates simple_kv to badger (`args` added) with a preload that watches the copy: returns
   * its result and, at their most, the value bytes read from the source and not yet written to
   * the target (`held`) and the source reads in flight at once (`reads`).
   */
  async function watchedCopy(args: string[]) {
    const preload = await ws.file(
      'watch.mjs',
      `import { writeFileSync } from 'node:fs'
import { BadgerKV } from ${JSON.stringify(dist('badger'))}
import { SimpleKV } from ${JSON.stringify(dist('simple'))}
let held = 0
let reads = 0
const most = { held: 0, reads: 0 }
const { getValue } = SimpleKV.prototype
SimpleKV.prototype.getValue = async function (bucket, key) {
  most.reads = Math.max(most.reads, ++reads)
  const value = await getValue.call(this, bucket, key)
  reads--
  if (value !== null) most.held = Math.max(most.held, (held += value.length))
  return value
}
const { addValue, addValues } = BadgerKV.prototype
BadgerKV.prototype.addValue = async function (bucket, key, value) {
  await addValue.call(this, bucket, key, value)
  held -= value.length
}
BadgerKV.prototype.addValues = async function (bucket, entries) {
  const list = [...entries]
  await addValues.call(this, bucket, list)
  for (const [, value] of list) held -= value.length
}
process.on('exit', () => writeFileSync(${JSON.stringify(join(ws.dir, 'watch.json'))}, JSON.stringify(most)))
`,
    )
    // Without the verification, whose reads of the source would count as held.
    const result = await ws.kv(
      ['--no-progress', 'migrate', '--from', 'simple_kv', '--to', 'badger', '--no-verify', ...args],
      { env: { NODE_OPTIONS: `--import ${preload}` } },
    )
    expect(result.code, result.stderr).toBe(0)
    const most: { held: number; reads: number } = JSON.parse(
      await readFile(join(ws.dir, 'watch.json'), 'utf8'),
    )
    return { result, ...most }
  }

  it('holds a bounded share of value bytes per batch, however large the values (64 MiB over the batches in flight)', async () => {
    // 40 values of 1 MiB in one bucket: one batch of 40 keys. Read whole, it held 40 MiB; with
    // 4 batches in flight, a batch holds at most its 16 MiB share of the budget.
    const mib = 1024 * 1024
    await seedSizes('big', Array(40).fill(mib))
    const { result, held } = await watchedCopy([])
    expect(result.out).toMatch(/copied 40 entries in 1 bucket/)
    expect(held).toBeGreaterThanOrEqual(mib)
    expect(held).toBeLessThanOrEqual(16 * mib)
    // Written in parts, the batch is still copied whole.
    const args = ['--no-progress', 'migrate', '--from', 'simple_kv', '--to', 'badger']
    const verified = await ws.kv([...args, '--verify-values'])
    expect(verified.code, verified.stderr).toBe(0)
    expect(verified.out).toMatch(/verified counts and values: all 40 entries of 1 bucket/)
  })

  it('holds at most 16 values beyond its share when values suddenly grow within a batch', async () => {
    // 300 values of 100 bytes, then 40 of 256 KiB, in one batch; --concurrency 64 makes the
    // share 1 MiB. Sized by the small values, the reads had doubled to 256 at once: that group
    // took every large value (10 MiB). At most 16 reads at once: 1 MiB + 16 × 256 KiB.
    const kib = 1024
    await seedSizes('mix', [...Array(300).fill(100), ...Array(40).fill(256 * kib)])
    const { result, held, reads } = await watchedCopy(['--concurrency', '64'])
    expect(result.out).toMatch(/copied 340 entries in 1 bucket/)
    expect(held).toBeGreaterThanOrEqual(256 * kib)
    expect(held).toBeLessThanOrEqual(1024 * kib + 16 * 256 * kib)
    expect(reads).toBeLessThanOrEqual(16)
  })

  it('reads a bucket of empty values several at a time, not one by one', async () => {
    // Sized at 0 bytes, empty values left room for one read at a time, for the whole batch.
    await seedSizes('empty', Array(200).fill(0))
    const { result, held, reads } = await watchedCopy(['--concurrency', '1'])
    expect(result.out).toMatch(/copied 200 entries in 1 bucket/)
    expect(held).toBe(0)
    expect(reads).toBeGreaterThan(1)
    expect(reads).toBeLessThanOrEqual(16)
  })

  it('looks keys up 64 at a time in the default verification, not --concurrency (4) at a time', async () => {
    await seedSizes('b', Array(200).fill(1))
    // Lookups in the target in flight at once, at their most; each takes 10 ms, so that they
    // overlap whatever the machine's speed.
    const preload = await ws.file(
      'lookups.mjs',
      `import { writeFileSync } from 'node:fs'
import { BadgerKV } from ${JSON.stringify(dist('badger'))}
let lookups = 0
let most = 0
const { existsKey } = BadgerKV.prototype
BadgerKV.prototype.existsKey = async function (bucket, key) {
  most = Math.max(most, ++lookups)
  await new Promise((resolve) => setTimeout(resolve, 10))
  try {
    return await existsKey.call(this, bucket, key)
  } finally {
    lookups--
  }
}
process.on('exit', () => writeFileSync(${JSON.stringify(join(ws.dir, 'lookups.txt'))}, String(most)))
`,
    )
    const migrated = await ws.kv(
      ['--no-progress', 'migrate', '--from', 'simple_kv', '--to', 'badger'],
      { env: { NODE_OPTIONS: `--import ${preload}` } },
    )
    expect(migrated.code, migrated.stderr).toBe(0)
    expect(migrated.out).toMatch(/verified counts: all 200 entries of 1 bucket are in the target/)
    const most = Number(await readFile(join(ws.dir, 'lookups.txt'), 'utf8'))
    expect(most).toBeGreaterThan(4)
    expect(most).toBeLessThanOrEqual(64)
  })

  it("names the keys of a batch's failed part (one addValues), leaving its earlier parts written", async () => {
    // 12 values of 256 KiB, one batch; --concurrency 64 makes its share 1 MiB, so it is written
    // in parts of 4: k000-k003, then k004-k007, which the target refuses.
    await seedSizes('p', Array(12).fill(256 * 1024))
    const preload = await ws.file(
      'refuse.mjs',
      `import { BackendUnavailableError } from ${JSON.stringify(dist('core'))}
import { BadgerKV } from ${JSON.stringify(dist('badger'))}
const { addValues } = BadgerKV.prototype
BadgerKV.prototype.addValues = function (bucket, entries) {
  const list = [...entries]
  if (list.some(([key]) => Buffer.from(key).toString() === 'k005'))
    return Promise.reject(new BackendUnavailableError('the target went away'))
  return addValues.call(this, bucket, list)
}
`,
    )
    const args = ['--no-progress', 'migrate', '--from', 'simple_kv', '--to', 'badger']
    const migrated = await ws.kv([...args, '--concurrency', '64'], {
      env: { NODE_OPTIONS: `--import ${preload}` },
    })
    expect(migrated.stderr).toMatch(
      /^kv: migrate failed on bucket "p" keys "k004" to "k007" \(4 entries written together with one addValues\): the target went away; 4 entries were copied before it stopped, none of this part's \(badger's addValues writes all of its entries or none\); run the command again to resume/,
    )
    expect(migrated.code).not.toBe(0)
    for (const [key, code] of [
      ['k003', 0],
      ['k004', 3],
    ] as const) {
      expect((await ws.kv(['--backend', 'badger', 'exists', 'p', key])).code, key).toBe(code)
    }
    // Re-running completes the copy over the parts already written.
    const again = await ws.kv(args)
    expect(again.code, again.stderr).toBe(0)
    expect(again.out).toMatch(/verified counts: all 12 entries of 1 bucket are in the target/)
  })

  it.each([
    [
      'KV_INVALID_ARGUMENT',
      "new InvalidArgumentError('value', 'the target refuses the value of k005')",
      /; re-running fails the same way: the target refuses an entry of this part \(the message says which or why\)\. Remove or shrink it in the source/,
    ],
    [
      'KV_INVALID_CONFIG',
      "new InvalidConfigError('the target server refuses requests this large: set its limit')",
      /; re-running fails the same way until the configuration is fixed: fix the setting the message names \(of the store, or of its server\), then run the command again/,
    ],
  ])(
    'says what to change when the target refuses a part with %s: an entry of it, or the configuration',
    async (code, error, advice) => {
      // 12 values of 256 KiB in parts of 4 (as above); the part k004-k007 is refused.
      await seedSizes('p', Array(12).fill(256 * 1024))
      const preload = await ws.file(
        'refuse.mjs',
        `import { InvalidArgumentError, InvalidConfigError } from ${JSON.stringify(dist('core'))}
import { BadgerKV } from ${JSON.stringify(dist('badger'))}
const { addValues } = BadgerKV.prototype
BadgerKV.prototype.addValues = function (bucket, entries) {
  const list = [...entries]
  if (list.some(([key]) => Buffer.from(key).toString() === 'k005')) return Promise.reject(${error})
  return addValues.call(this, bucket, list)
}
`,
      )
      const args = ['--no-progress', 'migrate', '--from', 'simple_kv', '--to', 'badger']
      const migrated = await ws.kv([...args, '--concurrency', '64'], {
        env: { NODE_OPTIONS: `--import ${preload}` },
      })
      expect(migrated.code, migrated.stderr).toBe(4)
      expect(migrated.stderr).toMatch(
        /^kv: migrate failed on bucket "p" keys "k004" to "k007" \(4 entries written together with one addValues\): .*; 4 entries were copied before it stopped, none of this part's \(badger's addValues writes all of its entries or none\); /,
      )
      expect(migrated.stderr).toMatch(advice)
      expect(migrated.stderr).toMatch(new RegExp(`\\[${code}\\]\n$`))
      expect(migrated.stderr).not.toMatch(/refuses this entry|to resume/)
      if (code === 'KV_INVALID_CONFIG') expect(migrated.stderr).not.toMatch(/Remove or shrink/)
    },
  )

  it.each([
    ['more keys than the source', ['old1', 'old2'], 4, 2],
    ['as many keys as the source', ['old1'], 3, 1],
  ])(
    'finds a key missing from a target that lists %s (exit 7), naming the keys that were there before',
    async (_name, before, listed, extra) => {
      for (const key of ['k1', 'k2', 'k3']) {
        expect((await ws.kv(['--backend', 'simple_kv', 'put', 'b', key, 'v'])).code).toBe(0)
      }
      for (const key of before) {
        expect((await ws.kv(['--backend', 'badger', 'put', 'b', key, 'x'])).code).toBe(0)
      }
      const env = await lossyTarget()
      const args = ['--no-progress', 'migrate', '--from', 'simple_kv', '--to', 'badger']
      const migrated = await ws.kv(args, { env })
      expect(migrated.code, migrated.stderr).toBe(7)
      expect(migrated.out).toMatch(/verification FAILED \(counts\) in 1 bucket/)
      expect(migrated.out).toContain(
        `bucket b: source 3, target ${listed}: 1 key missing, ${extra} ${extra === 1 ? 'key' : 'keys'} in the target that the source does not have`,
      )
      const json = await ws.kv(['--json', ...args], { env })
      expect(json.code).toBe(7)
      expect(JSON.parse(json.out).verification).toEqual({
        mode: 'counts',
        ok: false,
        buckets: [{ bucket: 'b', source: 3, target: listed, missing: 1, extra }],
        interrupted: false,
      })
      expect((await ws.kv(['--backend', 'badger', 'exists', 'b', 'k2'])).code).toBe(3)
    },
  )

  it('migrates between two simple_kv stores with --to-config', async () => {
    await seed('simple_kv', 200)
    const other = await ws.file('other.yml', 'data_dir: ./other-data\n')
    const migrated = await ws.kv([
      'migrate',
      '--from',
      'simple_kv',
      '--to',
      'simple_kv',
      '--to-config',
      other,
    ])
    expect(migrated.code, migrated.stderr).toBe(0)
    expect(await entries(ws, 'simple_kv', other)).toBe(200)
  })

  it('refuses a --to-config or --from-config file with an unknown top-level key (exit 4), naming it', async () => {
    await seed('simple_kv', 10)
    // A misspelt section would leave badger on its defaults, somewhere else than intended.
    const misspelt = await ws.file('misspelt.yml', 'badgr:\n  path: ./elsewhere\n')
    const to = await ws.kv([
      'migrate',
      '--from',
      'simple_kv',
      '--to',
      'badger',
      '--to-config',
      misspelt,
    ])
    expect(to.code).toBe(4)
    expect(to.stderr).toMatch(
      /unknown key "badgr" \(did you mean "badger"\?\).*\[KV_INVALID_CONFIG\]/,
    )
    expect(await entries(ws, 'badger')).toBe(0)
    const from = await ws.kv([
      '--json',
      'migrate',
      '--from',
      'badger',
      '--to',
      'simple_kv',
      '--from-config',
      misspelt,
    ])
    expect(from.code).toBe(4)
    expect(JSON.parse(from.stderr).error).toMatchObject({ exitCode: 4, code: 'KV_INVALID_CONFIG' })
    expect(JSON.parse(from.stderr).error.message).toMatch(/unknown key "badgr"/)
  })

  it('refuses a --to-config file whose mapping is tagged !!omap or !!set (exit 4), copying nothing', async () => {
    await seed('simple_kv', 10)
    // yaml reads these as a Map or a Set: taken as an empty mapping, badger would silently get
    // its default path instead of ./elsewhere.
    for (const [name, yaml] of [
      ['omap.yml', '--- !!omap\n- badger: { path: ./elsewhere }\n'],
      ['omap-section.yml', 'badger: !!omap\n  - path: ./elsewhere\n'],
      ['set-section.yml', 'badger: !!set\n  ? path\n'],
    ]) {
      const tagged = await ws.file(name!, yaml!)
      const to = await ws.kv([
        'migrate',
        '--from',
        'simple_kv',
        '--to',
        'badger',
        '--to-config',
        tagged,
      ])
      expect(to.code, `${name}: ${to.stderr}`).toBe(4)
      expect(to.stderr).toMatch(/must be a mapping|expected a mapping/)
    }
    expect(await entries(ws, 'badger')).toBe(0)
  })

  it('names the entry over the target value limit (a binary key in base64), the count copied, and that re-running will not help (exit 4)', async () => {
    await ws.file('kv.yml', 'data_dir: ./data\nbadger:\n  max_value_bytes: 100\n')
    // 1,500 keys of 100-byte values, then (last in key order) a binary key with 101 bytes: the
    // first batch of 1,000 is written, the second is refused before any of it is written.
    const big = { b: 'bucket-0', k: Buffer.from([0xff, 0x01]), v: Buffer.alloc(101, 7) }
    const file = await ws.file('seed.ndjson', exportFile([...generated(1500, 1), big]))
    expect((await ws.kv(['--backend', 'simple_kv', 'import', file])).code).toBe(0)
    const args = ['--no-progress', 'migrate', '--from', 'simple_kv', '--to', 'badger']
    for (let run = 0; run < 2; run++) {
      const migrated = await ws.kv(args)
      expect(migrated.code, migrated.stderr).toBe(4)
      expect(migrated.stderr).toMatch(
        /^kv: migrate failed on bucket "bucket-0" key "\/wE=" \(base64\): its value is 101 bytes, over the badger target's limit of 100 bytes; 1,000 entries were copied before it stopped; re-running fails the same way: the target refuses this entry\. .* \[KV_INVALID_ARGUMENT\]\n$/,
      )
      expect(migrated.stderr).not.toMatch(/to resume/)
    }
    expect(await entries(ws, 'badger')).toBe(1000)
    const json = await ws.kv(['--json', ...args])
    expect(JSON.parse(json.stderr).error).toMatchObject({
      exitCode: 4,
      code: 'KV_INVALID_ARGUMENT',
    })
  })

  it('refuses to migrate a store onto itself (exit 2)', async () => {
    const same = await ws.kv(['migrate', '--from', 'badger', '--to', 'badger'])
    expect(same.code).toBe(2)
    expect(same.stderr).toMatch(
      /--from and --to are the same store \(badger at \S+\/data\/badger\)/,
    )
  })

  it('refuses an empty --from-config or --to-config (exit 2): it would stand for the working directory', async () => {
    for (const side of ['--from-config', '--to-config']) {
      const empty = await ws.kv(['migrate', '--from', 'simple_kv', '--to', 'badger', side, ''])
      expect(empty.code, side).toBe(2)
      expect(empty.stderr).toContain(`${side} needs the path of a file, not an empty string`)
    }
  })

  it('refuses a --to-config or --from-config that names the directory of the other side (exit 2), opening neither', async () => {
    await mkdir(join(ws.dir, 'data'))
    await symlink(join(ws.dir, 'data'), join(ws.dir, 'link'))
    const configs = {
      // The same directory, spelt as a path, as a data_dir, and through a symbolic link.
      'path.yml': 'simple_kv:\n  path: ./data/simple_kv\nbadger:\n  path: ./data/badger\n',
      'data-dir.yml': 'data_dir: ./data\n',
      'link.yml': 'data_dir: ./link\n',
    }
    for (const [name, text] of Object.entries(configs)) {
      const file = await ws.file(name, text)
      for (const backend of ['simple_kv', 'badger']) {
        for (const side of ['--to-config', '--from-config']) {
          const same = await ws.kv(['migrate', '--from', backend, '--to', backend, side, file])
          expect(same.code, `${name} ${backend} ${side}: ${same.stderr}`).toBe(2)
          expect(same.stderr).toMatch(
            new RegExp(
              `--from and --to are the same store \\(${backend} at \\S+/data/${backend}\\)`,
            ),
          )
        }
      }
    }
    // Nothing was opened: opening creates the store's directory.
    expect(await readdir(join(ws.dir, 'data'))).toEqual([])
  })

  it('stops cleanly on SIGINT (exit 130), and a re-run finishes and verifies', async () => {
    const total = 20_000
    // Every write of the target is made durable on its own (sync_writes, one entry per write, one
    // write in flight), so the copy takes long enough to be interrupted half-way.
    await ws.file('kv.yml', 'data_dir: ./data\nbadger:\n  sync_writes: true\n')
    await seed('simple_kv', total)
    const args = ['migrate', '--from', 'simple_kv', '--to', 'badger']
    const child = start(ws.dir, [...args, '--batch', '1', '--concurrency', '1'], {
      env: { KV_PROGRESS_INTERVAL_MS: '100' },
    })
    const result = finish(child)
    await new Promise<void>((resolve, reject) => {
      let seen = ''
      let sent = false
      child.stderr!.on('data', (chunk: Buffer) => {
        seen += chunk.toString()
        // A progress line with some entries copied, not all; one signal only (a second forces).
        if (!sent && /kv migrate: [1-9][\d,]*\/20,000 entries/.test(seen)) {
          sent = true
          child.kill('SIGINT')
          resolve()
        }
      })
      child.on('exit', () => {
        if (!sent) reject(new Error(`migrate ended before it was interrupted:\n${seen}`))
      })
    })
    const interrupted = await result
    expect(interrupted.code, interrupted.stderr).toBe(130)
    expect(interrupted.stderr).toMatch(/stopping; finishing the writes in flight/)
    const stopped =
      /interrupted: copied ([\d,]+) of 20,000 entries; run the same command again to finish/.exec(
        interrupted.stderr,
      )
    expect(stopped, interrupted.stderr).not.toBeNull()
    const reported = Number(stopped![1]!.replaceAll(',', ''))
    expect(reported).toBeGreaterThan(0)
    expect(reported).toBeLessThan(total)
    // The write in flight finished before the message: the target (empty before, distinct keys)
    // holds exactly the entries it names.
    expect(await entries(ws, 'badger')).toBe(reported)
    // The badger store was closed cleanly: it opens again at once (no lock left behind).
    const rerun = await ws.kv([...args, '--verify-values'])
    expect(rerun.code, rerun.stderr).toBe(0)
    expect(rerun.out).toMatch(/copied 20,000 entries/)
    expect(rerun.out).toMatch(
      /verified counts and values: all 20,000 entries of 6 buckets are in the target/,
    )
    expect(await entries(ws, 'badger')).toBe(total)
  })
})
