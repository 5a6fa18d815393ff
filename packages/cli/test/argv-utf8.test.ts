/**
 * Arguments that are not valid UTF-8. Node.js decodes the command line as UTF-8 and turns every
 * invalid byte into U+FFFD, so a KEY of the byte FF reached the store as the key EF BF BD: `kv
 * del raw $'\xff'` deleted another key. Such a KEY, BUCKET, --prefix, --bucket or VALUE is
 * refused (exit 4, KV_INVALID_ARGUMENT); a U+FFFD typed as such cannot be told apart, so it is
 * refused too. So is such a file path (`kv export $'out\xff.ndjson'` wrote
 * `out\xef\xbf\xbd.ndjson`), and a KV_CONFIG, which Node.js decodes the same way.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  BACKENDS,
  BIN,
  cleanEnv,
  exportFile,
  finish,
  type Result,
  type Workspace,
  workspace,
} from './helpers.js'

/**
 * Runs `kv` through a shell, so that an argument can hold any byte: in `args`, `\xHH` stands for
 * the byte HH (the shell's `printf` makes it from an octal escape; a JavaScript string given to
 * spawn could only carry UTF-8). No argument here holds a quote or a `%`. `rawEnv`: variables
 * set the same way.
 */
function kvRaw(
  ws: Workspace,
  args: string[],
  rawEnv: Record<string, string> = {},
): Promise<Result> {
  const octal = (arg: string) =>
    arg.replace(/\\x([0-9a-f]{2})/g, (_, hex: string) => `\\${parseInt(hex, 16).toString(8)}`)
  const quote = (arg: string) => (arg.includes('\\x') ? `"$(printf '${octal(arg)}')"` : `'${arg}'`)
  const quoted = args.map(quote).join(' ')
  const exports = Object.entries(rawEnv)
    .map(([name, value]) => `export ${name}=${quote(value)}; `)
    .join('')
  const child = spawn(
    '/bin/sh',
    ['-c', `${exports}exec "$0" "$1" ${quoted}`, process.execPath, BIN],
    {
      cwd: ws.dir,
      env: cleanEnv({ LC_ALL: 'C' }),
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  )
  return finish(child)
}

const NOT_UTF8 = /is not valid UTF-8 \(or holds U\+FFFD, which kv cannot tell apart/

describe.each(BACKENDS)('arguments that are not valid UTF-8, on %s', (backend) => {
  let ws: Workspace
  const raw = (...args: string[]) => kvRaw(ws, ['--backend', backend, ...args])
  const kv = (...args: string[]) => ws.kv(['--backend', backend, ...args])
  const keysOf = async (bucket: string) => (await kv('ls', '-k', 'hex', bucket)).out

  beforeAll(async () => {
    ws = await workspace()
    // The key FF, and the key U+FFFD (EF BF BD) that an invalid byte used to stand for.
    expect((await kv('put', '-k', 'hex', 'raw', 'ff', 'one')).code).toBe(0)
    expect((await kv('put', '-k', 'hex', 'raw', 'efbfbd', 'replacement')).code).toBe(0)
  })
  afterAll(async () => {
    await ws.cleanup()
  })

  it('refuses such a KEY in get, exists and del (exit 4), touching neither key', async () => {
    for (const command of ['get', 'exists', 'del']) {
      const result = await raw(command, 'raw', '\\xff')
      expect(result.code, `${command}: ${result.stderr}`).toBe(4)
      expect(result.stdout.length).toBe(0)
      expect(result.stderr).toMatch(NOT_UTF8)
      expect(result.stderr).toMatch(/-k hex or -k base64 \[KV_INVALID_ARGUMENT\]\n$/)
    }
    expect(await keysOf('raw')).toBe('efbfbd\nff\n')
    // With -k hex, the same key is reached.
    expect((await kv('get', '-k', 'hex', 'raw', 'ff')).out).toBe('one')
  })

  it('refuses it with --json as the JSON error with KV_INVALID_ARGUMENT', async () => {
    const result = await raw('--json', 'del', 'raw', 'k\\xfe')
    expect(result.code).toBe(4)
    expect(JSON.parse(result.stderr)).toEqual({
      error: { message: expect.stringMatching(NOT_UTF8), exitCode: 4, code: 'KV_INVALID_ARGUMENT' },
    })
    expect(await keysOf('raw')).toBe('efbfbd\nff\n')
  })

  it('refuses U+FFFD typed as such: it cannot be told apart from an invalid byte', async () => {
    const result = await kv('get', 'raw', '\uFFFD')
    expect(result.code).toBe(4)
    expect(result.stderr).toMatch(NOT_UTF8)
  })

  it('refuses such a BUCKET, --prefix, VALUE or export --bucket, writing nothing', async () => {
    const put = await raw('put', 'b\\xff', 'k', 'v')
    expect(put.code, put.stderr).toBe(4)
    expect(put.stderr).toMatch(/bucket ".*" is not valid UTF-8/)
    for (const args of [
      ['get', '\\xff', 'k'],
      ['ls', '\\xff'],
    ]) {
      const result = await raw(...args)
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(4)
      expect(result.stderr).toMatch(/bucket ".*" is not valid UTF-8.*\[KV_INVALID_ARGUMENT\]/)
    }
    const prefix = await raw('ls', 'raw', '--prefix', '\\xff')
    expect(prefix.code).toBe(4)
    expect(prefix.stderr).toMatch(/--prefix ".*" is not valid UTF-8/)
    const value = await raw('put', 'raw', 'v', '\\xff')
    expect(value.code).toBe(4)
    expect(value.stderr).toMatch(/VALUE ".*" is not valid UTF-8.*give the value with - \(stdin\)/)
    const exported = await raw('export', 'out.ndjson', '--bucket', 'raw\\xff')
    expect(exported.code).toBe(4)
    expect(exported.stderr).toMatch(/--bucket ".*" is not valid UTF-8/)
    expect(existsSync(join(ws.dir, 'out.ndjson'))).toBe(false)
    expect(JSON.parse((await kv('--json', 'buckets')).out)).toEqual(['raw'])
    expect(await keysOf('raw')).toBe('efbfbd\nff\n')
  })

  it('still takes valid UTF-8 arguments, multi-byte ones included', async () => {
    expect((await raw('put', 'b\\xc3\\xa9', 'k\\xe2\\x82\\xac', 'v')).code).toBe(0)
    expect((await kv('get', 'bé', 'k€')).out).toBe('v')
    expect((await kv('del', 'bé', 'k€')).code).toBe(0)
  })
})

/** A file name in the notation of {@link kvRaw} (`\xHH` for the byte HH) as the bytes it names. */
function rawName(name: string): Buffer {
  return Buffer.from(
    name.replace(/\\x([0-9a-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
    'latin1',
  )
}

/** The names in `dir`, as hex (a name that is not UTF-8 would read as U+FFFD). */
async function names(dir: string): Promise<string[]> {
  return (await readdir(dir, { encoding: 'buffer' })).map((name) => name.toString('hex')).sort()
}

describe('file paths that are not valid UTF-8', () => {
  const PATH_REFUSED =
    /is not valid UTF-8 \(or holds U\+FFFD, .*\); Node\.js cannot pass bytes that are not valid UTF-8 through to the file system \(it turns each into U\+FFFD, which names another file\): rename the file \(or the directory with such bytes in its name\) to a UTF-8 name, or give a path without such bytes \[KV_INVALID_ARGUMENT\]\n$/
  const ENTRY = exportFile([{ b: 'decoy', k: Buffer.from('k'), v: Buffer.from('v') }])
  const CONFIG = 'data_dir: ./decoy-data\nsimple_kv:\n  path: ./decoy-store\n'
  let ws: Workspace
  afterEach(async () => {
    await ws?.cleanup()
  })

  // Each case names a file with the byte FF, which exists, beside the file Node.js would take it
  // for (FF read as U+FFFD, EF BF BD), which exists too: before, kv read that other file (or, for
  // export, wrote it), exiting 0. Now kv refuses the argument, naming it, and nothing in the
  // directory is created, read into a store or written: not even the store's data directory.
  it.each([
    ['export FILE', 'FILE', ['export', 'out\\xff.ndjson'], {}, undefined],
    ['import FILE', 'FILE', ['import', 'in\\xff.ndjson'], {}, ENTRY],
    ['put --file', '--file', ['put', 'b', 'k', '--file', 'v\\xff'], {}, 'value'],
    ['--config', '--config', ['--config', 'c\\xff.yml', 'put', 'b', 'k', 'v'], {}, CONFIG],
    ['KV_CONFIG', 'KV_CONFIG', ['put', 'b', 'k', 'v'], { KV_CONFIG: 'c\\xff.yml' }, CONFIG],
    [
      'migrate --from-config',
      '--from-config',
      ['migrate', '--from', 'simple_kv', '--to', 'badger', '--from-config', 'c\\xff.yml'],
      {},
      CONFIG,
    ],
    [
      'migrate --to-config',
      '--to-config',
      ['migrate', '--from', 'simple_kv', '--to', 'simple_kv', '--to-config', 'c\\xff.yml'],
      {},
      CONFIG,
    ],
  ] as const)(
    'refuses %s holding a byte that is not UTF-8 (exit 4), creating or reading nothing',
    async (_name, what, args, env, content) => {
      ws = await workspace()
      const file =
        args.find((arg) => arg.includes('\\xff')) ?? (env as Record<string, string>).KV_CONFIG!
      if (content !== undefined) {
        await writeFile(join(ws.dir, file.replace('\\xff', '\uFFFD')), content)
        await writeFile(Buffer.concat([Buffer.from(`${ws.dir}/`), rawName(file)]), content)
      }
      const before = await names(ws.dir)
      const result = await kvRaw(ws, ['--backend', 'simple_kv', '--no-progress', ...args], env)
      expect(result.code, result.stderr).toBe(4)
      expect(result.stdout.length).toBe(0)
      expect(result.stderr).toMatch(new RegExp(`^kv: ${what} ".*" ${PATH_REFUSED.source}`))
      expect(await names(ws.dir)).toEqual(before)
      expect(existsSync(join(ws.dir, 'out\uFFFD.ndjson'))).toBe(false)
      const json = await kvRaw(ws, ['--json', '--backend', 'simple_kv', ...args], env)
      expect(JSON.parse(json.stderr).error).toMatchObject({
        exitCode: 4,
        code: 'KV_INVALID_ARGUMENT',
      })
      expect(await names(ws.dir)).toEqual(before)
    },
  )

  it('still takes file paths in valid UTF-8, multi-byte ones included', async () => {
    ws = await workspace()
    await writeFile(join(ws.dir, 'c\u00e9.yml'), 'data_dir: ./data\n')
    const put = await kvRaw(ws, [
      '--backend',
      'simple_kv',
      '--config',
      'c\\xc3\\xa9.yml',
      'put',
      'b',
      'k',
      'v',
    ])
    expect(put.code, put.stderr).toBe(0)
    const exported = await kvRaw(ws, ['--backend', 'simple_kv', 'export', 'out\\xc3\\xa9.ndjson'])
    expect(exported.code, exported.stderr).toBe(0)
    expect(existsSync(join(ws.dir, 'out\u00e9.ndjson'))).toBe(true)
  })
})
