/**
 * Per-bucket mode: a write to a bucket that does not exist finds its directory already there.
 * Without a name file that directory is the leftover of an interrupted creation or deletion and
 * holds no data; with a name file for this bucket it is the bucket's (a creation that failed after
 * writing it); with a name file for another name it is not ours: the write is refused and the
 * directory left alone, as open() leaves it.
 */
import { cp, mkdir, readFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bucketDirName } from '../src/bucket-dir.js'
import { BadgerKV, type BadgerOptions } from '../src/index.js'
import { failFileSystem } from './helpers/fail-fs.js'
import { removeDir, tempDir } from './helpers/temp.js'

const text = (bytes: Uint8Array | null) => (bytes === null ? null : new TextDecoder().decode(bytes))

async function keysOf(store: BadgerKV, bucket: string): Promise<string[]> {
  const out: string[] = []
  for await (const key of store.keys(bucket)) out.push(new TextDecoder().decode(key))
  return out
}

describe('per-bucket mode: creating a bucket whose directory is already there', () => {
  let path: string
  let buckets: string
  const options = (more: BadgerOptions = {}): BadgerOptions => ({
    path,
    single_bucket_mode: false,
    value_log_gc_enabled: false,
    ...more,
  })
  beforeEach(async () => {
    path = await tempDir('create')
    buckets = join(path, 'buckets')
  })
  afterEach(async () => {
    await removeDir(path)
  })

  it('refuses a write with KV_CORRUPT_STORE when the directory holds another name, and leaves that bucket whole', async () => {
    let store = new BadgerKV(options())
    await store.open()
    for (let i = 0; i < 5; i++) await store.addValue('moved', `k${i}`, 'precious')
    await store.close()
    // The bucket 'moved' put under the directory of 'elsewhere': open() skips it.
    const elsewhere = join(buckets, bucketDirName('elsewhere'))
    await rename(join(buckets, bucketDirName('moved')), elsewhere)

    store = new BadgerKV(options())
    await store.open()
    try {
      for (const write of [
        () => store.addValue('elsewhere', 'x', 'y'),
        () => store.addValues('elsewhere', [['x', 'y']]),
      ]) {
        const error = await write().catch((e: unknown) => e)
        expect(error).toMatchObject({ code: 'KV_CORRUPT_STORE', file: elsewhere })
        expect((error as Error).message).toContain(elsewhere)
        expect((error as Error).message).toContain('"moved"')
      }
      expect(await keysOf(store, 'elsewhere')).toEqual([])
    } finally {
      await store.close()
    }
    expect(await readFile(join(elsewhere, 'name'), 'utf8')).toBe('moved')
    // Put back where it belongs, the bucket has every key it had.
    await rename(elsewhere, join(buckets, bucketDirName('moved')))
    store = new BadgerKV(options())
    await store.open()
    try {
      expect(await keysOf(store, 'moved')).toEqual(['k0', 'k1', 'k2', 'k3', 'k4'])
      expect(text(await store.getValue('moved', 'k4'))).toBe('precious')
    } finally {
      await store.close()
    }
  })

  it('starts an empty bucket where a directory without a name file holds a database', async () => {
    const store = new BadgerKV(options())
    await store.open()
    try {
      await store.addValue('donor', 'old', 'x')
      // What a deletion whose files could not be removed leaves: no name, a database.
      const leftover = join(buckets, bucketDirName('z'))
      await mkdir(leftover)
      await cp(join(buckets, bucketDirName('donor'), 'db'), join(leftover, 'db'), {
        recursive: true,
      })
      await store.addValue('z', 'new', 'x')
      expect(await keysOf(store, 'z')).toEqual(['new'])
      expect(await readFile(join(leftover, 'name'), 'utf8')).toBe('z')
    } finally {
      await store.close()
    }
  })

  it('takes the directory whose name file names the bucket: a creation that failed after writing it is completed by the next write', async () => {
    const store = new BadgerKV(options({ sync_writes: true }))
    await store.open()
    const dir = join(buckets, bucketDirName('b'))
    try {
      // The creation's sync of the bucket's directory fails: the name file is there, the write
      // was not made.
      const restore = failFileSystem('open', dir)
      let failed: unknown
      try {
        failed = await store.addValue('b', 'k', 'first').catch((e: unknown) => e)
      } finally {
        restore()
      }
      expect(failed).toMatchObject({
        code: 'KV_BACKEND_UNAVAILABLE',
        cause: expect.objectContaining({ code: 'EIO' }),
      })
      expect(await readFile(join(dir, 'name'), 'utf8')).toBe('b')
      expect(await store.getValue('b', 'k')).toBeNull()

      await store.addValue('b', 'k', 'second')
      expect(text(await store.getValue('b', 'k'))).toBe('second')
    } finally {
      await store.close()
    }
    const again = new BadgerKV(options())
    await again.open()
    try {
      expect(text(await again.getValue('b', 'k'))).toBe('second')
    } finally {
      await again.close()
    }
  })
})
