/**
 * `keys()` reads LevelDB in pages that grow from 64 to 4096 keys: listings that cross many page
 * boundaries, with and without a prefix and a limit, in every mode, against what was written.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BadgerKV, type BadgerOptions } from '../src/index.js'
import { removeDir, tempDir } from './helpers/temp.js'

const key = (i: number): string => `k${String(i).padStart(5, '0')}`
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)

async function list(
  store: BadgerKV,
  bucket: string,
  options?: { prefix?: string; limit?: number },
) {
  const out: string[] = []
  for await (const k of store.keys(bucket, options)) out.push(text(k))
  return out
}

describe.each([
  ['single_bucket_mode: true', { single_bucket_mode: true }],
  ['single_bucket_mode: false', { single_bucket_mode: false }],
  ['memory_mode: true', { memory_mode: true }],
] as [string, BadgerOptions][])('keys() in growing pages (%s)', (_name, options) => {
  const N = 9000 // 64 + 128 + … + 4096 = 8128: the last pages are full-size ones
  let path: string
  let store: BadgerKV
  beforeEach(async () => {
    path = await tempDir('key-pages')
    store = new BadgerKV({ ...options, path })
    await store.open()
    const all = Array.from({ length: N }, (_, i): [string, string] => [key(i), `v${i}`])
    for (let i = 0; i < N; i += 1000) await store.addValues('b', all.slice(i, i + 1000))
    // Neighbours on both sides, which no listing of 'b' may show.
    await store.addValues('a', [[key(1), 'x']])
    await store.addValues('c', [[key(1), 'x']])
  })
  afterEach(async () => {
    await store.close()
    await removeDir(path)
  })

  it('lists every key once, in order', async () => {
    expect(await list(store, 'b')).toEqual(Array.from({ length: N }, (_, i) => key(i)))
  })

  it('lists a prefix that spans several pages, and stops at a limit inside a later page', async () => {
    const prefixed = await list(store, 'b', { prefix: 'k00' })
    expect(prefixed).toEqual(Array.from({ length: 1000 }, (_, i) => key(i)))
    expect(await list(store, 'b', { prefix: 'k008', limit: 70 })).toEqual(
      Array.from({ length: 70 }, (_, i) => key(800 + i)),
    )
    expect(await list(store, 'b', { limit: 5000 })).toHaveLength(5000)
    expect(await list(store, 'b', { limit: 1 })).toEqual([key(0)])
  })

  it.each([
    ['0xff', 0xff],
    ['0x00', 0x00],
  ])(
    'a caller that overwrites each key it is given with %s still gets every key once',
    async (_, fill) => {
      // The caller owns the keys it gets: writing over them, the last of a page included, may not
      // move where the next page starts (0xff bytes skipped the rest; 0x00 bytes repeated keys).
      const seen: string[] = []
      for await (const k of store.keys('b')) {
        seen.push(text(k))
        k.fill(fill)
        if (seen.length > N) break // a listing that repeats keys could go on for ever
      }
      expect(seen).toEqual(Array.from({ length: N }, (_, i) => key(i)))
    },
  )

  it('sees keys written behind the listing and not those deleted ahead of it', async () => {
    const seen: string[] = []
    for await (const k of store.keys('b')) {
      seen.push(text(k))
      if (seen.length === 100) {
        await store.deleteKey('b', key(5000))
        await store.addValue('b', 'z-late', 'v')
      }
    }
    expect(seen).toHaveLength(N)
    expect(seen).not.toContain(key(5000))
    expect(seen.at(-1)).toBe('z-late')
  })

  it('an abandoned listing does not hold close() up', async () => {
    for await (const _ of store.keys('b')) break
    const iterator = store.keys('b')[Symbol.asyncIterator]()
    await iterator.next()
    await store.close()
    await expect(iterator.next()).rejects.toMatchObject({ code: 'KV_NOT_OPEN' })
    await store.open()
  })
})
