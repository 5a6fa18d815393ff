/**
 * export and import: the portable format, byte-identical round trips between backends, and the
 * validation of every line.
 */
import { readdir, readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ALL_BYTES, BACKENDS, exportFile, generated, type Workspace, workspace } from './helpers.js'

const OTHER: Record<string, string> = { simple_kv: 'badger', badger: 'simple_kv' }

/** Entries that exercise the format: binary keys and values, empty value, odd bucket names. */
function tricky(): { b: string; k: Buffer; v: Buffer }[] {
  return [
    { b: 'bin', k: ALL_BYTES, v: Buffer.concat([ALL_BYTES, ALL_BYTES]) },
    { b: 'bin', k: Buffer.from([0]), v: Buffer.alloc(0) },
    { b: 'bin', k: Buffer.from([0xff, 0xfe]), v: Buffer.from([0xc3, 0x28]) }, // invalid UTF-8
    { b: 'a,b', k: Buffer.from('c'), v: Buffer.from('comma bucket') },
    { b: 'a', k: Buffer.from('b,c'), v: Buffer.from('comma key') },
    { b: 'ünïcødé 🪣', k: Buffer.from('ключ'), v: Buffer.from('значение') },
    { b: 'nl\nbucket', k: Buffer.from('line\nbreak'), v: Buffer.from('\r\n\n') },
    ...generated(500, 2),
  ]
}

/** The entry lines of an export, sorted, without the header (it carries a date and the source). */
async function entryLines(path: string): Promise<string[]> {
  const lines = (await readFile(path, 'utf8')).trimEnd().split('\n')
  return lines.slice(1, -1).sort()
}

describe.each(BACKENDS)('export from %s, import into the other backend', (from) => {
  const to = OTHER[from]!
  let ws: Workspace

  beforeAll(async () => {
    ws = await workspace()
    const seed = await ws.file('seed.ndjson', exportFile(tricky()))
    const imported = await ws.kv(['--backend', from, 'import', seed])
    expect(imported.code, imported.stderr).toBe(0)
    const compressed = await ws.kv([
      '--backend',
      from,
      'put',
      '--compressed',
      'z',
      'doc',
      'lz4 '.repeat(300),
    ])
    expect(compressed.code).toBe(0)
  })
  afterAll(async () => {
    await ws.cleanup()
  })

  it('writes the documented format: header, one line per entry, trailer with the count', async () => {
    const out = await ws.kv(['--backend', from, 'export', 'out.ndjson'])
    expect(out.code, out.stderr).toBe(0)
    expect(out.out).toMatch(/wrote 508 entries from 8 buckets/)
    const lines = (await readFile(`${ws.dir}/out.ndjson`, 'utf8')).split('\n')
    expect(lines.pop()).toBe('')
    const header = JSON.parse(lines[0]!)
    expect(header).toMatchObject({ format: 'kv-export', version: 1, source: from })
    expect(Number.isNaN(Date.parse(header.created))).toBe(false)
    expect(JSON.parse(lines.at(-1)!)).toEqual({ end: true, entries: 508 })
    const first = JSON.parse(lines[1]!)
    expect(Object.keys(first).sort()).toEqual(['b', 'k', 'v'])
    // No partial file is left behind.
    expect((await readdir(ws.dir)).filter((name) => name.includes('partial'))).toEqual([])
  })

  it(`imports into ${to} with byte-identical keys and values`, async () => {
    await ws.kv(['--backend', from, 'export', 'a.ndjson'])
    const imported = await ws.kv(['--backend', to, 'import', 'a.ndjson'])
    expect(imported.code, imported.stderr).toBe(0)
    expect(imported.out).toMatch(/wrote 508 entries/)
    const back = await ws.kv(['--backend', to, 'export', 'b.ndjson'])
    expect(back.code).toBe(0)
    expect(await entryLines(`${ws.dir}/b.ndjson`)).toEqual(await entryLines(`${ws.dir}/a.ndjson`))
    // Spot checks through get: all bytes, the empty value, and the compressed entry.
    const all = await ws.kv(['--backend', to, 'get', '-k', 'hex', 'bin', ALL_BYTES.toString('hex')])
    expect(Buffer.compare(all.stdout, Buffer.concat([ALL_BYTES, ALL_BYTES]))).toBe(0)
    const empty = await ws.kv(['--backend', to, 'get', '-k', 'hex', 'bin', '00'])
    expect([empty.code, empty.stdout.length]).toEqual([0, 0])
    const doc = await ws.kv(['--backend', to, 'get', '--compressed', 'z', 'doc'])
    expect(doc.out).toBe('lz4 '.repeat(300))
  })

  it('streams through stdout and stdin with -', async () => {
    const out = await ws.kv(['--backend', from, 'export', '-', '--bucket', 'bin', 'a,b'])
    expect(out.code, out.stderr).toBe(0)
    expect(out.stderr).toMatch(/wrote 4 entries from 2 buckets of .* to stdout/)
    const lines = out.out.trimEnd().split('\n')
    expect(lines).toHaveLength(6)
    const target = await workspace()
    try {
      const imported = await target.kv(['--backend', to, 'import', '-'], { input: out.stdout })
      expect(imported.code, imported.stderr).toBe(0)
      expect((await target.kv(['--backend', to, 'buckets'])).out).toBe('a,b\nbin\n')
      const value = await target.kv(['--backend', to, 'get', '-k', 'hex', 'bin', 'fffe'])
      expect(value.stdout).toEqual(Buffer.from([0xc3, 0x28]))
    } finally {
      await target.cleanup()
    }
  })

  it('re-running an import is idempotent', async () => {
    await ws.kv(['--backend', from, 'export', 'c.ndjson'])
    const target = await workspace()
    try {
      for (let i = 0; i < 2; i++) {
        const imported = await target.kv(['--backend', to, 'import', `${ws.dir}/c.ndjson`])
        expect(imported.code, imported.stderr).toBe(0)
      }
      const stats = JSON.parse((await target.kv(['--backend', to, 'stats', '--json'])).out)
      expect(stats.entries).toBe(508)
    } finally {
      await target.cleanup()
    }
  })
})

