/**
 * What `kv export` refuses before it starts: a FILE it could not put the export at, and a
 * `--bucket` name that is not a bucket name; and how it reports a FILE it cannot replace at the end.
 */
import { execFileSync } from 'node:child_process'
import { lstat, mkdir, readdir, readFile, readlink, symlink } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Workspace, workspace } from './helpers.js'

let ws: Workspace
beforeEach(async () => {
  ws = await workspace()
})
afterEach(async () => {
  await ws.cleanup()
})

const partials = async (dir: string): Promise<string[]> =>
  (await readdir(dir)).filter((name) => name.endsWith('.partial'))

describe('export FILE that cannot become the export', () => {
  beforeEach(async () => {
    const put = await ws.kv(['--backend', 'simple_kv', 'put', 'b', 'k', 'v'])
    expect(put.code, put.stderr).toBe(0)
  })

  it.each([['adir'], ['adir/']])(
    'refuses an existing directory (%s) with exit 4, before exporting, and leaves it as it was',
    async (file) => {
      await mkdir(join(ws.dir, 'adir'))
      const result = await ws.kv(['--backend', 'simple_kv', '--no-progress', 'export', file])
      expect(result.code, result.stderr).toBe(4)
      expect(result.stderr).toMatch(
        /^kv: cannot write adir\/?: it is a directory; give the path of a file, for example adir\/backup\.ndjson\n$/,
      )
      expect(result.out).toBe('')
      expect(await readdir(join(ws.dir, 'adir'))).toEqual([])
      expect(await partials(ws.dir)).toEqual([])
    },
  )

  it('refuses a FIFO (not a regular file) with exit 4 instead of replacing it', async () => {
    execFileSync('mkfifo', [join(ws.dir, 'pipe')])
    const result = await ws.kv(['--backend', 'simple_kv', '--no-progress', 'export', 'pipe'])
    expect(result.code, result.stderr).toBe(4)
    expect(result.stderr).toMatch(
      /cannot write pipe: it is a FIFO, not a regular file; to write the export to it, run kv export - > pipe/,
    )
    // `find -type p`: the FIFO is still there, not replaced by a regular file.
    expect(
      execFileSync('find', [ws.dir, '-name', 'pipe', '-type', 'p'], { encoding: 'utf8' }),
    ).toBe(`${join(ws.dir, 'pipe')}\n`)
    expect(await partials(ws.dir)).toEqual([])
  })

  it.each([
    ['a directory', 'adir', 'a symbolic link to a directory'],
    ['a FIFO', 'pipe', 'a symbolic link to a FIFO, not a regular file'],
  ])(
    'refuses a symbolic link to %s with exit 4, leaving the link and its target',
    async (_label, target, said) => {
      await mkdir(join(ws.dir, 'adir'))
      execFileSync('mkfifo', [join(ws.dir, 'pipe')])
      await symlink(target, join(ws.dir, 'link'))
      const result = await ws.kv(['--backend', 'simple_kv', '--no-progress', 'export', 'link'])
      expect(result.code, result.stderr).toBe(4)
      expect(result.stderr).toContain(`kv: cannot write link: it is ${said}`)
      expect(await readlink(join(ws.dir, 'link'))).toBe(target)
      expect(await partials(ws.dir)).toEqual([])
    },
  )

  it('replaces a symbolic link to a regular file with the export, leaving the file it pointed to', async () => {
    await ws.file('old.ndjson', 'the previous export\n')
    await symlink('old.ndjson', join(ws.dir, 'link'))
    const result = await ws.kv(['--backend', 'simple_kv', '--no-progress', 'export', 'link'])
    expect(result.code, result.stderr).toBe(0)
    expect((await lstat(join(ws.dir, 'link'))).isFile()).toBe(true)
    const exported = await readFile(join(ws.dir, 'link'), 'utf8')
    expect(exported).not.toContain('the previous export')
    expect(exported.split('\n').filter(Boolean)).toHaveLength(3) // header, the entry, trailer
    expect(await readFile(join(ws.dir, 'old.ndjson'), 'utf8')).toBe('the previous export\n')
  })

  it('reports a rename that fails after the export as exit 4 naming FILE; FILE is kept, the partial file removed', async () => {
    // The failure is injected at the file-system boundary: rename(2) of the finished export
    // fails as it does for a FILE on another file system (a bind mount).
    const hook = await ws.file(
      'fail-rename.mjs',
      `import fs from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
fs.promises.rename = async (from, to) => {
  throw Object.assign(new Error(\`EXDEV: cross-device link not permitted, rename '\${from}' -> '\${to}'\`), { code: 'EXDEV', syscall: 'rename' })
}
syncBuiltinESMExports()
`,
    )
    await ws.file('out.ndjson', 'the previous export\n')
    const result = await ws.kv(
      ['--backend', 'simple_kv', '--no-progress', 'export', 'out.ndjson'],
      {
        env: { NODE_OPTIONS: `--import ${hook}` },
      },
    )
    expect(result.code, result.stderr).toBe(4)
    expect(result.stderr).toMatch(
      /^kv: cannot write out\.ndjson: the finished export could not be renamed to it \(EXDEV: cross-device link not permitted, .*\); out\.ndjson was not changed: export to another path\n$/,
    )
    expect(await readFile(join(ws.dir, 'out.ndjson'), 'utf8')).toBe('the previous export\n')
    expect(await partials(ws.dir)).toEqual([])
  })
})

describe('export --bucket with a name that is not a bucket name', () => {
  const long = 'x'.repeat(256)

  it.each([
    ['--no-progress', 'an empty name', [''], /--bucket must be a non-empty string, got ""/],
    ['progress', 'an empty name', [''], /--bucket must be a non-empty string, got ""/],
    [
      '--no-progress',
      'a 256-byte name after a good one',
      ['b', long],
      /--bucket must be at most 255 bytes of UTF-8, got 256/,
    ],
    [
      'progress',
      'a 256-byte name after a good one',
      ['b', long],
      /--bucket must be at most 255 bytes of UTF-8, got 256/,
    ],
  ])(
    'with %s, refuses %s with exit 4 (KV_INVALID_ARGUMENT) before opening the store',
    async (mode, _name, buckets, message) => {
      // Progress on (the default) counts the buckets first; --no-progress has no counting pass.
      const args = mode === '--no-progress' ? [mode] : []
      const file = await ws.kv([
        '--backend',
        'simple_kv',
        ...args,
        'export',
        'out.ndjson',
        '--bucket',
        ...buckets,
      ])
      expect(file.code, file.stderr).toBe(4)
      expect(file.stderr).toMatch(message)
      expect(file.stderr).toMatch(/\[KV_INVALID_ARGUMENT\]\n$/)
      const stdout = await ws.kv([
        '--backend',
        'simple_kv',
        ...args,
        'export',
        '-',
        '--bucket',
        ...buckets,
      ])
      expect(stdout.code, stdout.stderr).toBe(4)
      expect(stdout.out).toBe('')
      // Nothing was written and no store was opened (opening creates ./data).
      expect((await readdir(ws.dir)).sort()).toEqual(['kv.yml'])
    },
  )
})
