/**
 * Invalid input (SPEC §3.7): every rule rejects with `KV_INVALID_ARGUMENT`, names the argument,
 * and writes nothing. The limits are checked at their edges: 255 bytes of bucket name passes and
 * 256 fails, 65 536 bytes of key passes and 65 537 fails, with multi-byte characters too.
 *
 * @module
 */
import assert from 'node:assert/strict'
import type { KVStore } from '@kv/core'
import {
  assertBytes,
  assertMissing,
  assertRejectsWith,
  assertValue,
  bucketNames,
  collect,
  hex,
  keysHex,
  show,
} from '../harness/assertions.js'
import { bytes, text } from '../harness/data.js'
import { storeTests } from '../harness/define.js'
import type { ConformanceSuite } from '../suite.js'

/** The store's methods with their argument types erased, to call them with bad input. */
type Untyped = {
  [K in keyof KVStore]: KVStore[K] extends (...args: never[]) => infer R
    ? (...args: unknown[]) => R
    : never
}
const untyped = (store: KVStore): Untyped => store as unknown as Untyped

type Call = [name: string, call: (store: KVStore) => Promise<unknown>]

/** Every operation that takes a bucket, called with `bucket`. */
function bucketCalls(bucket: unknown): Call[] {
  return [
    ['addValue', (s) => untyped(s).addValue(bucket, 'k', 'v')],
    ['addValueCompress', (s) => untyped(s).addValueCompress(bucket, 'k', 'v')],
    ['addValues', (s) => untyped(s).addValues(bucket, [['k', 'v']])],
    ['getValue', (s) => untyped(s).getValue(bucket, 'k')],
    ['getCompressedValue', (s) => untyped(s).getCompressedValue(bucket, 'k')],
    ['existsKey', (s) => untyped(s).existsKey(bucket, 'k')],
    ['deleteKey', (s) => untyped(s).deleteKey(bucket, 'k')],
    ['deleteBucket', (s) => untyped(s).deleteBucket(bucket)],
    ['keys', (s) => collect(untyped(s).keys(bucket))],
  ]
}

/** Every operation that takes a key, called with `key` in bucket `b`. */
function keyCalls(key: unknown): Call[] {
  return [
    ['addValue', (s) => untyped(s).addValue('b', key, 'v')],
    ['addValueCompress', (s) => untyped(s).addValueCompress('b', key, 'v')],
    // The bad key comes second: the valid first pair must not be written either.
    [
      'addValues',
      (s) =>
        untyped(s).addValues('b', [
          ['valid', 'v'],
          [key, 'v'],
        ]),
    ],
    ['getValue', (s) => untyped(s).getValue('b', key)],
    ['getCompressedValue', (s) => untyped(s).getCompressedValue('b', key)],
    ['existsKey', (s) => untyped(s).existsKey('b', key)],
    ['deleteKey', (s) => untyped(s).deleteKey('b', key)],
  ]
}

/** Every operation that takes a value, called with `value` under (`b`, `k`). */
function valueCalls(value: unknown): Call[] {
  return [
    ['addValue', (s) => untyped(s).addValue('b', 'k', value)],
    ['addValueCompress', (s) => untyped(s).addValueCompress('b', 'k', value)],
    [
      'addValues',
      (s) =>
        untyped(s).addValues('b', [
          ['valid', 'v'],
          ['k', value],
        ]),
    ],
  ]
}

/** Asserts every call rejects with KV_INVALID_ARGUMENT naming `argument`. */
async function assertAllReject(
  store: KVStore,
  calls: Call[],
  argument: string,
  label: string,
): Promise<void> {
  for (const [name, call] of calls) {
    await assertRejectsWith(
      () => call(store),
      'KV_INVALID_ARGUMENT',
      `${name} with ${label}`,
      argument,
    )
  }
}

/** Values of the wrong type for a bucket, key or value. */
const WRONG_TYPES: [string, unknown][] = [
  ['undefined', undefined],
  ['null', null],
  ['a number', 42],
  ['a boolean', true],
  ['an object', { key: 'k' }],
  ['an array', [0x61]],
  ['an ArrayBuffer', new ArrayBuffer(1)],
  ['a Uint16Array', new Uint16Array([0x61])],
  ['a String object', new String('a')],
]

/** Bucket names of exactly 255 UTF-8 bytes, from 1-, 2-, 3- and 4-byte characters. */
const BUCKETS_255: string[] = [
  'a'.repeat(255),
  `${'ü'.repeat(127)}a`,
  '€'.repeat(85),
  `${'😀'.repeat(63)}abc`,
]
/** Bucket names of 256 UTF-8 bytes. */
const BUCKETS_256: string[] = [
  'a'.repeat(256),
  'ü'.repeat(128),
  `${'€'.repeat(85)}a`,
  '😀'.repeat(64),
]

const LONG_VALUE_LIMIT = 128 * 1024 * 1024

