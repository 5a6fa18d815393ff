/**
 * Large listings (SPEC §3 interface, §7): `keys()`, `buckets()` and `deleteBucket()` over more
 * entries than one page of any backend. Backends read a page at a time (badger's key pages grow
 * from 64 to 4,096 keys, elastic's hold 1,000 keys or buckets, a search without paging stops at
 * 10,000 hits), so a bug at a page boundary shows only with enough entries: the listing is
 * compared entry by entry, never by its count alone.
 *
 * The entries are written with `addValues`, so that even a backend with a network round trip or
 * an fsync per write fills a bucket in well under a second.
 *
 * @module
 */
import assert from 'node:assert/strict'
import type { KVStore } from '@kv/core'
import {
  assertMissing,
  assertSameList,
  assertValue,
  bucketNames,
  hex,
  keysHex,
  show,
} from '../harness/assertions.js'
import { byteOrder, bytes, hasPrefix, sortedByUtf8, text } from '../harness/data.js'
import { storeTests } from '../harness/define.js'
import type { ConformanceSuite } from '../suite.js'

/** More keys than the 10,000 hits a search without paging returns. */
const MANY_KEYS = 10_001

/**
 * Key `i` of the big bucket: two bytes that are a permutation of `i` (so byte order is far from
 * the order of writing, and half the keys start with a byte over 0x7F), then 0, 1 or 2 more
 * bytes (0x00 and 0xFF included), so keys of different lengths interleave.
 */
function manyKey(i: number): Uint8Array {
  const p = (i * 40_503) & 0xffff
  const tail = [[], [0xff], [0x00, 0x7f]][i % 3]!
  return bytes(p >> 8, p & 0xff, ...tail)
}

/** `count` keys `name-00000`…, in a scrambled order (7,919 is prime to 10,000). */
function numbered(name: string, count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) =>
    text(`${name}-${String((i * 7_919) % 10_000).padStart(4, '0')}`),
  )
}

/** `keys` sorted by their bytes (Node's `Buffer.compare`), as hex. */
const sortedHex = (keys: readonly Uint8Array[]): string[] => [...keys].sort(byteOrder).map(hex)

