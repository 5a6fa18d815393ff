import { mkdir, readdir, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bucketDirName, isBucketDirName } from '../src/bucket-dir.js'
import { BadgerKV } from '../src/index.js'
import { removeDir, tempDir } from './helpers/temp.js'

/** Names that break naive directory naming: traversal, separators, case, normalisation, length, controls. */
const tricky: Record<string, string> = {
  dotdot: '..',
  dot: '.',
  traversal: '../x',
  deepTraversal: '../../../../etc/passwd',
  slash: 'a/b',
  backslash: 'a\\b',
  absolute: '/tmp',
  lower: 'bucket',
  upper: 'BUCKET',
  mixed: 'Bucket',
  nfc: 'caf\u00e9',
  nfd: 'cafe\u0301',
  nul: 'a\u0000b',
  nulOnly: '\u0000',
  control: '\u0001\u001f\u007f',
  newline: 'line\nbreak',
  windowsReserved: 'CON',
  windowsReservedLower: 'con',
  trailingDot: 'name.',
  trailingSpace: 'name ',
  colon: 'c:d',
  max: 'x'.repeat(255),
  maxMinusOne: 'x'.repeat(254),
  maxMultibyte: `${'\u{1F600}'.repeat(63)}abc`, // 63 x 4 + 3 = 255 bytes
  // The README fixes the boundary at 120 bytes: spelled out here, not read from the module.
  hexBoundary: 'y'.repeat(120),
  hexBoundaryPlusOne: 'y'.repeat(121),
  looksDerived: 'b-61',
}
const names = Object.values(tricky)

describe('bucketDirName', () => {
  it('gives every name its own directory, also on a case-insensitive file system', () => {
    const dirs = names.map(bucketDirName)
    expect(new Set(dirs).size).toBe(names.length)
    // A case-insensitive (or case-folding, normalising) file system sees these as distinct too.
    expect(new Set(dirs.map((d) => d.toLowerCase().normalize('NFC'))).size).toBe(names.length)
    expect(new Set(dirs.map((d) => d.toUpperCase())).size).toBe(names.length)
  })

  it('is one path component of lowercase letters, digits and "-", at most 255 bytes', () => {
    for (const name of names) {
      const dir = bucketDirName(name)
      expect(dir).toMatch(/^[a-z0-9-]+$/)
      expect(Buffer.byteLength(dir)).toBeLessThanOrEqual(255)
      expect(dir).not.toBe('.')
      expect(dir).not.toBe('..')
      expect(isBucketDirName(dir)).toBe(true)
    }
  })

  it('spells short names out in hex and hashes long ones', () => {
    expect(bucketDirName('a')).toBe('b-61')
    expect(bucketDirName('..')).toBe('b-2e2e')
    expect(bucketDirName(tricky.hexBoundary!)).toBe(`b-${'79'.repeat(120)}`)
    expect(bucketDirName('\u00e9'.repeat(60))).toBe(`b-${'c3a9'.repeat(60)}`) // 120 bytes of UTF-8
    expect(bucketDirName('\u00e9'.repeat(61))).toMatch(/^h-[0-9a-f]{64}$/)
    expect(bucketDirName(tricky.hexBoundaryPlusOne!)).toMatch(/^h-[0-9a-f]{64}$/)
  })

  it('is deterministic', () => {
    for (const name of names) expect(bucketDirName(name)).toBe(bucketDirName(name))
  })

  it('recognises only its own shapes', () => {
    for (const other of [
      'meta',
      'b-',
      'b-6',
      'b-6G',
      'B-61',
      'h-00',
      `h-${'0'.repeat(63)}`,
      '..',
    ]) {
      expect(isBucketDirName(other)).toBe(false)
    }
  })
})

describe('per-bucket mode on disk', () => {
  let path: string
  beforeEach(async () => {
    path = await tempDir('dirs')
  })
  afterEach(async () => {
    await removeDir(path)
  })

  it('keeps every tricky bucket in its own directory inside path, and lists them back', async () => {
    const store = new BadgerKV({ path, single_bucket_mode: false })
    await store.open()
    try {
      for (const [label, name] of Object.entries(tricky)) await store.addValue(name, 'key', label)
      for (const [label, name] of Object.entries(tricky)) {
        expect(new TextDecoder().decode((await store.getValue(name, 'key'))!)).toBe(label)
      }
      const listed: string[] = []
      for await (const bucket of store.buckets()) listed.push(bucket)
      expect(listed.sort()).toEqual([...names].sort())
    } finally {
      await store.close()
    }

    // Every directory is a direct child of path/buckets, and its name file holds the bucket.
    const root = await realpath(join(path, 'buckets'))
    const dirs = await readdir(root)
    expect(dirs.length).toBe(names.length)
    for (const dir of dirs) {
      const real = await realpath(join(root, dir))
      expect(relative(root, real).includes(sep)).toBe(false)
      const name = new TextDecoder().decode(await readFile(join(real, 'name')))
      expect(bucketDirName(name)).toBe(dir)
    }
    // Nothing was created outside path.
    expect((await readdir(path)).sort()).toEqual(['buckets', 'meta', 'trash'])

    // And a new store over the same directory sees the same buckets.
    const again = new BadgerKV({ path, single_bucket_mode: false })
    await again.open()
    try {
      const listed: string[] = []
      for await (const bucket of again.buckets()) listed.push(bucket)
      expect(listed.sort()).toEqual([...names].sort())
      expect(new TextDecoder().decode((await again.getValue(tricky.nfd!, 'key'))!)).toBe('nfd')
    } finally {
      await again.close()
    }
  }, 60_000)
})

