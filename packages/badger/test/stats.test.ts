import { isKVError } from '@kv/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BadgerKV, type BadgerOptions } from '../src/index.js'
import { removeDir, tempDir } from './helpers/temp.js'

describe.each([
  ['single_bucket_mode: true', { single_bucket_mode: true }],
  ['single_bucket_mode: false', { single_bucket_mode: false }],
  ['memory_mode: true', { memory_mode: true }],
] as [string, BadgerOptions][])('stats() (%s)', (_name, options) => {
  let path: string
  let store: BadgerKV
  beforeEach(async () => {
    path = await tempDir('stats')
    store = new BadgerKV({ ...options, path, value_log_gc_enabled: false })
    await store.open()
  })
  afterEach(async () => {
    await store.close()
    await removeDir(path)
  })

  it('counts keys and bytes per bucket and lists the largest values', async () => {
    for (let i = 0; i < 10; i++) await store.addValue('a', `k${i}`, 'x'.repeat(10))
    await store.addValue('a,b', 'big', new Uint8Array(5000))
    await store.addValue('a,b', 'medium', new Uint8Array(300))
    await store.addValue('\u0000', '', 'v')
    await store.addValue('gone', 'k', 'v')
    await store.deleteKey('gone', 'k')

    const stats = await store.stats({ top: 2 })
    expect(stats.mode).toBe(
      options.memory_mode ? 'memory' : options.single_bucket_mode ? 'single' : 'per-bucket',
    )
    expect(stats.path).toBe(options.memory_mode ? undefined : path)
    expect(stats.buckets.map((b) => b.bucket)).toEqual(['\u0000', 'a', 'a,b'])
    const a = stats.buckets.find((b) => b.bucket === 'a')!
    expect(a).toMatchObject({ keys: 10, keyBytes: 20, valueBytes: 100 })
    const ab = stats.buckets.find((b) => b.bucket === 'a,b')!
    expect(ab).toMatchObject({ keys: 2, keyBytes: 9, valueBytes: 5300 })
    expect(stats.buckets.find((b) => b.bucket === '\u0000')).toMatchObject({
      keys: 1,
      keyBytes: 0,
      valueBytes: 1,
    })
    for (const b of stats.buckets) {
      if (options.memory_mode) expect(b.approximateDiskBytes).toBeUndefined()
      else expect(b.approximateDiskBytes).toBeGreaterThanOrEqual(0)
    }
    expect(
      stats.topKeys.map((t) => [t.bucket, new TextDecoder().decode(t.key), t.valueBytes]),
    ).toEqual([
      ['a,b', 'big', 5000],
      ['a,b', 'medium', 300],
    ])
    expect(stats.topKeys[0]!.key).toBeInstanceOf(Uint8Array)
    expect(stats.totalKeys).toBe(13)
    expect(stats.totalBytes).toBe(20 + 100 + 9 + 5300 + 1)
  })

  it('defaults to the 10 largest values and rejects a bad top', async () => {
    for (let i = 0; i < 15; i++) await store.addValue('b', `k${i}`, new Uint8Array(i))
    const stats = await store.stats()
    expect(stats.topKeys.map((t) => t.valueBytes)).toEqual([14, 13, 12, 11, 10, 9, 8, 7, 6, 5])
    expect((await store.stats({ top: 0 })).topKeys).toEqual([])
    const error = await store.stats({ top: -1 }).catch((e: unknown) => e)
    expect(isKVError(error, 'KV_INVALID_ARGUMENT')).toBe(true)
  })

  it('rejects with KV_NOT_OPEN on a closed store', async () => {
    const closed = new BadgerKV({ ...options, path: `${path}-never` })
    expect(isKVError(await closed.stats().catch((e: unknown) => e), 'KV_NOT_OPEN')).toBe(true)
  })
})
