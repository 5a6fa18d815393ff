import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createStoreDirectory, holdDirectory, syncDirectory } from '../src/store-directory.js'

describe('createStoreDirectory', () => {
  let base: string
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'kv-store-dir-'))
  })
  afterEach(() => rm(base, { recursive: true, force: true }))

  it('creates the directory and its parents, and accepts one that exists', async () => {
    const path = join(base, 'a', 'b')
    await createStoreDirectory(path, 'x.path')
    await createStoreDirectory(path, 'x.path')
    expect((await stat(path)).isDirectory()).toBe(true)
  })

  it('names a symbolic link on the path that leads nowhere (target missing, or a loop): KV_INVALID_CONFIG', async () => {
    await symlink(join(base, 'nowhere'), join(base, 'dangling'))
    await symlink(join(base, 'loop'), join(base, 'loop'))
    // A chain: the first link's target exists (as a link); the end of the chain does not.
    await symlink(join(base, 'chain1'), join(base, 'chain0'))
    await symlink(join(base, 'missing1'), join(base, 'chain1'))
    for (const [path, link, what] of [
      [
        join(base, 'chain0', 'x'),
        join(base, 'chain0'),
        `is a symbolic link in turn, leading to ${join(base, 'missing1')}, which does not exist`,
      ],
      [join(base, 'dangling'), join(base, 'dangling'), 'does not exist'],
      [join(base, 'dangling', 'sub'), join(base, 'dangling'), 'does not exist'],
      [join(base, 'loop'), join(base, 'loop'), 'leads back to itself'],
      // The kernel follows the link before `..` steps back: not `base/x`.
      [`${base}/dangling/../x`, join(base, 'dangling'), 'does not exist'],
    ] as const) {
      const error = await createStoreDirectory(path, 'x.path').catch((e: unknown) => e)
      expect(error, path).toMatchObject({
        code: 'KV_INVALID_CONFIG',
        key: 'x.path',
        message: expect.stringContaining(`${link} is a symbolic link to `),
      })
      expect((error as Error).message).toContain(what)
      expect((error as Error).cause).toBeInstanceOf(Error)
    }
    // Nothing was created where the dangling link points.
    expect(existsSync(join(base, 'nowhere'))).toBe(false)
  })

  it('creates a relative path and its parents under the working directory', async () => {
    const cwd = process.cwd()
    process.chdir(base)
    try {
      await createStoreDirectory(join('r', 's', 't'), 'x.path')
    } finally {
      process.chdir(cwd)
    }
    expect((await stat(join(base, 'r', 's', 't'))).isDirectory()).toBe(true)
  })

  // The directory syncs need to open each parent for reading; a parent the process may write but
  // not read (0333) must not fail the first open() when the second, which creates nothing, would
  // succeed. Root reads everything, so the child drops the capabilities that let it (capsh).
  const capsh = ['/usr/sbin/capsh', '/sbin/capsh'].find((path) => existsSync(path))
  it.skipIf(process.getuid?.() !== 0 || capsh === undefined)(
    'creates a store directory under a parent it may write but not read (needs root and capsh)',
    async () => {
      const parent = join(base, 'write-only')
      await createStoreDirectory(parent, 'x.path')
      await chmod(parent, 0o333)
      const script = `import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)}).then((core) => core.createStoreDirectory(${JSON.stringify(join(parent, 'store'))}, 'x.path')).then(() => console.log('created'))`
      const output = execFileSync(
        capsh!,
        [
          '--drop=cap_dac_override,cap_dac_read_search',
          '--',
          '-c',
          `${JSON.stringify(process.execPath)} -e ${JSON.stringify(script)}`,
        ],
        { encoding: 'utf8' },
      )
      expect(output.trim()).toBe('created')
      expect((await stat(join(parent, 'store'))).isDirectory()).toBe(true)
    },
  )

  // The syncs themselves, seen from outside: strace records each directory opened to be synced.
  // Where strace is missing (or ptrace is not allowed) there is no other way to see an fsync.
  const strace = ['/usr/bin/strace', '/bin/strace'].find(
    (path) => existsSync(path) && spawnSync(path, ['-o', '/dev/null', 'true']).status === 0,
  )
  it.skipIf(strace === undefined)(
    'syncs every directory it creates into its parent: the parents of a/b/c from base on (strace)',
    async () => {
      const trace = join(base, 'trace.txt')
      const script = `import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)}).then((core) => core.createStoreDirectory('a/b/c', 'x.path'))`
      execFileSync(
        strace!,
        ['-f', '-e', 'trace=openat,fsync', '-o', trace, process.execPath, '-e', script],
        { cwd: base },
      )
      const lines = (await readFile(trace, 'utf8')).split('\n')
      const opened = lines
        .filter((line) => line.includes('O_DIRECTORY') && !line.includes('= -1'))
        .map((line) => /openat\(AT_FDCWD, "([^"]+)"/.exec(line)?.[1])
      for (const dir of [base, join(base, 'a'), join(base, 'a', 'b')]) expect(opened).toContain(dir)
      expect(opened).not.toContain(join(base, 'a', 'b', 'c'))
      expect(lines.filter((line) => /fsync\(\d+\)\s+= 0/.test(line)).length).toBeGreaterThanOrEqual(
        3,
      )
    },
  )

  it.each([
    ['a file in its place', (file: string) => file, 'EEXIST'],
    ['a file in the way of a parent', (file: string) => join(file, 'store'), 'ENOTDIR'],
  ])('refuses %s with KV_INVALID_CONFIG naming the key', async (_label, pathOf, code) => {
    const file = join(base, 'file')
    await writeFile(file, 'not a directory')
    const path = pathOf(file)
    const error = await createStoreDirectory(path, 'x.path').catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'KV_INVALID_CONFIG', key: 'x.path', cause: { code } })
    expect((error as Error).message).toContain(path)
    expect((error as Error).message).not.toContain('is not set')
    const defaulted = await createStoreDirectory(path, 'x.path', true).catch((e: unknown) => e)
    expect((defaulted as Error).message).toContain('x.path is not set: the default under data_dir')
  })
})