/** Listings and deletes beyond one page. */
export const largeListings: ConformanceSuite = (runner, target) => {
  runner.describe('large listings', () => {
    const test = storeTests(runner, target)

    test('§3 keys() lists all 10,001 keys of a bucket, in ascending byte order, and a limit across pages', async (store) => {
      const keys = Array.from({ length: MANY_KEYS }, (_, i) => manyKey(i))
      await store.addValues(
        'big',
        keys.map((key, i): [Uint8Array, string] => [key, `v${i}`]),
      )
      await store.addValue('big,', 'other bucket', 'v')
      const expected = sortedHex(keys)
      assertSameList(
        await keysHex(store, 'big'),
        expected,
        `keys("big") of ${MANY_KEYS} keys (hex)`,
      )
      for (const i of [0, 1, 5_000, MANY_KEYS - 1]) {
        await assertValue(store, 'big', keys[i]!, text(`v${i}`))
      }
      for (const limit of [999, 1_000, 1_001, 2_500]) {
        assertSameList(
          await keysHex(store, 'big', { limit }),
          expected.slice(0, limit),
          `keys("big", { limit: ${limit} }) (hex)`,
        )
      }
    })

    test('§3 keys() with a prefix that 1,200 keys of 2,500 start with lists all of them, in order', async (store) => {
      // Around "p/": keys that sort just before it ("p", "p."), just after it ("p0") and far off.
      const matching = Array.from({ length: 1_200 }, (_, i) => {
        const p = (i * 40_503) & 0xffff
        return bytes(0x70, 0x2f, p >> 8, p & 0xff) // "p/" then two bytes, high ones included
      })
      const others = [
        text('p'),
        ...numbered('o/', 400),
        ...numbered('p.', 300),
        ...numbered('p0', 300),
        ...numbered('q/', 299),
      ]
      const all = [...matching, ...others]
      assert.equal(all.length, 2_500)
      // Interleaved, so that the matching keys are not written in one run.
      const order = all.map((_, i) => all[(i * 7) % all.length]!)
      await store.addValues(
        'b',
        order.map((key): [Uint8Array, string] => [key, 'v']),
      )
      await store.addValues(
        'c',
        matching.slice(0, 50).map((key): [Uint8Array, string] => [key, 'in c']),
      )
      const expected = sortedHex(matching)
      assertSameList(
        await keysHex(store, 'b', { prefix: 'p/' }),
        expected,
        'keys("b", { prefix: "p/" })',
      )
      assertSameList(
        await keysHex(store, 'b', { prefix: bytes(0x70, 0x2f) }),
        expected,
        'keys("b", { prefix: 0x702f })',
      )
      for (const limit of [1_000, 1_001, 1_100]) {
        assertSameList(
          await keysHex(store, 'b', { prefix: 'p/', limit }),
          expected.slice(0, limit),
          `keys("b", { prefix: "p/", limit: ${limit} })`,
        )
      }
      const wider = all.filter((key) => hasPrefix(key, text('p')))
      assert.equal(wider.length, 1_801)
      assertSameList(
        await keysHex(store, 'b', { prefix: 'p' }),
        sortedHex(wider),
        'keys("b", { prefix: "p" })',
      )
    })

    test('§3 deleteBucket removes all 2,500 keys of a bucket and nothing of its neighbours', async (store, session) => {
      const keys = numbered('key', 2_500)
      await store.addValues(
        'big',
        keys.map((key): [Uint8Array, string] => [key, 'v']),
      )
      // Neighbours: names the bucket is a prefix of, or that are a prefix of it, or sort next to it;
      // one of them as large as a page.
      const neighbours = new Map<string, Uint8Array[]>([
        ['bi', numbered('key', 3)],
        ['bif', numbered('key', 3)],
        ['big\0', numbered('key', 3)],
        ['big,', numbered('key', 3)],
        ['bigger', numbered('key', 1_100)],
        ['bih', numbered('key', 3)],
      ])
      for (const [name, own] of neighbours) {
        await store.addValues(
          name,
          own.map((key): [Uint8Array, string] => [key, name]),
        )
      }
      const assertNeighbours = async (current: KVStore, after: string): Promise<void> => {
        for (const [name, own] of neighbours) {
          assertSameList(
            await keysHex(current, name),
            sortedHex(own),
            `keys(${show(name)}) ${after}`,
          )
          await assertValue(current, name, own[own.length - 1]!, text(name))
        }
      }
      assertSameList(
        await keysHex(store, 'big'),
        sortedHex(keys),
        'keys("big") before deleteBucket',
      )
      await store.deleteBucket('big')
      assertSameList(await keysHex(store, 'big'), [], 'keys("big") after deleteBucket("big")')
      for (const i of [0, 999, 1_000, 1_999, 2_000, 2_499]) {
        await assertMissing(store, 'big', keys[i]!, 'deleteBucket("big")')
      }
      assert.deepEqual(await bucketNames(store), sortedByUtf8([...neighbours.keys()]))
      await assertNeighbours(store, 'after deleteBucket("big")')
      await store.addValue('big', 'new', 'v')
      assert.deepEqual(await keysHex(store, 'big'), [hex(text('new'))], 'keys("big") written again')
      if (target.capabilities?.persistent !== true) return
      // The delete reached storage: none of the keys comes back.
      const reopened = await session.reopen()
      assert.deepEqual(
        await keysHex(reopened, 'big'),
        [hex(text('new'))],
        'keys("big") after reopening',
      )
      await assertNeighbours(reopened, 'after reopening')
    })

    test('§3 buckets() lists all of 150 buckets, in ascending order of their UTF-8 bytes', async (store) => {
      const names = Array.from({ length: 150 }, (_, i) => {
        const n = String(i).padStart(3, '0')
        // Some names whose UTF-8 order differs from JavaScript's string order.
        if (i % 10 === 3) return `\ufffd${n}`
        if (i % 10 === 7) return `😀${n}`
        if (i % 10 === 9) return `ü${n}`
        return `bucket-${n}`
      })
      const expected = sortedByUtf8(names)
      for (let i = 0; i < names.length; i++) {
        const name = names[(i * 37) % names.length]!
        await store.addValue(name, 'k', name)
      }
      assertSameList(await bucketNames(store), expected, 'buckets() of 150 buckets')
      const dropped = expected.slice(0, 10)
      for (const name of dropped) await store.deleteBucket(name)
      assertSameList(
        await bucketNames(store),
        expected.slice(10),
        'buckets() after deleting the first 10',
      )
    })
  })
}
