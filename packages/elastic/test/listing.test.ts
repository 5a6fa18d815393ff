/**
 * keys(), buckets() and deleteBucket() at scale and at the edges: more than the 10 000-hit
 * result window (search_after), pages of buckets (composite `after`), and keys long enough to
 * span several key fields (up to 64 KiB), in byte order and by prefix. The stand-in refuses
 * prefix and range queries on keyword fields, as a cluster with
 * `search.allow_expensive_queries: false` does: keys() by prefix must not need them.
 */
import { constants } from 'node:buffer'
import { compareBytes } from '@kv/core'
import { type Standin, startStandin } from '@kv/es-standin'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ElasticKV, ElasticKVOptions } from '../src/index.js'
import { startProxy } from './proxy.js'
import { collect, withFreshStore } from './targets.js'

let standin: Standin
beforeAll(async () => {
  standin = await startStandin({ allowExpensiveQueries: false })
})
afterAll(async () => {
  await standin.close()
})

const withStore = (options: ElasticKVOptions, body: (store: ElasticKV) => Promise<void>) =>
  withFreshStore(standin.url, 'listing', options, body)
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

describe('beyond the 10 000-result window', () => {
  it('lists, limits and deletes 10 050 keys of one bucket', async () => {
    await withStore({ page_size: 5000 }, async (store) => {
      const count = 10_050
      const keys = Array.from({ length: count }, (_, i) => `k${String(i).padStart(6, '0')}`)
      for (let i = 0; i < count; i += 1000) {
        await Promise.all(keys.slice(i, i + 1000).map((key) => store.addValue('many', key, 'v')))
      }
      await store.addValue('other', 'k', 'v')
      standin.resetCounts()
      const listed = (await collect(store.keys('many'))).map((key) => new TextDecoder().decode(key))
      expect(listed).toEqual(keys)
      // Three pages (page_size 5000, capped at what one answer can hold, next test): the third
      // goes past the window with search_after.
      expect(standin.counts().byEndpoint.search).toBe(3)
      expect((await collect(store.keys('many', { limit: 7 }))).length).toBe(7)
      expect((await collect(store.keys('many', { prefix: 'k0100' }))).length).toBe(50)
      await store.deleteBucket('many')
      expect(await collect(store.keys('many'))).toEqual([])
      expect(await collect(store.buckets())).toEqual(['other'])
    })
  }, 120_000)
})

describe('keys() pages', () => {
  it('asks for no more keys per page than one answer can hold, whatever page_size says', async () => {
    // The client reads an answer into one string; each hit may carry a 64 KiB key as 128 KiB of
    // hex. 10 000 such hits would be 1.3 GB, more than Node's longest string.
    const sizes: number[] = []
    const proxy = await startProxy(standin.url, (req) => {
      if (req.url.split('?')[0]!.endsWith('/_search'))
        sizes.push((JSON.parse(req.body.toString('utf8')) as { size: number }).size)
      return undefined
    })
    try {
      await withFreshStore(proxy.url, 'listing', { page_size: 10_000 }, async (store) => {
        const longest = new Uint8Array(64 * 1024).fill(0xff)
        await store.addValue('b', longest, 'v')
        expect((await collect(store.keys('b'))).map(hex)).toEqual([hex(longest)])
      })
    } finally {
      await proxy.close()
    }
    expect(sizes).toHaveLength(1)
    expect(sizes[0]! * 2 * 64 * 1024).toBeLessThanOrEqual(constants.MAX_STRING_LENGTH)
    // Still larger pages than the default page_size.
    expect(sizes[0]).toBeGreaterThan(1000)
  })
})

describe('keys() while the bucket changes', () => {
  it('lists every key not deleted during the listing exactly once, in order, as keys are deleted and added between pages', async () => {
    // refresh: true makes every change searchable at once, so each page sees the changes made
    // since the one before. Deleting the keys already listed shifts every later key towards the
    // start: paging by offset would skip some, paging after the last key listed skips none.
    await withStore({ page_size: 3, refresh: 'true' }, async (store) => {
      const name = (i: number) => `k${String(i).padStart(2, '0')}`
      const original = Array.from({ length: 30 }, (_, i) => name(i))
      await Promise.all(original.map((key) => store.addValue('b', key, 'v')))
      const deletedAhead = new Set<string>()
      const listed: string[] = []
      for await (const bytes of store.keys('b')) {
        const key = new TextDecoder().decode(bytes)
        listed.push(key)
        await store.deleteKey('b', key)
        // Ahead of the listing: delete a key not listed yet, and add one.
        if (listed.length <= 5) {
          const ahead = name(29 - listed.length)
          deletedAhead.add(ahead)
          await store.deleteKey('b', ahead)
          await store.addValue('b', `${ahead}+`, 'v')
        }
      }
      const sorted = [...listed].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)))
      expect(listed).toEqual(sorted)
      expect(new Set(listed).size).toBe(listed.length)
      const kept = original.filter((key) => !deletedAhead.has(key))
      expect(kept.filter((key) => !listed.includes(key))).toEqual([])
    })
  })
})

