/**
 * The extensions beyond the Go framework (SPEC §3 interface, §7): `keys()` in ascending byte
 * order with `prefix` and `limit`, `buckets()` listing non-empty buckets in ascending UTF-8 byte
 * order, and `deleteBucket()` removing exactly one bucket.
 *
 * @module
 */
import assert from 'node:assert/strict'
import type { KVStore } from '@kv/core'
import {
  assertBytes,
  assertMissing,
  assertValue,
  bucketNames,
  collect,
  hex,
  keysHex,
} from '../harness/assertions.js'
import { byteOrder, bytes, hasPrefix, sortedByUtf8, text } from '../harness/data.js'
import { storeTests } from '../harness/define.js'
import type { ConformanceSuite } from '../suite.js'

/** Keys in ascending byte order: empty, NUL and 0xFF bytes, shared prefixes, multi-byte UTF-8. */
const ORDERED_KEYS: Uint8Array[] = [
  bytes(),
  bytes(0x00),
  bytes(0x00, 0x00),
  bytes(0x00, 0xff),
  bytes(0x01),
  bytes(0x42),
  bytes(0x61),
  bytes(0x61, 0x00),
  bytes(0x61, 0x00, 0x00),
  bytes(0x61, 0x01),
  bytes(0x61, 0x61),
  bytes(0x61, 0x62),
  bytes(0x61, 0xff),
  bytes(0x62),
  bytes(0x7f),
  bytes(0x80),
  bytes(0xc3, 0xbc), // ü
  bytes(0xef, 0xbf, 0xbd), // U+FFFD
  bytes(0xf0, 0x9f, 0x98, 0x80), // 😀
  bytes(0xff),
  bytes(0xff, 0x00),
  bytes(0xff, 0xff),
  bytes(0xff, 0xff, 0xff),
]
const ORDERED_HEX = ORDERED_KEYS.map(hex)

/** The same keys in a scrambled insertion order (a fixed permutation). */
const SCRAMBLED = ORDERED_KEYS.map((_, i) => ORDERED_KEYS[(i * 7 + 3) % ORDERED_KEYS.length]!)

