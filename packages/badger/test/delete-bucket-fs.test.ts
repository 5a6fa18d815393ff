/**
 * Per-bucket `deleteBucket` once the bucket's name file is gone (the bucket deleted): what the
 * file system does to the rest of the removal decides only what the call reports. Moving the
 * directory into trash/ may fail, and removing it in place instead then does the job; syncing the
 * deletion may fail, which says the deletion may not be durable, not that files were left.
 */
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bucketDirName } from '../src/bucket-dir.js'
import { BadgerKV } from '../src/index.js'
import { failFileSystem } from './helpers/fail-fs.js'
import { removeDir, tempDir } from './helpers/temp.js'

/** `deleteBucket('t')` with `syscall` failing (EIO) on `dir`; what it rejected with. */
async function deleteBucketFailing(
  store: BadgerKV,
  syscall: Parameters<typeof failFileSystem>[0],
  dir: string,
): Promise<unknown> {
  const restore = failFileSystem(syscall, dir)
  try {
    return await store.deleteBucket('t').catch((e: unknown) => e)
  } finally {
    restore()
  }
}

describe('per-bucket deleteBucket after its name file is gone', () => {
  let path: string
  beforeEach(async () => {
    path = await tempDir('delete-fs')
  })
  afterEach(async () => {
    await removeDir(path)
  })

  it('resolves when the move into trash/ fails but the directory is removed in place', async () => {
    const store = new BadgerKV({ path, single_bucket_mode: false, value_log_gc_enabled: false })
    await store.open()
    try {
      await store.addValue('t', 'k', 'v')
      await store.addValue('kept', 'k', 'v')
      // trash/ gone: the rename into it fails (ENOENT).
      await rm(join(path, 'trash'), { recursive: true })
      await store.deleteBucket('t')
      expect(await readdir(join(path, 'buckets'))).toEqual([bucketDirName('kept')])
      expect(await store.getValue('t', 'k')).toBeNull()
      // The bucket can be created anew at once.
      await store.addValue('t', 'again', 'v')
      expect(await store.existsKey('t', 'again')).toBe(true)
      expect(await store.existsKey('t', 'k')).toBe(false)
    } finally {
      await store.close()
    }
  })

  it('rejects with KV_BACKEND_UNAVAILABLE when the directory can be neither moved nor removed in place; the bucket is deleted all the same', async () => {
    const store = new BadgerKV({ path, single_bucket_mode: false, value_log_gc_enabled: false })
    await store.open()
    try {
      await store.addValue('t', 'k', 'v')
      const dir = join(path, 'buckets', bucketDirName('t'))
      await rm(join(path, 'trash'), { recursive: true })
      const error = await deleteBucketFailing(store, 'rm', dir)
      // The removal's error, not the rename's.
      expect(error).toMatchObject({
        code: 'KV_BACKEND_UNAVAILABLE',
        cause: expect.objectContaining({ code: 'EIO', syscall: 'rm' }),
      })
      expect((error as Error).message).toMatch(
        /was deleted, but its files could not all be removed/,
      )
      expect(await readdir(dir)).toEqual(['db']) // no name: no bucket, removed at the next open
      expect(await store.getValue('t', 'k')).toBeNull()
      // Written again, it starts empty in that directory.
      await store.addValue('t', 'again', 'v')
      expect(await store.existsKey('t', 'k')).toBe(false)
    } finally {
      await store.close()
    }
  })

  it('with sync_writes, rejects with KV_BACKEND_UNAVAILABLE saying the deletion may not be durable when it cannot be synced, and still removes the directory', async () => {
    const store = new BadgerKV({
      path,
      single_bucket_mode: false,
      sync_writes: true,
      value_log_gc_enabled: false,
    })
    await store.open()
    try {
      await store.addValue('t', 'k', 'v')
      const dir = join(path, 'buckets', bucketDirName('t'))
      // The sync of the bucket's directory, after its name file went, fails.
      const error = await deleteBucketFailing(store, 'open', dir)
      expect(error).toMatchObject({
        code: 'KV_BACKEND_UNAVAILABLE',
        cause: expect.objectContaining({ code: 'EIO', syscall: 'open' }),
      })
      const message = (error as Error).message
      expect(message).toMatch(/could not be synced to the disk/)
      expect(message).toMatch(/may be back at the next open/)
      expect(message).not.toMatch(/could not all be removed/)
      // Deleted all the same, nothing left of it in buckets/ or trash/.
      expect(await readdir(join(path, 'buckets'))).toEqual([])
      expect(await readdir(join(path, 'trash'))).toEqual([])
      expect(await store.getValue('t', 'k')).toBeNull()
    } finally {
      await store.close()
    }
  })
})