describe.skipIf(process.platform === 'win32')('syncDirectory', () => {
  let base: string
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'kv-sync-dir-'))
  })
  afterEach(() => rm(base, { recursive: true, force: true }))

  it('syncs a directory, and refuses a file or a missing path with the file system error', async () => {
    await syncDirectory(base)
    const file = join(base, 'file')
    await writeFile(file, 'x')
    await expect(syncDirectory(file)).rejects.toMatchObject({ code: 'ENOTDIR' })
    await expect(syncDirectory(join(base, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' })
  })
})

describe('holdDirectory', () => {
  let base: string
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'kv-hold-'))
  })
  afterEach(() => rm(base, { recursive: true, force: true }))
  const sets = { paths: 'kv-test:held-paths', inodes: 'kv-test:held-inodes' }

  it('holds a directory once, by any path to it, until released; a second release does nothing', async () => {
    const dir = join(base, 'store')
    await mkdir(dir)
    await symlink(dir, join(base, 'link'))
    const release = holdDirectory(dir, sets)
    expect(release).toBeTypeOf('function')
    expect(holdDirectory(dir, sets)).toBeUndefined()
    expect(holdDirectory(join(base, 'link'), sets)).toBeUndefined()
    expect(holdDirectory(join(base, '.', 'store', '..', 'store'), sets)).toBeUndefined()
    // Other sets (another backend package) hold independently.
    const other = holdDirectory(dir, {
      paths: 'kv-test:other-paths',
      inodes: 'kv-test:other-inodes',
    })
    expect(other).toBeTypeOf('function')
    other!()
    release!()
    release!()
    const again = holdDirectory(join(base, 'link'), sets)
    expect(again).toBeTypeOf('function')
    // The first release, called again, did not give up the new hold.
    release!()
    expect(holdDirectory(dir, sets)).toBeUndefined()
    again!()
  })
})