describe('import --dry-run and the configuration', () => {
  it('checks the limit the configuration sets without opening the store', async () => {
    // badger's max_value_bytes is known only from its configuration: the dry run must read it.
    const ws = await workspace('data_dir: ./data\nbadger:\n  max_value_bytes: 4\n')
    try {
      const file = await ws.file(
        'big.ndjson',
        exportFile([{ b: 'b', k: Buffer.from('k'), v: Buffer.from('value') }]),
      )
      const result = await ws.kv(['--backend', 'badger', 'import', '--dry-run', file])
      expect(result.code).toBe(4)
      expect(result.stderr).toMatch(
        /line 2: the value is 5 bytes, over the target store's limit of 4 bytes; nothing was written/,
      )
      expect(await readdir(ws.dir)).not.toContain('data')
    } finally {
      await ws.cleanup()
    }
  })

  it('refuses a line longer than any entry the store takes before reading it whole (exit 4)', async () => {
    // With a 1 KiB value limit no entry line reaches 1.2 MB; the 4 MB line must stop the import.
    const ws = await workspace('data_dir: ./data\nbadger:\n  max_value_bytes: 1024\n')
    try {
      const ok = { b: 'b', k: Buffer.from('k'), v: Buffer.from('v') }
      const lines = exportFile([ok]).split('\n')
      lines.splice(2, 0, `{"b":"b","k":"aw==","v":"${'A'.repeat(4 * 1024 * 1024)}"}`)
      const file = await ws.file('long.ndjson', lines.join('\n'))
      const result = await ws.kv(['--backend', 'badger', '--no-progress', 'import', file])
      expect(result.code).toBe(4)
      expect(result.stderr).toMatch(
        /line 3: longer than \d+ bytes, more than an entry within the store's value limit \(1024 bytes\) takes; 1 entry before it was written/,
      )
    } finally {
      await ws.cleanup()
    }
  })

  it('refuses a backend its configuration disables, as the import would (exit 5)', async () => {
    const ws = await workspace('data_dir: ./data\nsimple_kv:\n  enabled: false\n')
    try {
      const file = await ws.file('ok.ndjson', exportFile([]))
      const result = await ws.kv(['--backend', 'simple_kv', 'import', '--dry-run', file])
      expect(result.code).toBe(5)
      expect(result.stderr).toMatch(/simple_kv backend is disabled.*\[KV_BACKEND_DISABLED\]/)
    } finally {
      await ws.cleanup()
    }
  })
})

