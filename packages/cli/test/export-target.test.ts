/**
 * What `kv export` refuses before it starts: a FILE it could not put the export at, and a
 * `--bucket` name that is not a bucket name; and how it reports a FILE it cannot write or replace
 * once it has started.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { lstat, mkdir, readdir, readFile, readlink, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BIN, cleanEnv, type Workspace, workspace } from './helpers.js'

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

  it.each([['nodir/'], ['afile/']])(
    'refuses a path ending in / (%s) with exit 4, before exporting',
    async (file) => {
      // The partial file is made in dirname(FILE), `.` here: only the rename, after the whole
      // export, would see that FILE cannot be a file, were it not refused first.
      await ws.file('afile', 'a file\n')
      const result = await ws.kv(['--backend', 'simple_kv', '--no-progress', 'export', file])
      expect(result.code, result.stderr).toBe(4)
      expect(result.stderr).toBe(
        `kv: cannot write ${file}: a path ending in / names a directory; give the path of a file, for example ${file}backup.ndjson\n`,
      )
      expect(await readFile(join(ws.dir, 'afile'), 'utf8')).toBe('a file\n')
      expect(await partials(ws.dir)).toEqual([])
    },
  )

  it('refuses an empty FILE for export and import with exit 2, before opening the store', async () => {
    for (const command of ['export', 'import']) {
      const result = await ws.kv(['--backend', 'simple_kv', '--no-progress', command, ''])
      expect(result.code, result.stderr).toBe(2)
      expect(result.stderr).toBe('kv: FILE needs the path of a file, not an empty string\n')
    }
    expect(await partials(ws.dir)).toEqual([])
  })

  it('writes a FILE whose name is 253 bytes long (the partial file has a short name of its own)', async () => {
    // NAME_MAX is 255 bytes: a partial file named after FILE (`FILE.<pid>.partial`) would be
    // over it, and the export would fail with ENAMETOOLONG although FILE itself is a valid name.
    const name = 'x'.repeat(253)
    const result = await ws.kv(['--backend', 'simple_kv', '--no-progress', 'export', name])
    expect(result.code, result.stderr).toBe(0)
    const lines = (await readFile(join(ws.dir, name), 'utf8')).split('\n').filter(Boolean)
    expect(lines).toHaveLength(3) // header, the entry, trailer
    expect(JSON.parse(lines[2]!)).toEqual({ end: true, entries: 1 })
    expect(await partials(ws.dir)).toEqual([])
  })

  it('reports a failed fsync of the finished export (an I/O error) as exit 4 naming FILE; FILE is kept, the partial file removed', async () => {
    // The failure is injected at the file-system boundary: fsync(2) of the partial file, which
    // the stream makes as it closes, fails as it does on an I/O error. Only the partial file's:
    // the store's own syncs go through.
    const hook = await ws.file(
      'fail-fsync.mjs',
      `import fs from 'node:fs'
const partial = new Set()
const open = fs.open
fs.open = (path, flags, mode, callback) =>
  open(path, flags, mode, (error, fd) => {
    if (!error && String(path).endsWith('.partial')) partial.add(fd)
    callback(error, fd)
  })
const fsync = fs.fsync
fs.fsync = (fd, callback) =>
  partial.has(fd)
    ? process.nextTick(callback, Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO', syscall: 'fsync' }))
    : fsync(fd, callback)
`,
    )
    await ws.file('out.ndjson', 'the previous export\n')
    const result = await ws.kv(
      ['--backend', 'simple_kv', '--no-progress', 'export', 'out.ndjson'],
      { env: { NODE_OPTIONS: `--import ${hook}` } },
    )
    expect(result.code, result.stderr).toBe(4)
    expect(result.stderr).toBe(
      'kv: cannot write out.ndjson: the export could not be written (EIO: i/o error, fsync); out.ndjson was not changed: export to another path\n',
    )
    expect(await readFile(join(ws.dir, 'out.ndjson'), 'utf8')).toBe('the previous export\n')
    expect(await partials(ws.dir)).toEqual([])
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

/**
 * Whether this machine lets an unprivileged process mount a tmpfs in namespaces of its own
 * (`unshare -Urm`): some containers forbid user namespaces (seccomp,
 * `kernel.unprivileged_userns_clone=0`), and there is no other way to fill a disk without root.
 */
function namespacesAllowed(): boolean {
  const probe = mkdtempSync(join(tmpdir(), 'kv-cli-userns-'))
  try {
    const result = spawnSync('unshare', [
      '-Urm',
      'sh',
      '-c',
      'mount -t tmpfs -o size=64k kv-probe "$1"',
      'sh',
      probe,
    ])
    return result.status === 0
  } finally {
    rmSync(probe, { recursive: true, force: true })
  }
}

describe('export FILE on a full disk', () => {
  it.skipIf(!namespacesAllowed())(
    'is exit 4 naming FILE; FILE is kept, the partial file removed (skipped where unshare -Urm cannot mount a tmpfs)',
    async () => {
      // A 300 kB value: its export line is larger than the whole 64 KiB tmpfs FILE is on.
      await ws.file('value', Buffer.alloc(300_000, 7))
      const put = await ws.kv(['--backend', 'simple_kv', 'put', 'b', 'k', '--file', 'value'])
      expect(put.code, put.stderr).toBe(0)
      await mkdir(join(ws.dir, 'tiny'))
      // The tmpfs lives as long as the namespace, so the shell in it reports kv's exit code,
      // what is left on the tmpfs, and FILE's content, after kv has exited. The store (./data)
      // is not on it.
      const script = `mount -t tmpfs -o size=64k kv-tiny tiny || exit 99
printf 'the previous export\\n' > tiny/out.ndjson
"$@" >&2
echo "exit $?"
ls -A tiny
cat tiny/out.ndjson`
      const result = spawnSync(
        'unshare',
        [
          '-Urm',
          'sh',
          '-c',
          script,
          'sh',
          process.execPath,
          BIN,
          '--backend',
          'simple_kv',
          '--no-progress',
          'export',
          'tiny/out.ndjson',
        ],
        { cwd: ws.dir, env: cleanEnv(), encoding: 'utf8' },
      )
      expect(result.status, result.stderr).toBe(0)
      expect(result.stdout).toBe('exit 4\nout.ndjson\nthe previous export\n')
      expect(result.stderr).toBe(
        'kv: cannot write tiny/out.ndjson: the export could not be written (ENOSPC: no space left on device, write); tiny/out.ndjson was not changed: export to another path\n',
      )
    },
  )
})