/** Bucket names whose UTF-8 byte order differs from JavaScript's UTF-16 string order. */
const BUCKET_NAMES = [
  'a',
  'a\0',
  'a\0b',
  'a,b',
  'a_b',
  'A',
  'B',
  'b',
  'ab',
  '\u0001',
  '~',
  'ü',
  '€',
  '😀',
  '\ufffd',
  '\uff21',
  'zz',
]
/** The extensions: keys(), buckets(), deleteBucket(). */
export const extensions: ConformanceSuite = (runner, target) => {
  runner.describe('extensions', () => {
    const test = storeTests(runner, target)

    async function fill(store: KVStore, bucket = 'b'): Promise<void> {
      for (const key of SCRAMBLED) await store.addValue(bucket, key, hex(key))
    }

    test('§3 keys() lists keys in ascending byte order', async (store) => {
      await fill(store)
      assert.deepEqual(
        await keysHex(store, 'b'),
        ORDERED_HEX,
        'keys("b") in ascending byte order (hex; JavaScript string order differs for bytes over 0x7F)',
      )
    })

    test('§3 keys() lists only the keys of its bucket', async (store) => {
      await fill(store, 'a')
      await store.addValue('a\0', 'x', 'v')
      await store.addValue('a,b', 'y', 'v')
      await store.addValue('ab', 'z', 'v')
      assert.deepEqual(await keysHex(store, 'a'), ORDERED_HEX, 'keys("a") (hex)')
      assert.deepEqual(await keysHex(store, 'a\0'), [hex(text('x'))], 'keys("a\\0") (hex)')
      assert.deepEqual(await keysHex(store, 'a,b'), [hex(text('y'))], 'keys("a,b") (hex)')
      assert.deepEqual(await keysHex(store, 'ab'), [hex(text('z'))], 'keys("ab") (hex)')
    })

    test('§3 keys() with a prefix lists only the keys that start with it', async (store) => {
      await fill(store)
      const expect = (prefix: Uint8Array): string[] =>
        ORDERED_KEYS.filter((key) => hasPrefix(key, prefix)).map(hex)
      const prefixes: Uint8Array[] = [
        bytes(0x61),
        bytes(0x61, 0x00),
        bytes(0x00),
        bytes(0xff),
        bytes(0xff, 0xff),
        bytes(0xc3),
        bytes(),
        bytes(0x61, 0x61, 0x61),
        bytes(0x7a, 0x7a),
      ]
      for (const prefix of prefixes) {
        assert.deepEqual(
          await keysHex(store, 'b', { prefix }),
          expect(prefix),
          `prefix 0x${hex(prefix)}`,
        )
      }
      assert.deepEqual(
        await keysHex(store, 'b', { prefix: 'a' }),
        expect(bytes(0x61)),
        'a string prefix is UTF-8',
      )
      assert.deepEqual(
        await keysHex(store, 'b', { prefix: Buffer.from([0xff]) }),
        expect(bytes(0xff)),
        'a Buffer prefix',
      )
      assert.deepEqual(await keysHex(store, 'b', { prefix: 'ü' }), [hex(text('ü'))])
    })

    test('§3 keys() with a limit lists at most that many, smallest first', async (store) => {
      await fill(store)
      assert.deepEqual(await keysHex(store, 'b', { limit: 0 }), [], 'limit 0 lists nothing')
      assert.deepEqual(await keysHex(store, 'b', { limit: 1 }), ORDERED_HEX.slice(0, 1))
      assert.deepEqual(await keysHex(store, 'b', { limit: 5 }), ORDERED_HEX.slice(0, 5))
      assert.deepEqual(await keysHex(store, 'b', { limit: ORDERED_KEYS.length }), ORDERED_HEX)
      assert.deepEqual(await keysHex(store, 'b', { limit: ORDERED_KEYS.length + 10 }), ORDERED_HEX)
      assert.deepEqual(await keysHex(store, 'b', { prefix: 'a', limit: 2 }), [
        hex(bytes(0x61)),
        hex(bytes(0x61, 0x00)),
      ])
      assert.deepEqual(await keysHex(store, 'b', { prefix: bytes(0xff), limit: 0 }), [])
      assert.deepEqual(await keysHex(store, 'empty-bucket', { limit: 3 }), [])
    })

    test('§3 keys() reflects writes and deletes', async (store) => {
      await fill(store)
      await store.deleteKey('b', bytes(0x61))
      await store.deleteKey('b', bytes())
      await store.addValue('b', bytes(0x61, 0x62), 'overwritten')
      await store.addValue('b', bytes(0x61, 0x63), 'new')
      const expected = [
        ...ORDERED_KEYS.filter((k) => k.length > 0 && hex(k) !== '61'),
        bytes(0x61, 0x63),
      ]
        .sort(byteOrder)
        .map(hex)
      assert.deepEqual(await keysHex(store, 'b'), expected)
    })

    test('§3 keys() can be abandoned early without blocking the store', async (store) => {
      await fill(store)
      const seen: string[] = []
      for await (const key of store.keys('b')) {
        seen.push(hex(key))
        break
      }
      assert.deepEqual(seen, ORDERED_HEX.slice(0, 1), 'the first key, before the break')
      const iterator = store.keys('b')[Symbol.asyncIterator]()
      const first = await iterator.next()
      assert.equal(first.done, false, 'the listing of a filled bucket has a first key')
      assert.equal(hex(first.value as Uint8Array), ORDERED_HEX[0])
      // Never finished: close() must still complete (the test's timeout catches a hang).
      await store.addValue('b', 'after', 'v')
      await store.close()
      await store.open()
    })

    test('§3 buckets() lists only non-empty buckets', async (store) => {
      await store.addValue('a', 'k', 'v')
      await store.addValue('b', 'k', 'v')
      await store.addValue('c', 'k1', 'v')
      await store.addValue('c', 'k2', 'v')
      await store.addValue('d', 'k', '')
      await store.addValueCompress('e', 'k', '')
      assert.deepEqual(await bucketNames(store), ['a', 'b', 'c', 'd', 'e'])
      await store.deleteKey('b', 'k')
      await store.deleteKey('c', 'k1')
      assert.deepEqual(
        await bucketNames(store),
        ['a', 'c', 'd', 'e'],
        'a bucket whose last key is deleted is gone',
      )
      await store.deleteBucket('a')
      await store.deleteKey('c', 'k2')
      assert.deepEqual(await bucketNames(store), ['d', 'e'])
    })

    test('§3 buckets() lists buckets in ascending order of their UTF-8 bytes', async (store) => {
      const expected = sortedByUtf8(BUCKET_NAMES)
      // UTF-8 order puts U+FFFD before U+1F600; JavaScript's string order does the opposite.
      assert.ok(expected.indexOf('\ufffd') < expected.indexOf('😀'))
      for (const name of [...BUCKET_NAMES].reverse()) await store.addValue(name, 'k', name)
      assert.deepEqual(
        await bucketNames(store),
        expected,
        'buckets() in ascending order of their UTF-8 bytes',
      )
    })

    test('§3 deleteBucket removes every key of that bucket and nothing else', async (store) => {
      const names = ['a', 'a\0', 'a,b', 'a_b', 'ab', 'b']
      for (const name of names) {
        await store.addValue(name, 'k', `${name}/k`)
        await store.addValue(name, bytes(0x00), `${name}/nul`)
        await store.addValueCompress(name, 'z', `${name}/z`)
      }
      await store.addValue('a', 'b,k', 'only in a')
      await store.deleteBucket('a')
      await assertMissing(store, 'a', 'k', 'deleteBucket("a")')
      await assertMissing(store, 'a', 'b,k', 'deleteBucket("a")')
      assert.deepEqual(await keysHex(store, 'a'), [])
      for (const name of names.slice(1)) {
        await assertValue(store, name, 'k', text(`${name}/k`))
        await assertValue(store, name, bytes(0x00), text(`${name}/nul`))
        assertBytes(await store.getCompressedValue(name, 'z'), text(`${name}/z`), `${name}/z`)
      }
      assert.deepEqual(await bucketNames(store), sortedByUtf8(names.slice(1)))

      await store.deleteBucket('a\0')
      assert.deepEqual(await keysHex(store, 'a\0'), [])
      assert.deepEqual(await keysHex(store, 'a,b'), [bytes(0x00), text('k'), text('z')].map(hex))
      assert.deepEqual(await bucketNames(store), sortedByUtf8(names.slice(2)))
    })

    test('§3 deleteBucket of a missing bucket succeeds', async (store) => {
      await store.addValue('present', 'k', 'v')
      await store.deleteBucket('missing')
      await store.deleteBucket('missing')
      await store.deleteBucket('presen')
      await assertValue(store, 'present', 'k', text('v'))
    })

    test('§3 a deleted bucket can be written again and holds only the new keys', async (store) => {
      await store.addValue('b', 'old', 'v')
      await store.deleteBucket('b')
      await store.addValue('b', 'new', 'v2')
      assert.deepEqual(await keysHex(store, 'b'), [hex(text('new'))])
      await assertMissing(store, 'b', 'old')
      assert.deepEqual(await bucketNames(store), ['b'])
      assert.deepEqual((await collect(store.keys('b'))).length, 1)
    })
  })
}