describe.each(BACKENDS)('import validation on %s', (backend) => {
  let ws: Workspace
  // Each import goes to its own bucket, so no case sees another's entries.
  let bucket = 'v'
  const good = (i: number): string =>
    JSON.stringify({
      b: bucket,
      k: Buffer.from(`k${i}`).toString('base64'),
      v: Buffer.from(`v${i}`).toString('base64'),
    })
  const header = JSON.stringify({ format: 'kv-export', version: 1 })
  const trailer = (n: number): string => JSON.stringify({ end: true, entries: n })

  beforeAll(async () => {
    ws = await workspace()
  })
  afterAll(async () => {
    await ws.cleanup()
  })

  let imports = 0
  /** Imports the lines `build()` makes (in a fresh bucket); returns the result and the keys then present. */
  async function importLines(build: () => string[]) {
    bucket = `v${++imports}`
    const file = await ws.file(`${bucket}.ndjson`, `${build().join('\n')}\n`)
    const result = await ws.kv(['--backend', backend, 'import', file])
    const keys = (await ws.kv(['--backend', backend, 'ls', bucket])).out.split('\n').filter(Boolean)
    return { result, keys }
  }

  const cases: [string, string, RegExp][] = [
    ['bad JSON', '{"b":"x","k":', /line 4: not valid JSON/],
    ['a missing field', JSON.stringify({ b: 'x', k: 'azk=' }), /line 4: missing field "v"/],
    [
      'bad base64',
      JSON.stringify({ b: 'x', k: 'not base64!', v: 'AA==' }),
      /line 4: field "k" is not valid base64/,
    ],
    [
      'a field of the wrong type',
      JSON.stringify({ b: 'x', k: 'azk=', v: 7 }),
      /line 4: field "v" must be a string/,
    ],
    ['an empty bucket', JSON.stringify({ b: '', k: 'azk=', v: 'AA==' }), /line 4: .*bucket/],
    ['an empty line', '', /line 4: empty line/],
    ['a JSON array', '[1,2]', /line 4: expected a JSON object/],
  ]

  it.each(cases)(
    'stops at %s, naming the line; earlier lines are kept, later ones not written',
    async (_name, bad, message) => {
      const { result, keys } = await importLines(() => [
        header,
        good(1),
        good(2),
        bad,
        good(3),
        trailer(3),
      ])
      expect(result.code).toBe(4)
      expect(result.stderr).toMatch(message)
      expect(result.stderr).toMatch(/2 entries before it were written/)
      expect(keys).toEqual(['k1', 'k2'])
    },
  )

  it('types a bad bucket on an import line as KV_INVALID_ARGUMENT, also under --json', async () => {
    for (const bad of [
      JSON.stringify({ b: '', k: 'azk=', v: 'AA==' }),
      JSON.stringify({ b: 'x'.repeat(256), k: 'azk=', v: 'AA==' }),
    ]) {
      const { result } = await importLines(() => [header, good(1), bad, trailer(2)])
      expect(result.code).toBe(4)
      expect(result.stderr).toMatch(/line 3: bucket must .* \[KV_INVALID_ARGUMENT\]\n$/)
      const file = await ws.file('bad-bucket.ndjson', `${[header, bad, trailer(1)].join('\n')}\n`)
      const json = await ws.kv(['--backend', backend, '--json', '--no-progress', 'import', file])
      expect(json.code).toBe(4)
      expect(JSON.parse(json.stderr).error).toMatchObject({
        message: expect.stringMatching(/^cannot import .*line 2: bucket must/),
        exitCode: 4,
        code: 'KV_INVALID_ARGUMENT',
      })
    }
  })

  it('stops at a line that is not valid UTF-8, naming it; earlier lines are kept, later ones not written', async () => {
    bucket = `v${++imports}`
    // Line 4's bucket is "bad" then the byte FF: not UTF-8, so not a bucket name at all.
    const bad = Buffer.from(`{"b":"bad\xff","k":"azk=","v":"AA=="}`, 'latin1')
    // The trailer counts the bad line: only its bytes are wrong.
    const lines = [header, good(1), good(2), bad, good(3), trailer(4)]
    const file = await ws.file(
      `${bucket}.ndjson`,
      Buffer.concat(lines.flatMap((line) => [Buffer.from(line), Buffer.from('\n')])),
    )
    const result = await ws.kv(['--backend', backend, 'import', file])
    expect(result.code).toBe(4)
    expect(result.stderr).toMatch(/line 4: not valid UTF-8/)
    expect(result.stderr).toMatch(/2 entries before it were written/)
    const keys = (await ws.kv(['--backend', backend, 'ls', bucket])).out.split('\n').filter(Boolean)
    expect(keys).toEqual(['k1', 'k2'])
    const buckets = JSON.parse((await ws.kv(['--backend', backend, '--json', 'buckets'])).out)
    expect(buckets.filter((name: string) => name.startsWith('bad'))).toEqual([])
  })

  it('skips a byte order mark at the start of the file', async () => {
    bucket = `v${++imports}`
    const file = await ws.file(
      `${bucket}.ndjson`,
      `\uFEFF${[header, good(1), trailer(1)].join('\n')}\n`,
    )
    const result = await ws.kv(['--backend', backend, 'import', file])
    expect(result.code, result.stderr).toBe(0)
    expect((await ws.kv(['--backend', backend, 'get', bucket, 'k1'])).out).toBe('v1')
  })

  it('refuses a newer format version on line 1 and writes nothing', async () => {
    const { result, keys } = await importLines(() => [
      JSON.stringify({ format: 'kv-export', version: 2 }),
      good(1),
      trailer(1),
    ])
    expect(result.code).toBe(4)
    expect(result.stderr).toMatch(
      /line 1: the file is in export format version 2, newer than this kv reads \(1\): upgrade @kv\/cli/,
    )
    expect(keys).toEqual([])
  })

  it('refuses a file that is not an export', async () => {
    const { result } = await importLines(() => [good(1), good(2)])
    expect(result.code).toBe(4)
    expect(result.stderr).toMatch(/line 1: not a kv export file/)
  })

  it('reports a truncated file (no trailer) at the line after the last', async () => {
    const { result, keys } = await importLines(() => [header, good(1), good(2)])
    expect(result.code).toBe(4)
    expect(result.stderr).toMatch(/line 4: the file ends without its trailer line/)
    expect(keys).toEqual(['k1', 'k2'])
  })

  it('reports a trailer whose count does not match', async () => {
    const { result } = await importLines(() => [header, good(1), trailer(5)])
    expect(result.code).toBe(4)
    expect(result.stderr).toMatch(/line 3: the trailer says 5 entries but the file holds 1/)
  })

  it('reports a line after the trailer', async () => {
    const { result } = await importLines(() => [header, good(1), trailer(1), good(2)])
    expect(result.code).toBe(4)
    expect(result.stderr).toMatch(/line 4: unexpected line after the trailer/)
  })

  async function importDry(build: () => string[]) {
    bucket = `v${++imports}`
    const file = await ws.file(`${bucket}.ndjson`, `${build().join('\n')}\n`)
    const result = await ws.kv(['--backend', backend, 'import', '--dry-run', file])
    const keys = (await ws.kv(['--backend', backend, 'ls', bucket])).out.split('\n').filter(Boolean)
    return { result, keys }
  }

  it('--dry-run checks every line and writes nothing', async () => {
    const ok = await importDry(() => [header, good(1), good(2), trailer(2)])
    expect(ok.result.code, ok.result.stderr).toBe(0)
    expect(ok.result.out).toMatch(/is valid: 2 entries \(nothing written/)
    expect(ok.keys).toEqual([])
    const bad = await importDry(() => [header, good(1), '{', trailer(1)])
    expect(bad.result.code).toBe(4)
    expect(bad.result.stderr).toMatch(/line 3: not valid JSON.*nothing was written/)
    expect(bad.keys).toEqual([])
  })

  it('--dry-run does not open the store: nothing is created under data/', async () => {
    const fresh = await workspace()
    try {
      const file = await fresh.file('ok.ndjson', `${[header, good(1), trailer(1)].join('\n')}\n`)
      const result = await fresh.kv(['--backend', backend, 'import', '--dry-run', file])
      expect(result.code, result.stderr).toBe(0)
      expect(result.out).toMatch(/is valid: 1 entry \(nothing written/)
      expect(await readdir(fresh.dir)).not.toContain('data')
    } finally {
      await fresh.cleanup()
    }
  })

  it('accepts CRLF line ends and a last line without a newline', async () => {
    bucket = 'crlf'
    const file = await ws.file('crlf.ndjson', [header, good(1), trailer(1)].join('\r\n'))
    const result = await ws.kv(['--backend', backend, 'import', file])
    expect(result.code, result.stderr).toBe(0)
    expect((await ws.kv(['--backend', backend, 'get', 'crlf', 'k1'])).out).toBe('v1')
  })

  it('exits 4 when the file cannot be read', async () => {
    const result = await ws.kv(['--backend', backend, 'import', 'no-such-file.ndjson'])
    expect(result.code).toBe(4)
    expect(result.stderr).toMatch(/cannot read no-such-file.ndjson/)
  })
})

describe('export of large values', () => {
  let ws: Workspace
  beforeAll(async () => {
    ws = await workspace()
  })
  afterAll(async () => {
    await ws.cleanup()
  })

  it('holds about 64 MiB of values in its window of reads, not --concurrency values', async () => {
    // 24 values of 4 MiB: the window of 64 reads held all 24 (96 MiB) until it drained; 64 MiB
    // takes 16 of them.
    const mib = 1024 * 1024
    const big = Array.from({ length: 24 }, (_, i) => ({
      b: 'big',
      k: Buffer.from(`k${String(i).padStart(2, '0')}`),
      v: Buffer.alloc(4 * mib, i),
    }))
    const seedFile = await ws.file('big.ndjson', exportFile(big))
    const seeded = await ws.kv(['--backend', 'badger', '--no-progress', 'import', seedFile])
    expect(seeded.code, seeded.stderr).toBe(0)
    // Values read and not yet written to the file, at their most (entry lines are counted as
    // they are handed to the file's stream: a line of 4 MiB goes out on its own).
    const badger = new URL('../node_modules/@kv/badger/dist/index.js', import.meta.url).href
    const preload = await ws.file(
      'held.mjs',
      `import fs from 'node:fs'
import { BadgerKV } from ${JSON.stringify(badger)}
let held = 0
let most = 0
const { getValue } = BadgerKV.prototype
BadgerKV.prototype.getValue = async function (bucket, key) {
  const value = await getValue.call(this, bucket, key)
  if (value !== null) most = Math.max(most, ++held)
  return value
}
const { write } = fs.WriteStream.prototype
fs.WriteStream.prototype.write = function (chunk, ...rest) {
  if (typeof chunk === 'string') held -= chunk.split('"v":"').length - 1
  return write.call(this, chunk, ...rest)
}
process.on('exit', () => fs.writeFileSync(${JSON.stringify(`${ws.dir}/held.txt`)}, String(most)))
`,
    )
    const exported = await ws.kv(
      ['--backend', 'badger', '--no-progress', 'export', 'out.ndjson', '--bucket', 'big'],
      { env: { NODE_OPTIONS: `--import ${preload}` } },
    )
    expect(exported.code, exported.stderr).toBe(0)
    expect(exported.out).toMatch(/wrote 24 entries from 1 bucket/)
    const most = Number(await readFile(`${ws.dir}/held.txt`, 'utf8'))
    expect(most).toBeGreaterThanOrEqual(1)
    expect(most).toBeLessThanOrEqual(16)
    const lines = (await readFile(`${ws.dir}/out.ndjson`, 'utf8')).trimEnd().split('\n')
    expect(lines.slice(1, -1)).toEqual(
      big.map(({ b, k, v }) =>
        JSON.stringify({ b, k: k.toString('base64'), v: v.toString('base64') }),
      ),
    )
  })
})
