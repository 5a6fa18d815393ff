import { randomBytes } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BadgerKV, type BadgerOptions } from '../src/index.js'
import { diskUsage } from './helpers/disk.js'
import { removeDir, tempDir } from './helpers/temp.js'

const collect = async <T>(iterable: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = []
  for await (const item of iterable) out.push(item)
  return out
}

describe.each([
  ['single_bucket_mode: true', { single_bucket_mode: true }],
  ['single_bucket_mode: false', { single_bucket_mode: false }],
] as [string, BadgerOptions][])('deleteBucket (%s)', (_name, options) => {
  let path: string
  let store: BadgerKV
  beforeEach(async () => {
    path = await tempDir('delete')
    store = new BadgerKV({ ...options, path, value_log_gc_enabled: false })
    await store.open()
  })
  afterEach(async () => {
    await store.close()
    await removeDir(path)
  })

  it('gives the space back to the file system', async () => {
    // 8 MiB of incompressible values, so Snappy cannot hide the size.
    const writes: Promise<void>[] = []
    for (let i = 0; i < 2048; i++) writes.push(store.addValue('big', `key-${i}`, randomBytes(4096)))
    await Promise.all(writes)
    await store.addValue('small', 'keep', 'me')
    const before = await diskUsage(path)
    expect(before).toBeGreaterThan(8 * 1024 * 1024)

    await store.deleteBucket('big')
    const after = await diskUsage(path)
    // What is left is LevelDB's fixed overhead and the small bucket, not the 8 MiB.
    expect(after).toBeLessThan(before / 4)
    expect(after).toBeLessThan(2 * 1024 * 1024)

    expect(await store.getValue('big', 'key-1')).toBeNull()
    expect(await collect(store.keys('big'))).toEqual([])
    expect(new TextDecoder().decode((await store.getValue('small', 'keep'))!)).toBe('me')
    expect(await collect(store.buckets())).toEqual(['small'])
  }, 60_000)

  it('orders with the writes around it: before are deleted, after survive', async () => {
    const before = Array.from({ length: 50 }, (_, i) => store.addValue('b', `before-${i}`, 'x'))
    const deleted = store.deleteBucket('b')
    const after = Array.from({ length: 50 }, (_, i) => store.addValue('b', `after-${i}`, 'y'))
    await Promise.all([...before, deleted, ...after])
    const keys = (await collect(store.keys('b'))).map((k) => new TextDecoder().decode(k))
    expect(keys.sort()).toEqual(Array.from({ length: 50 }, (_, i) => `after-${i}`).sort())
  })

  it('a listing in progress ends or goes on cleanly when its bucket is deleted', async () => {
    await Promise.all(
      Array.from({ length: 600 }, (_, i) =>
        store.addValue('b', `k${String(i).padStart(4, '0')}`, 'v'),
      ),
    )
    const seen: string[] = []
    for await (const key of store.keys('b')) {
      seen.push(new TextDecoder().decode(key))
      if (seen.length === 10) await store.deleteBucket('b')
    }
    // Keys come in order, none twice, none invented.
    expect([...seen].sort()).toEqual(seen)
    expect(new Set(seen).size).toBe(seen.length)
    expect(seen.length).toBeGreaterThanOrEqual(10)
    expect(await collect(store.keys('b'))).toEqual([])
  })

  it.each([
    ['a read', (s: BadgerKV) => s.existsKey('b', 'seed')],
    ['an addValue', (s: BadgerKV) => s.addValue('b', 'first', 'x')],
    ['an addValues', (s: BadgerKV) => s.addValues('b', [['first', 'x']])],
    ['a deleteKey', (s: BadgerKV) => s.deleteKey('b', 'seed')],
  ])(
    'orders with the calls around it while the bucket is still being opened (first call: %s)',
    async (_, first) => {
      await store.addValue('b', 'seed', 'x')
      // Per-bucket mode opens a bucket's database at its first use: every call below is issued
      // before it is open.
      await store.close()
      await store.open()
      const calls = [
        first(store),
        store.addValue('b', 'same', 'before'),
        store.addValues('b', [
          ['many', 'x'],
          ['same', 'before, in addValues'],
        ]),
        store.deleteKey('b', 'seed'),
        store.deleteBucket('b'),
        store.addValue('b', 'same', 'after'),
        store.addValues('b', [['after-many', 'x']]),
      ]
      const outcomes = await Promise.allSettled(calls)
      expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([])
      // What was written before deleteBucket is gone; what was written after it is there.
      const keys = (await collect(store.keys('b'))).map((k) => new TextDecoder().decode(k))
      expect(keys).toEqual(['after-many', 'same'])
      expect(new TextDecoder().decode((await store.getValue('b', 'same'))!)).toBe('after')
    },
  )

  it('orders with the calls around it while the bucket is being created', async () => {
    const calls = [
      store.addValue('new', 'same', 'before'),
      store.deleteBucket('new'),
      store.addValue('new', 'same', 'after'),
      store.addValue('new', 'other', 'after'),
    ]
    await Promise.all(calls)
    const keys = (await collect(store.keys('new'))).map((k) => new TextDecoder().decode(k))
    expect(keys).toEqual(['other', 'same'])
    expect(new TextDecoder().decode((await store.getValue('new', 'same'))!)).toBe('after')
  })

  it('a listing that reads its next page while deleteBucket runs ends cleanly', async () => {
    const names = Array.from({ length: 200 }, (_, i) => `k${String(i).padStart(4, '0')}`)
    await store.addValues(
      'b',
      names.map((name) => [name, 'v']),
    )
    const listing = store.keys('b')[Symbol.asyncIterator]()
    const seen: string[] = []
    // keys() reads 64 keys first; the next page is read only once they are used up.
    for (let i = 0; i < 64; i++) seen.push(new TextDecoder().decode((await listing.next()).value))
    const deleted = store.deleteBucket('b') // not awaited: the next page is read while it runs
    for (let r = await listing.next(); !r.done; r = await listing.next()) {
      seen.push(new TextDecoder().decode(r.value))
    }
    await deleted
    // Every key listed was written, in order and once; the first page at least.
    expect(seen).toEqual(names.slice(0, seen.length))
    expect(seen.length).toBeGreaterThanOrEqual(64)
    expect(await collect(store.keys('b'))).toEqual([])
  })

  it('a missing bucket is no error', async () => {
    await store.deleteBucket('never-written')
    expect(await collect(store.buckets())).toEqual([])
  })
})