describe('buckets()', () => {
  it('pages through buckets in UTF-8 byte order', async () => {
    await withStore({ page_size: 2 }, async (store) => {
      const names = ['b', 'a', '\uffff', '😀', 'a\0', 'ab', 'Z']
      for (const name of names) await store.addValue(name, 'k', 'v')
      const expected = [...names].sort((x, y) => compareBytes(Buffer.from(x), Buffer.from(y)))
      standin.resetCounts()
      expect(await collect(store.buckets())).toEqual(expected)
      expect(standin.counts().byEndpoint.search).toBe(4)
    })
  })
})

describe('keys() by prefix', () => {
  it('lists exactly the keys that start with the prefix, at the edges of the range they make', async () => {
    await withStore({ page_size: 2 }, async (store) => {
      const bytes = (...values: number[]) => new Uint8Array(values)
      // Prefixes whose hex ends in each kind of digit ('0', '9', 'a', 'f'), and keys just
      // outside and just inside each one's range: the prefix less its last byte, the prefix with
      // its last byte one lower and then 0xff, the prefix itself and followed by 0x00 or 0xff,
      // the prefix with its last byte one higher.
      const prefixes = [
        bytes(0x00),
        bytes(0x61, 0x60),
        bytes(0x61, 0x69),
        bytes(0x6a),
        bytes(0xff),
        bytes(0x61, 0x62),
      ]
      const keys = new Map<string, Uint8Array>()
      const add = (key: Uint8Array) => keys.set(hex(key), key)
      add(new Uint8Array(0))
      for (const prefix of prefixes) {
        const head = [...prefix.subarray(0, -1)]
        const last = prefix[prefix.length - 1]!
        add(bytes(...head))
        if (last > 0) add(bytes(...head, last - 1, 0xff, 0xff))
        add(prefix)
        add(bytes(...prefix, 0x00))
        add(bytes(...prefix, 0xff))
        if (last < 0xff) add(bytes(...head, last + 1))
      }
      for (const key of keys.values()) await store.addValue('edges', key, 'v')
      await store.addValue('other', bytes(0x61, 0x62), 'v')
      for (const prefix of prefixes) {
        const expected = [...keys.values()]
          .filter((key) => Buffer.from(key).subarray(0, prefix.length).equals(prefix))
          .sort(compareBytes)
          .map(hex)
        expect(expected.length, hex(prefix)).toBe(3)
        expect((await collect(store.keys('edges', { prefix }))).map(hex), hex(prefix)).toEqual(
          expected,
        )
      }
      expect(await collect(store.keys('edges', { prefix: bytes(0x61, 0x62, 0x63) }))).toEqual([])
    })
  })
})

describe('long keys', () => {
  it('orders, reads and filters keys that span several key fields', async () => {
    await withStore({ page_size: 3 }, async (store) => {
      const base = (length: number, fill: number) => new Uint8Array(length).fill(fill)
      const withTail = (length: number, tail: number[]) => {
        const key = base(length + tail.length, 0x61)
        key.set(tail, length)
        return key
      }
      const keys = [
        base(15_999, 0x61),
        base(16_000, 0x61),
        base(16_001, 0x61),
        withTail(16_000, [0x00]),
        withTail(16_000, [0xff]),
        withTail(32_000, [0x62]),
        base(65_536, 0x61),
        withTail(65_535, [0x00]),
        base(65_536, 0xff),
        new Uint8Array(0),
        new Uint8Array([0x61, 0x62]),
      ]
      for (const [i, key] of keys.entries()) await store.addValue('long', key, `v${i}`)
      const sorted = [...keys].sort(compareBytes).map(hex)
      expect((await collect(store.keys('long'))).map(hex)).toEqual(sorted)
      for (const [i, key] of keys.entries())
        expect(await store.getValue('long', key)).toEqual(new TextEncoder().encode(`v${i}`))
      for (const prefix of [
        base(16_000, 0x61),
        base(16_001, 0x61),
        base(40_000, 0x61),
        base(65_536, 0x61),
        new Uint8Array([0xff]),
      ]) {
        const expected = sorted.filter((key) => key.startsWith(hex(prefix)))
        expect(
          (await collect(store.keys('long', { prefix }))).map(hex),
          `prefix of ${prefix.length} bytes`,
        ).toEqual(expected)
      }
    })
  })
})