/** Invalid input: SPEC §3.7. */
export const invalidInput: ConformanceSuite = (runner, target) => {
  runner.describe('invalid input', () => {
    const test = storeTests(runner, target)

    test('§3.7 a bucket that is not a string is rejected', async (store) => {
      await store.addValue('keep', 'k', 'v')
      const wrong: [string, unknown][] = [...WRONG_TYPES, ['a Uint8Array', text('b')]]
      for (const [label, bucket] of wrong) {
        await assertAllReject(store, bucketCalls(bucket), 'bucket', `a bucket that is ${label}`)
      }
      assert.deepEqual(await bucketNames(store), ['keep'], 'nothing may be written or deleted')
      await assertValue(store, 'keep', 'k', text('v'))
    })

    test('§3.7 an empty bucket name is rejected', async (store) => {
      await assertAllReject(store, bucketCalls(''), 'bucket', 'an empty bucket')
      assert.deepEqual(await bucketNames(store), [])
    })

    test('§3.7 a bucket name of 255 UTF-8 bytes is accepted', async (store) => {
      for (const bucket of BUCKETS_255) {
        assert.equal(Buffer.byteLength(bucket), 255)
        await store.addValue(bucket, 'k', bucket)
        await assertValue(store, bucket, 'k', text(bucket))
        assert.deepEqual(
          await keysHex(store, bucket),
          [hex(text('k'))],
          `keys() of the 255-byte bucket ${show(bucket)}`,
        )
      }
      assert.deepEqual(
        [...(await bucketNames(store))].sort(),
        [...BUCKETS_255].sort(),
        'buckets() should list the 255-byte buckets',
      )
      for (const bucket of BUCKETS_255) await store.deleteBucket(bucket)
      assert.deepEqual(
        await bucketNames(store),
        [],
        'buckets() should be empty after deleteBucket of each 255-byte bucket',
      )
    })

    test('§3.7 a bucket name over 255 UTF-8 bytes is rejected', async (store) => {
      // Buckets 255 bytes long that a backend truncating names would confuse with the rejected ones.
      for (const bucket of BUCKETS_255) await store.addValue(bucket, 'k', 'kept')
      for (const bucket of BUCKETS_256) {
        assert.equal(Buffer.byteLength(bucket), 256)
        await assertAllReject(
          store,
          bucketCalls(bucket),
          'bucket',
          `a bucket of 256 bytes (${bucket.slice(0, 4)}…)`,
        )
      }
      await assertAllReject(
        store,
        bucketCalls('x'.repeat(10_000)),
        'bucket',
        'a bucket of 10 000 bytes',
      )
      assert.equal((await bucketNames(store)).length, BUCKETS_255.length)
      for (const bucket of BUCKETS_255) await assertValue(store, bucket, 'k', text('kept'))
    })

    test('§3.7 a bucket name with a lone surrogate is rejected', async (store) => {
      for (const bucket of ['a\ud800', '\udc00', 'x\udbffy', '\udc00\ud800']) {
        await assertAllReject(store, bucketCalls(bucket), 'bucket', `bucket ${show(bucket)}`)
      }
      assert.deepEqual(await bucketNames(store), [])
    })

    test('§3.7 a key that is neither bytes nor a string is rejected', async (store) => {
      for (const [label, key] of WRONG_TYPES) {
        await assertAllReject(store, keyCalls(key), 'key', `a key that is ${label}`)
      }
      assert.deepEqual(await bucketNames(store), [])
    })

    test('§3.7 a key of 64 KiB (65536 bytes) is accepted', async (store) => {
      const keys: Uint8Array[] = [new Uint8Array(65536).fill(0x6b), text('ü'.repeat(32768))]
      for (const [i, key] of keys.entries()) {
        assert.equal(key.length, 65536)
        await store.addValue('b', key, `value ${i}`)
        await assertValue(store, 'b', key, text(`value ${i}`))
      }
      await store.addValue('b', 'k'.repeat(65536), 'as a string')
      await assertValue(store, 'b', keys[0]!, text('as a string'))
      const listed = await collect(store.keys('b'))
      assert.deepEqual(
        listed.map((k) => k.length),
        [65536, 65536],
      )
      await store.deleteKey('b', keys[0]!)
      await assertMissing(store, 'b', keys[0]!)
    })

    test('§3.7 a key over 64 KiB (65537 bytes) is rejected', async (store) => {
      // The 64 KiB key a backend truncating keys would confuse with the rejected ones.
      await store.addValue('b', new Uint8Array(65536).fill(0x6b), 'kept')
      const keys: [string, unknown][] = [
        ['65537 bytes', new Uint8Array(65537).fill(0x6b)],
        ['a string of 65537 characters', 'k'.repeat(65537)],
        ['a string of 32769 two-byte characters (65538 bytes)', 'ü'.repeat(32769)],
        ['a string of 65536 bytes and one more character', `${'k'.repeat(65536)}!`],
      ]
      for (const [label, key] of keys)
        await assertAllReject(store, keyCalls(key), 'key', `a key of ${label}`)
      const listed = await collect(store.keys('b'))
      assert.deepEqual(
        listed.map((k) => k.length),
        [65536],
        'only the 64 KiB key may exist',
      )
      await assertValue(store, 'b', new Uint8Array(65536).fill(0x6b), text('kept'))
    })

    test('§3.7 a key string with a lone surrogate is rejected', async (store) => {
      for (const key of ['k\ud800', '\udfff', 'a\udc00b']) {
        await assertAllReject(store, keyCalls(key), 'key', `key ${show(key)}`)
      }
      assert.deepEqual(await bucketNames(store), [])
    })

    test('§3.7 an empty key is valid (only the size of a key is limited)', async (store) => {
      await store.addValue('b', '', 'empty key')
      await assertValue(store, 'b', new Uint8Array(0), text('empty key'))
      assert.deepEqual(await keysHex(store, 'b'), [''])
      await store.deleteKey('b', '')
      await assertMissing(store, 'b', '')
    })

    test('§3.7 a value that is neither bytes nor a string is rejected', async (store) => {
      for (const [label, value] of WRONG_TYPES) {
        await assertAllReject(store, valueCalls(value), 'value', `a value that is ${label}`)
        await assertMissing(store, 'b', 'k')
      }
      assert.deepEqual(await keysHex(store, 'b'), [])
    })

    test('§3.7 a value string with a lone surrogate is rejected', async (store) => {
      await store.addValue('b', 'k', 'before')
      for (const value of ['v\ud800', '\udfff']) {
        await assertAllReject(store, valueCalls(value), 'value', `value ${show(value)}`)
      }
      await assertValue(store, 'b', 'k', text('before'))
      // addValues is all or nothing: the valid entry before the bad one is not written either.
      await assertMissing(store, 'b', 'valid')
    })

    test("§3.7 a value over the backend's limit is rejected", async (store, _session, context) => {
      const limit = store.limits.maxValueBytes
      // Allocating the over-limit value must stay reasonable; a larger limit cannot be probed here.
      if (limit > LONG_VALUE_LIMIT) {
        return context.skip(
          `the value limit (${limit} bytes) is over 128 MiB, too large to allocate in a test`,
        )
      }
      const value = new Uint8Array(limit + 1).fill(0x76)
      await assertAllReject(store, valueCalls(value), 'value', `a value of ${limit + 1} bytes`)
      await assertMissing(store, 'b', 'k')
      // addValues is all or nothing: the valid entry before the oversized one is not written either.
      await assertMissing(store, 'b', 'valid')
      await store.addValue('b', 'k', 'before')
      await assertAllReject(
        store,
        valueCalls(value),
        'value',
        `an overwrite with ${limit + 1} bytes`,
      )
      await assertValue(store, 'b', 'k', text('before'))
      await assertMissing(store, 'b', 'valid')
    })

    test("§3.7 a value of exactly the backend's limit is accepted and reads back", async (store, _session, context) => {
      const limit = store.limits.maxValueBytes
      // Run wherever the over-limit case runs: 64 MiB (78 MiB for elastic) takes about a second
      // on disk and a few through elastic's HTTP stand-in. A larger limit is skipped, as there.
      if (limit > LONG_VALUE_LIMIT) {
        return context.skip(
          `the value limit (${limit} bytes) is over 128 MiB, too large to allocate in a test`,
        )
      }
      const value = new Uint8Array(limit).fill(0x76)
      if (limit > 0) value[0] = 0x00
      if (limit > 1) value[limit - 1] = 0xff
      await store.addValue('b', 'k', value)
      assertBytes(await store.getValue('b', 'k'), value, `getValue of a value of ${limit} bytes`)
      // The same edge through addValues, beside a small pair: accepted (reading it back too would
      // add seconds through elastic's HTTP stand-in; a batch is read back in the batch tests).
      await store.addValues('b', [
        ['small', 'v'],
        ['k2', value],
      ])
      assert.equal(await store.existsKey('b', 'k2'), true, 'existsKey of the addValues value')
      await assertValue(store, 'b', 'small', text('v'))
    })

    test('§3.7 keys() options that break a rule are rejected', async (store) => {
      await store.addValue('b', 'k', 'v')
      for (const limit of [-1, 1.5, Number.NaN, '2']) {
        await assertRejectsWith(
          () => collect(untyped(store).keys('b', { limit })),
          'KV_INVALID_ARGUMENT',
          `keys() with limit ${String(limit)}`,
          'limit',
        )
      }
      for (const prefix of [42, null, new Uint8Array(65537)]) {
        await assertRejectsWith(
          () => collect(untyped(store).keys('b', { prefix })),
          'KV_INVALID_ARGUMENT',
          `keys() with prefix ${typeof prefix}`,
          'prefix',
        )
      }
      assert.deepEqual(await keysHex(store, 'b'), [hex(bytes(0x6b))])
    })
  })
}