/** The entries of `dir`, or none when it does not exist. */
async function entries(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
}

async function listBuckets(store: BadgerKV): Promise<string[]> {
  const out: string[] = []
  for await (const bucket of store.buckets()) out.push(bucket)
  return out
}

describe('per-bucket mode: what open() recovers', () => {
  let path: string
  let buckets: string
  const options = () => ({ path, single_bucket_mode: false, value_log_gc_enabled: false })

  beforeEach(async () => {
    path = await tempDir('recover')
    buckets = join(path, 'buckets')
    // A real bucket, which every recovery must leave as it is.
    const store = new BadgerKV(options())
    await store.open()
    await store.addValue('kept', 'k', 'v')
    await store.close()
  })
  afterEach(async () => {
    await removeDir(path)
  })

  /** Opens the store, checks that 'kept' survived, and returns the buckets it lists. */
  async function reopen(): Promise<string[]> {
    const store = new BadgerKV(options())
    await store.open()
    try {
      expect(new TextDecoder().decode((await store.getValue('kept', 'k'))!)).toBe('v')
      return await listBuckets(store)
    } finally {
      await store.close()
    }
  }

  it('empties trash/, where a deletion interrupted after its rename left a bucket', async () => {
    const doomed = join(path, 'trash', 'c0ffee00-0000-4000-8000-000000000000')
    await mkdir(join(doomed, 'db'), { recursive: true })
    await writeFile(join(doomed, 'name'), 'dropped')
    await writeFile(join(doomed, 'db', '000001.log'), 'leftover')
    expect(await reopen()).toEqual(['kept'])
    expect(await entries(join(path, 'trash'))).toEqual([])
  })

  it('removes a bucket directory that has no name file (its creation was interrupted)', async () => {
    const orphan = join(buckets, bucketDirName('orphan'))
    await mkdir(orphan)
    await writeFile(join(orphan, 'name.tmp'), 'orphan') // written, never renamed into place
    expect(await reopen()).toEqual(['kept'])
    expect(await entries(buckets)).toEqual([bucketDirName('kept')])
  })

  it('refuses to open, with KV_BACKEND_UNAVAILABLE, when a name file cannot be read', async () => {
    // A directory where the name file goes: reading it fails (EISDIR), as a failing disk would.
    const odd = join(buckets, bucketDirName('odd'))
    await mkdir(join(odd, 'name'), { recursive: true })
    const store = new BadgerKV(options())
    const error = await store.open().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toMatchObject({
      code: 'KV_BACKEND_UNAVAILABLE',
      cause: expect.objectContaining({ code: 'EISDIR' }),
      message: expect.stringContaining('Check the disk and the files under badger.path'),
    })
    // Nothing was removed, and the store opens once the name is readable.
    await rm(join(odd, 'name'), { recursive: true })
    await writeFile(join(odd, 'name'), 'odd')
    expect(await reopen()).toEqual(['kept'])
  })

  it('ignores, and leaves in place, a name file that does not derive back to its directory', async () => {
    // A bucket moved under the directory of another name, and a name file that is not UTF-8.
    const store = new BadgerKV(options())
    await store.open()
    await store.addValue('moved', 'k', 'v')
    await store.close()
    const elsewhere = bucketDirName('elsewhere')
    await rename(join(buckets, bucketDirName('moved')), join(buckets, elsewhere))
    await mkdir(join(buckets, 'b-ff'))
    await writeFile(join(buckets, 'b-ff', 'name'), new Uint8Array([0xff]))

    expect(await reopen()).toEqual(['kept'])
    const again = new BadgerKV(options())
    await again.open()
    try {
      expect(await again.getValue('moved', 'k')).toBeNull()
      expect(await again.getValue('elsewhere', 'k')).toBeNull()
    } finally {
      await again.close()
    }
    // Not ours to delete: the data under them is still on disk.
    expect(await entries(join(buckets, elsewhere))).toEqual(['db', 'name'])
    expect(await entries(join(buckets, 'b-ff'))).toEqual(['name'])
  })

  it('leaves entries of buckets/ that no bucket name derives to alone', async () => {
    await mkdir(join(buckets, 'lost+found'))
    await writeFile(join(buckets, 'notes'), 'not a bucket')
    expect(await reopen()).toEqual(['kept'])
    expect(await entries(buckets)).toEqual([bucketDirName('kept'), 'lost+found', 'notes'].sort())
  })
})
