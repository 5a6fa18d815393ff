import { randomBytes } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { isKVError } from '@kv/core'
import { describe, expect, it } from 'vitest'
import { bucketDirName } from '../src/bucket-dir.js'
import { type GcDue, GcTracker } from '../src/gc.js'
import { BadgerKV, type BadgerOptions } from '../src/index.js'
import { diskUsage } from './helpers/disk.js'
import { removeDir, tempDir } from './helpers/temp.js'

describe('GcTracker', () => {
  it('reports the buckets where deletes reach the discard ratio, then starts afresh', () => {
    const gc = new GcTracker()
    for (let i = 0; i < 10; i++) gc.record('mostly-deleted', i < 6)
    for (let i = 0; i < 10; i++) gc.record('half', i < 5)
    for (let i = 0; i < 10; i++) gc.record('few', i < 2)
    for (let i = 0; i < 10; i++) gc.record('no-deletes', false)
    gc.record('forgotten', true)
    gc.forget('forgotten')
    expect(dueBuckets(gc.take(0.5)).sort()).toEqual(['half', 'mostly-deleted'])
    expect(gc.take(0.5)).toEqual({ all: false, buckets: [] })
  })

  it('keeps a bucket given back with retry() due at the next take, whatever is written meanwhile', () => {
    const gc = new GcTracker()
    gc.retry('failed')
    gc.record('failed', false)
    gc.record('failed', false)
    gc.record('failed', false)
    gc.retry('deleted')
    gc.forget('deleted')
    expect(gc.take(0.5)).toEqual({ all: false, buckets: ['failed'] })
    expect(gc.take(0.5)).toEqual({ all: false, buckets: [] })
  })

  it('holds at most its limit of buckets: those with no delete make room, those with deletes stay due', () => {
    const gc = new GcTracker(10)
    for (let i = 0; i < 4; i++) {
      gc.record(`d${i}`, false)
      gc.record(`d${i}`, true)
    }
    let most = 0
    for (let i = 0; i < 1000; i++) {
      gc.record(`put-only-${i}`, false)
      most = Math.max(most, gc.size)
    }
    expect(most).toBe(10)
    expect(dueBuckets(gc.take(0.5)).sort()).toEqual(['d0', 'd1', 'd2', 'd3'])
    expect(gc.size).toBe(0)
  })

  it('past its limit with more than half of it taking deletes, holds nothing and makes the whole keyspace due, once', () => {
    const gc = new GcTracker(10)
    let most = 0
    for (let i = 0; i < 1000; i++) {
      gc.record(`d${i}`, true)
      most = Math.max(most, gc.size)
    }
    expect(most).toBe(10)
    expect(gc.size).toBe(0)
    gc.retry('failed') // everything is due already
    expect(gc.size).toBe(0)
    expect(gc.take(0.5)).toEqual({ all: true })
    gc.record('after', true)
    expect(gc.take(0.5)).toEqual({ all: false, buckets: ['after'] })
  })

  it('retryAll() makes the whole keyspace due at the next take', () => {
    const gc = new GcTracker()
    gc.record('b', true)
    gc.retryAll()
    expect(gc.take(0.5)).toEqual({ all: true })
    expect(gc.take(0.5)).toEqual({ all: false, buckets: [] })
  })
})

function dueBuckets(due: GcDue): string[] {
  if (due.all) throw new Error('the whole keyspace is due')
  return due.buckets
}

/** How many file descriptors this process has open (Linux), or -1 where that cannot be read. */
function openDescriptors(): number {
  try {
    return readdirSync('/proc/self/fd').length
  } catch {
    return -1
  }
}

/** Writes 4 MiB of incompressible values and gets them into tables (opening turns the log into one). */
async function fillAndFlush(store: BadgerKV, bucket: string): Promise<void> {
  await Promise.all(
    Array.from({ length: 1024 }, (_, i) => store.addValue(bucket, `k${i}`, randomBytes(4096))),
  )
  await store.close()
  await store.open()
}

