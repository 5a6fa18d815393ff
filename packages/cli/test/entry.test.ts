/**
 * get, put, del, exists against the real stores, through the built executable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ALL_BYTES, BACKENDS, type Workspace, workspace } from './helpers.js'

describe.each(BACKENDS)('single-key commands on %s', (backend) => {
  let ws: Workspace
  const kv = (args: string[], input?: Buffer | string) =>
    ws.kv(['--backend', backend, ...args], { input })

  beforeAll(async () => {
    ws = await workspace()
  })
  afterAll(async () => {
    await ws.cleanup()
  })

  it('puts a value from the argument and gets it back byte-exact, without a newline', async () => {
    expect((await kv(['put', 'demo', 'hello', 'world'])).code).toBe(0)
    const got = await kv(['get', 'demo', 'hello'])
    expect(got.code).toBe(0)
    expect(got.stdout).toEqual(Buffer.from('world'))
  })

  it('round-trips all 256 byte values through stdin and stdout', async () => {
    // A reversed copy: reverse() in place would change the shared ALL_BYTES for later tests.
    const value = Buffer.concat([
      ALL_BYTES,
      Buffer.from(ALL_BYTES).reverse(),
      Buffer.from([0, 0, 0xff, 0x0a, 0x0d]),
    ])
    const put = await kv(['put', 'bin', 'all-bytes', '-'], value)
    expect(put.stderr).toBe('')
    expect(put.code).toBe(0)
    const got = await kv(['get', 'bin', 'all-bytes'])
    expect(got.code).toBe(0)
    expect(Buffer.compare(got.stdout, value)).toBe(0)
  })

  it('stores an empty value from stdin as a real, empty value', async () => {
    expect((await kv(['put', 'bin', 'empty', '-'], Buffer.alloc(0))).code).toBe(0)
    const got = await kv(['get', 'bin', 'empty'])
    expect(got.code).toBe(0)
    expect(got.stdout.length).toBe(0)
    expect((await kv(['exists', 'bin', 'empty'])).out).toBe('true\n')
  })

  it('reads the value from --file byte for byte', async () => {
    const content = Buffer.concat([ALL_BYTES, Buffer.alloc(100_000, 0xab)])
    const path = await ws.file('value.bin', content)
    expect((await kv(['put', 'files', 'big', '--file', path])).code).toBe(0)
    expect(Buffer.compare((await kv(['get', 'files', 'big'])).stdout, content)).toBe(0)
  })

  it('uses the compressed pair with --compressed (stored as LZ4, read back decompressed)', async () => {
    const text = 'compress me '.repeat(1000)
    expect((await kv(['put', '--compressed', 'z', 'doc', text])).code).toBe(0)
    const decompressed = await kv(['get', '--compressed', 'z', 'doc'])
    expect(decompressed.out).toBe(text)
    const stored = await kv(['get', 'z', 'doc'])
    // The Go layout: 4-byte little-endian uncompressed length, then the LZ4 block.
    expect(stored.stdout.readUInt32LE(0)).toBe(text.length)
    expect(stored.stdout.length).toBeLessThan(text.length)
  })

  it('exits 6 with a clear message when --compressed reads a value that is not LZ4', async () => {
    await kv(['put', 'z', 'plain', 'not lz4 at all'])
    const got = await kv(['get', '--compressed', 'z', 'plain'])
    expect(got.code).toBe(6)
    expect(got.stderr).toMatch(/KV_CORRUPT_VALUE/)
    expect(got.stdout.length).toBe(0)
  })

  it('prints structured output with --json, bytes as base64', async () => {
    await kv(['put', 'demo', 'bytes', '-'], Buffer.from([0, 1, 2, 0xff]))
    const got = await kv(['--json', 'get', 'demo', 'bytes'])
    expect(got.code).toBe(0)
    expect(JSON.parse(got.out)).toEqual({
      bucket: 'demo',
      key: Buffer.from('bytes').toString('base64'),
      keyText: 'bytes',
      found: true,
      bytes: 4,
      value: 'AAEC/w==',
    })
    const put = await kv(['put', '--json', 'demo', 'k2', 'v2'])
    expect(JSON.parse(put.out)).toEqual({
      bucket: 'demo',
      key: Buffer.from('k2').toString('base64'),
      keyText: 'k2',
      bytes: 2,
      compressed: false,
    })
    const exists = await kv(['exists', '--json', 'demo', 'k2'])
    expect(exists.code).toBe(0)
    expect(JSON.parse(exists.out)).toMatchObject({ exists: true })
    const absent = await kv(['exists', '--json', 'demo', 'nope'])
    expect(absent.code).toBe(3)
    expect(JSON.parse(absent.out)).toEqual({
      bucket: 'demo',
      key: Buffer.from('nope').toString('base64'),
      keyText: 'nope',
      exists: false,
    })
    const missing = await kv(['get', '--json', 'demo', 'nope'])
    expect(missing.code).toBe(3)
    expect(JSON.parse(missing.out)).toMatchObject({ bucket: 'demo', keyText: 'nope', found: false })
  })

  it('get of a missing key exits 3 with a message on stderr and nothing on stdout', async () => {
    const got = await kv(['get', 'demo', 'missing'])
    expect(got.code).toBe(3)
    expect(got.stdout.length).toBe(0)
    expect(got.stderr).toMatch(/not found: key "missing" in bucket "demo"/)
  })

  it('exists prints true (exit 0) or false (exit 3)', async () => {
    await kv(['put', 'demo', 'here', 'x'])
    const yes = await kv(['exists', 'demo', 'here'])
    expect([yes.code, yes.out]).toEqual([0, 'true\n'])
    const no = await kv(['exists', 'demo', 'absent'])
    expect([no.code, no.out]).toEqual([3, 'false\n'])
  })

  it('del removes a key and succeeds on a missing one', async () => {
    await kv(['put', 'demo', 'gone', 'x'])
    expect((await kv(['del', 'demo', 'gone'])).code).toBe(0)
    expect((await kv(['exists', 'demo', 'gone'])).code).toBe(3)
    expect((await kv(['delete', 'demo', 'gone'])).code).toBe(0)
    const json = await kv(['del', '--json', 'demo', 'gone'])
    expect(JSON.parse(json.out)).toMatchObject({ deleted: true })
  })

  it('takes binary keys in hex and base64 with --key-encoding', async () => {
    expect((await kv(['put', '-k', 'hex', 'keys', '00ff0a', 'binary key'])).code).toBe(0)
    expect(
      (await kv(['get', '-k', 'base64', 'keys', Buffer.from([0, 0xff, 0x0a]).toString('base64')]))
        .out,
    ).toBe('binary key')
    const bad = await kv(['get', '-k', 'hex', 'keys', 'xyz'])
    expect(bad.code).toBe(4)
    expect(bad.stderr).toMatch(/not valid hex \[KV_INVALID_ARGUMENT\]/)
  })

  it('types a key not valid in its encoding as KV_INVALID_ARGUMENT under --json', async () => {
    for (const [encoding, key] of [
      ['hex', 'zz'],
      ['base64', 'AP8'],
    ]) {
      const bad = await kv(['--json', 'del', '-k', encoding!, 'keys', key!])
      expect(bad.code).toBe(4)
      expect(JSON.parse(bad.stderr)).toEqual({
        error: {
          message: `KEY "${key}" is not valid ${encoding} [KV_INVALID_ARGUMENT]`,
          exitCode: 4,
          code: 'KV_INVALID_ARGUMENT',
        },
      })
    }
  })

  it('keeps a key that starts with U+FEFF (byte order mark) whole in --json and in ls', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf, 0x6b]) // U+FEFF then "k"
    expect((await kv(['put', '-k', 'hex', 'bom', bom.toString('hex'), 'v'])).code).toBe(0)
    const got = await kv(['--json', 'get', '-k', 'hex', 'bom', bom.toString('hex')])
    expect(got.code, got.stderr).toBe(0)
    expect(JSON.parse(got.out)).toMatchObject({ key: bom.toString('base64'), keyText: '\uFEFFk' })
    const listed = await kv(['--json', 'ls', 'bom'])
    expect(JSON.parse(listed.out)).toEqual([{ key: bom.toString('base64'), keyText: '\uFEFFk' }])
    expect((await kv(['ls', 'bom'])).stdout).toEqual(Buffer.concat([bom, Buffer.from('\n')]))
  })

  it('rejects a bad bucket or an oversized key with exit 4 naming the rule, writing nothing', async () => {
    // What the store holds, without the backend's own figures (file sizes may change on open).
    const contents = async () => {
      const stats = await kv(['stats', '--json'])
      expect(stats.code, stats.stderr).toBe(0)
      const { buckets, entries, perBucket } = JSON.parse(stats.out)
      return { buckets, entries, perBucket }
    }
    const before = await contents()
    const empty = await kv(['put', '', 'k', 'v'])
    expect(empty.code).toBe(4)
    expect(empty.stderr).toMatch(/bucket must be a non-empty string.*\[KV_INVALID_ARGUMENT\]/)
    const longKey = 'k'.repeat(64 * 1024 + 1)
    const big = await kv([
      'put',
      'demo',
      '-k',
      'base64',
      Buffer.from(longKey).toString('base64'),
      'v',
    ])
    expect(big.code).toBe(4)
    expect(big.stderr).toMatch(
      /key must be at most 65536 bytes \(64 KiB\), got 65537 \[KV_INVALID_ARGUMENT\]/,
    )
    expect(await contents()).toEqual(before)
  })

  it('with --json, an invalid argument is the JSON error object on stderr, with its exit code and kv code', async () => {
    const result = await kv(['--json', 'put', '', 'k', 'v'])
    expect(result.code).toBe(4)
    expect(result.stdout.length).toBe(0)
    const lines = result.stderr.trimEnd().split('\n')
    expect(lines, result.stderr).toHaveLength(1)
    expect(JSON.parse(lines[0]!)).toEqual({
      error: {
        message: expect.stringMatching(/^bucket must be a non-empty string/),
        exitCode: 4,
        code: 'KV_INVALID_ARGUMENT',
      },
    })
  })

  it('exits 2 for usage errors: a missing value, both VALUE and --file, an unknown option', async () => {
    const noValue = await kv(['put', 'demo', 'k'])
    expect(noValue.code).toBe(2)
    expect(noValue.stderr).toMatch(/missing VALUE/)
    const both = await kv(['put', 'demo', 'k', 'v', '--file', 'x'])
    expect(both.code).toBe(2)
    const unknown = await kv(['get', '--nope', 'demo', 'k'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/unknown option/)
    const missingFile = await kv(['put', 'demo', 'k', '--file', 'does-not-exist'])
    expect(missingFile.code).toBe(4)
    expect(missingFile.stderr).toMatch(/cannot read the value file/)
  })
})

describe('--json given after --', () => {
  let ws: Workspace
  const kv = (args: string[]) => ws.kv(['--backend', 'simple_kv', ...args])

  beforeAll(async () => {
    ws = await workspace()
  })
  afterAll(async () => {
    await ws.cleanup()
  })

  it('is a key or a value, not the option', async () => {
    expect((await kv(['put', 'b', 'k', '--', '--json'])).code).toBe(0)
    expect((await kv(['get', 'b', 'k'])).out).toBe('--json')
  })

  it('leaves the error of a command as text (get of the missing key "--json")', async () => {
    const missing = await kv(['get', 'b', '--', '--json'])
    expect(missing.code).toBe(3)
    expect(missing.stderr).toBe('kv: not found: key "--json" in bucket "b"\n')
  })

  it('leaves a command\'s usage error as text (put of the key "--json" without a VALUE)', async () => {
    const noValue = await kv(['put', 'b', '--', '--json'])
    expect(noValue.code).toBe(2)
    expect(noValue.stderr).toMatch(/^kv: missing VALUE: /)
  })

  it("leaves commander's usage error as text (an extra argument)", async () => {
    const extra = await kv(['get', 'b', 'k', '--', '--json'])
    expect(extra.code).toBe(2)
    expect(extra.stderr).toMatch(
      /^error: too many arguments for 'get'\. .*\n\(run kv --help, or kv <command> --help, for usage\)\n$/,
    )
  })

  it('leaves the errors of a command as text when --json is the value of -c (a file named --json)', async () => {
    await ws.file('--json', 'simple_kv:\n  path: ./data-json-file\n')
    expect((await kv(['-c', '--json', 'put', 'b', 'k', 'v'])).code).toBe(0)
    const got = await kv(['-c', '--json', 'get', 'b', 'k'])
    expect(got.out).toBe('v')
    const missing = await kv(['-c', '--json', 'get', 'b', 'nokey'])
    expect(missing.code).toBe(3)
    expect(missing.stderr).toBe('kv: not found: key "nokey" in bucket "b"\n')
    // Usage errors too, whether commander or a command reports them, and no command at all.
    const noKey = await kv(['-c', '--json', 'get', 'b'])
    expect(noKey.code).toBe(2)
    expect(noKey.stderr).toMatch(/^error: missing required argument 'key'\n/)
    const noValue = await kv(['--config', '--json', 'put', 'b', 'k'])
    expect(noValue.code).toBe(2)
    expect(noValue.stderr).toMatch(/^kv: missing VALUE: /)
    const noCommand = await kv(['-c', '--json'])
    expect(noCommand.code).toBe(2)
    expect(noCommand.stderr).toMatch(/^Usage: kv /)
    // A --json after an option's value is the option.
    const asOption = await kv(['-c', '--json', '--json', 'put', 'b', 'k'])
    expect(asOption.code).toBe(2)
    expect(JSON.parse(asOption.stderr)).toMatchObject({ error: { exitCode: 2 } })
    // After a command's option taking a value, commander reads --json as the program's option
    // (and the next argument as the value): its usage errors are JSON like its output.
    const afterPrefix = await kv(['ls', 'b', '--prefix', '--json', 'k', '-n', 'x'])
    expect(afterPrefix.code).toBe(2)
    expect(JSON.parse(afterPrefix.stderr)).toMatchObject({ error: { exitCode: 2 } })
  })

  it('leaves a --json before -- the option', async () => {
    const result = await kv(['--json', 'put', 'b', '--', '--json'])
    expect(result.code).toBe(2)
    expect(JSON.parse(result.stderr)).toEqual({
      error: { message: expect.stringMatching(/^missing VALUE: /), exitCode: 2 },
    })
  })
})
