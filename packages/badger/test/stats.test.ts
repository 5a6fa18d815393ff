import { randomBytes } from 'node:crypto'
import { isKVError } from '@kv/core'
import { ClassicLevel } from 'classic-level'
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
    // Memory mode has no files. On disk these few bytes are still in the memtable, where LevelDB
    // does not see them: the estimate is tested with data in tables below.
    for (const b of stats.buckets) {
      if (options.memory_mode) expect(b.approximateDiskBytes).toBeUndefined()
      else expect(b.approximateDiskBytes).toEqual(expect.any(Number))
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
    // Not an object: a rejection like any other bad argument, not a TypeError thrown at the call.
    for (const options of [null, 5, 'top']) {
      await expect(store.stats(options as never)).rejects.toMatchObject({
        code: 'KV_INVALID_ARGUMENT',
        argument: 'options',
      })
    }
  })

  it('rejects an unknown option, a top of the wrong type and an array, naming what was wrong', async () => {
    await store.addValue('b', 'k', 'v')
    const unknown = await store.stats({ tpo: 1 } as never).catch((e: unknown) => e)
    expect(unknown).toMatchObject({ code: 'KV_INVALID_ARGUMENT', argument: 'options' })
    // Names the bad key and lists the options there are.
    expect((unknown as Error).message).toMatch(
      /options\.tpo is not an option of stats\(\).*: top\b/,
    )
    // Beside a valid option too: the valid one does not hide the typo.
    await expect(store.stats({ top: 2, limit: 5 } as never)).rejects.toMatchObject({
      code: 'KV_INVALID_ARGUMENT',
      message: expect.stringContaining('options.limit'),
    })
    // null was taken for the default 10, and an array for an object with no options.
    for (const top of [null, '3', 1.5, Number.NaN, Number.POSITIVE_INFINITY, -1, 10n]) {
      await expect(store.stats({ top } as never)).rejects.toMatchObject({
        code: 'KV_INVALID_ARGUMENT',
        argument: 'options.top',
      })
    }
    const string = await store.stats({ top: '3' } as never).catch((e: unknown) => e)
    expect((string as Error).message).toContain('got "3" (a string)')
    await expect(store.stats([] as never)).rejects.toMatchObject({
      code: 'KV_INVALID_ARGUMENT',
      argument: 'options',
    })
    // What was valid stays valid.
    for (const options of [undefined, {}, { top: undefined }, { top: 0 }, { top: 1 }]) {
      expect((await store.stats(options)).totalKeys).toBe(1)
    }
  })

  it('checks the options before anything else: on a closed store a typo is KV_INVALID_ARGUMENT', async () => {
    // Nothing can have been read: the store was never opened, and a valid call is KV_NOT_OPEN.
    const closed = new BadgerKV({ ...options, path: `${path}-never` })
    await expect(closed.stats({ tpo: 1 } as never)).rejects.toMatchObject({
      code: 'KV_INVALID_ARGUMENT',
    })
    await expect(closed.stats({ top: 1 })).rejects.toMatchObject({ code: 'KV_NOT_OPEN' })
  })

  // Skipped in memory mode: memory-level has no files (approximateDiskBytes is undefined there,
  // asserted above) and reopening it would empty it.
  it.skipIf(options.memory_mode)(
    "estimates each bucket's own file space once its data is in tables",
    async () => {
      // 4 MiB of incompressible values, so Snappy cannot shrink the estimate away.
      const big = 1024 * 4096
      await Promise.all(
        Array.from({ length: 1024 }, (_, i) => store.addValue('big', `k${i}`, randomBytes(4096))),
      )
      await store.addValue('tiny', 'k', 'v')
      // LevelDB estimates from table files only; reopening turns the log into a table.
      await store.close()
      await store.open()

      const sizes = new Map(
        (await store.stats()).buckets.map((b) => [b.bucket, b.approximateDiskBytes!]),
      )
      // The big bucket's values plus table overhead (index, block trailers, keys): near 4 MiB.
      expect(sizes.get('big')).toBeGreaterThan(big * 0.9)
      expect(sizes.get('big')).toBeLessThan(big * 1.5)
      // The tiny bucket's estimate is its own range, not the database's (in single-bucket mode
      // LevelDB's estimate of a range at the end of a table takes in the table's index: ~35 KB).
      expect(sizes.get('tiny')).toBeLessThan(big / 16)
    },
    60_000,
  )

  it('rejects with KV_NOT_OPEN on a closed store', async () => {
    const closed = new BadgerKV({ ...options, path: `${path}-never` })
    expect(isKVError(await closed.stats().catch((e: unknown) => e), 'KV_NOT_OPEN')).toBe(true)
  })
})

describe.each([
  ['single_bucket_mode: true', { single_bucket_mode: true }],
  ['single_bucket_mode: false', { single_bucket_mode: false }],
] as [string, BadgerOptions][])('stats() and deleteBucket (%s)', (_name, options) => {
  it('a bucket deleted while stats() reads it does not fail the rest', async () => {
    const path = await tempDir('stats-delete')
    const store = new BadgerKV({ ...options, path, value_log_gc_enabled: false })
    await store.open()
    type Iterator = { nextv: (size: number) => Promise<unknown[]> }
    const iterator = ClassicLevel.prototype.iterator
    try {
      await store.addValue('a', 'k', 'v')
      await store.addValues(
        'b',
        Array.from({ length: 5000 }, (_, i) => [`k${i}`, 'v'] as const),
      )
      await store.addValue('c', 'k', 'vv')
      // Once the scan has read b's first page (a and c have one key each), b is deleted.
      let deleted: Promise<void> | undefined
      ClassicLevel.prototype.iterator = function (this: ClassicLevel, ...args: unknown[]) {
        const it = iterator.apply(this, args as never) as unknown as Iterator
        const nextv = it.nextv.bind(it)
        it.nextv = async (size) => {
          const page = await nextv(size)
          if (page.length > 1) deleted ??= store.deleteBucket('b')
          return page
        }
        return it as never
      }
      const stats = await store.stats()
      ClassicLevel.prototype.iterator = iterator
      await deleted
      expect(deleted).toBeDefined()
      const others = stats.buckets.filter((b) => b.bucket !== 'b')
      expect(others).toMatchObject([
        { bucket: 'a', keys: 1, keyBytes: 1, valueBytes: 1 },
        { bucket: 'c', keys: 1, keyBytes: 1, valueBytes: 2 },
      ])
      // Per-bucket mode skips the bucket whose database closed under the scan; a single LevelDB
      // reads from a snapshot, so it may count b whole.
      if (!options.single_bucket_mode)
        expect(stats.buckets.map((b) => b.bucket)).toEqual(['a', 'c'])
      expect(await store.existsKey('b', 'k0')).toBe(false)
    } finally {
      ClassicLevel.prototype.iterator = iterator
      await store.close()
      await removeDir(path)
    }
  })
})