describe.each([
  ['single_bucket_mode: true', { single_bucket_mode: true }],
  ['single_bucket_mode: false', { single_bucket_mode: false }],
] as [string, BadgerOptions][])('value_log_gc (%s)', (_name, options) => {
  it('a pass compacts a bucket whose writes were mostly deletes, freeing their space', async () => {
    const path = await tempDir('gc')
    const store = new BadgerKV({ ...options, path, value_log_gc_enabled: false })
    await store.open()
    try {
      await fillAndFlush(store, 'g')
      await store.addValue('kept', 'k', 'v')
      for (let i = 0; i < 1024; i++) await store.deleteKey('g', `k${i}`)
      const before = await diskUsage(path)
      expect(before).toBeGreaterThan(4 * 1024 * 1024)
      expect(await store.runGc()).toEqual(['g'])
      const after = await diskUsage(path)
      expect(after).toBeLessThan(before / 4)
      expect(await store.existsKey('kept', 'k')).toBe(true)
      expect(await store.runGc()).toEqual([])
    } finally {
      await store.close()
      await removeDir(path)
    }
  }, 60_000)

  it('a pass after close() and open() compacts a bucket whose deletes came before them, and leaves no file of it open', async () => {
    const path = await tempDir('gc')
    const store = new BadgerKV({ ...options, path, value_log_gc_enabled: false })
    await store.open()
    try {
      await fillAndFlush(store, 'g')
      // All but k0 (so the bucket stays), and two absent keys: deletes are half the writes.
      for (let i = 1; i < 1024; i++) await store.deleteKey('g', `k${i}`)
      await store.deleteKey('g', 'absent-1')
      await store.deleteKey('g', 'absent-2')
      // The store counts the deletes across the reopen; per-bucket mode has not opened `g` since.
      await store.close()
      await store.open()
      const before = await diskUsage(path)
      expect(before).toBeGreaterThan(4 * 1024 * 1024)
      const descriptors = openDescriptors()
      expect(await store.runGc()).toEqual(['g'])
      expect(await diskUsage(path)).toBeLessThan(before / 4)
      // Per-bucket mode opened `g` for the pass only: it holds none of its files open after it.
      expect(openDescriptors()).toBe(descriptors)
      expect((await store.getValue('g', 'k0'))?.length).toBe(4096)
      expect(await store.getValue('g', 'k1')).toBeNull()
    } finally {
      await store.close()
      await removeDir(path)
    }
  }, 60_000)

  it('runs by itself every value_log_gc_interval_in_seconds', async () => {
    const path = await tempDir('gc')
    const store = new BadgerKV({ ...options, path, value_log_gc_interval_in_seconds: 1 })
    await store.open()
    try {
      await fillAndFlush(store, 'g')
      for (let i = 0; i < 1024; i++) await store.deleteKey('g', `k${i}`)
      const before = await diskUsage(path)
      let after = before
      for (let waited = 0; waited < 30_000 && after > before / 4; waited += 250) {
        await new Promise((resolve) => setTimeout(resolve, 250))
        after = await diskUsage(path)
      }
      expect(after).toBeLessThan(before / 4)
    } finally {
      await store.close()
      await removeDir(path)
    }
  }, 60_000)

  it('deletes issued while a deleteBucket is in flight are counted for the bucket created anew', async () => {
    const path = await tempDir('gc')
    const store = new BadgerKV({ ...options, path, value_log_gc_enabled: false })
    await store.open()
    try {
      await store.addValue('y', 'a', '1')
      // Issued before the deletion resolves, after it in order: writes to the new bucket, half
      // of them deletes (the default ratio is 0.5).
      const deleted = store.deleteBucket('y')
      const after = [
        store.addValue('y', 'n1', '1'),
        store.deleteKey('y', 'n1'),
        store.addValue('y', 'n2', '1'),
        store.deleteKey('y', 'n2'),
      ]
      await Promise.all([deleted, ...after])
      expect(await store.runGc()).toEqual(['y'])
    } finally {
      await store.close()
      await removeDir(path)
    }
  })

  it('runGc on a closed store is KV_NOT_OPEN', async () => {
    const store = new BadgerKV({ ...options, path: '/nonexistent/never-opened' })
    expect(isKVError(await store.runGc().catch((e: unknown) => e), 'KV_NOT_OPEN')).toBe(true)
  })
})

describe('what value_log_gc counts (single_bucket_mode: false)', () => {
  it('deletes in buckets that do not exist are not counted: runGc() reports only buckets it compacted', async () => {
    const path = await tempDir('gc')
    const store = new BadgerKV({ path, single_bucket_mode: false, value_log_gc_enabled: false })
    await store.open()
    try {
      await store.addValue('real', 'k1', 'v')
      await store.addValue('real', 'k2', 'v')
      await store.deleteKey('real', 'k1')
      await store.deleteKey('real', 'absent') // deletes are half the writes: due
      // No such buckets: nothing is written, and there is nothing of them to compact.
      for (let i = 0; i < 100; i++) await store.deleteKey(`never-${i}`, 'k')
      // A bucket deleted after its deletes were counted: nothing of it is left to compact.
      await store.addValue('dropped', 'k', 'v')
      await store.deleteKey('dropped', 'k')
      await store.deleteBucket('dropped')
      expect(await store.runGc()).toEqual(['real'])
      expect(await store.getValue('real', 'k2')).not.toBeNull()
    } finally {
      await store.close()
      await removeDir(path)
    }
  })

  it('a bucket whose deletion failed, left as it was with the deletes counted before, is due at the next pass', async () => {
    const path = await tempDir('gc')
    const store = new BadgerKV({ path, single_bucket_mode: false, value_log_gc_enabled: false })
    await store.open()
    try {
      await store.addValue('b', 'k1', 'v')
      await store.addValue('b', 'k2', 'v')
      await store.deleteKey('b', 'k1')
      await store.deleteKey('b', 'absent') // deletes are half the writes: due
      // A directory where the name file is: unlinking it fails (EISDIR), as on a failing disk.
      const name = join(path, 'buckets', bucketDirName('b'), 'name')
      await rm(name)
      await mkdir(name)
      const error = await store.deleteBucket('b').catch((e: unknown) => e)
      expect(isKVError(error, 'KV_BACKEND_UNAVAILABLE')).toBe(true)
      // Its tombstones are still there: the pass compacts it.
      expect(await store.runGc()).toEqual(['b'])
      expect(await store.existsKey('b', 'k2')).toBe(true)
    } finally {
      await store.close()
      await removeDir(path)
    }
  })
})
