/**
 * Compression (SPEC §3.5 and §4): the stored layout is the Go framework's, and decoding is
 * strict — a value that is not valid LZ4 rejects with `KV_CORRUPT_VALUE`, never returns garbage.
 *
 * @module
 */
import assert from 'node:assert/strict'
import { compress, type KVStore } from '@kv/core'
import { goLz4Vectors } from '../fixtures/go-lz4-vectors.js'
import { assertBytes, assertRejectsWith, assertValue } from '../harness/assertions.js'
import { bytes, compressibleBytes, MiB, pseudoRandomBytes, text } from '../harness/data.js'
import { storeTests } from '../harness/define.js'
import type { ConformanceSuite } from '../suite.js'

const base64 = (value: string): Uint8Array => new Uint8Array(Buffer.from(value, 'base64'))

/** Values for round trips: empty, tiny, text, compressible, incompressible. */
const VALUES: [string, Uint8Array][] = [
  ['empty', new Uint8Array(0)],
  ['one byte', bytes(0x78)],
  ['text', text('hello world')],
  ['4 KiB of JSON', compressibleBytes(4096)],
  ['64 KiB of random bytes', pseudoRandomBytes(64 * 1024, 3)],
  ['all 256 byte values', Uint8Array.from({ length: 256 }, (_, i) => i)],
]

/**
 * The {@link VALUES} a store takes through `addValueCompress`: raw and compressed size within its
 * limit (64 KiB of random bytes compress to 65,798; a backend may accept less).
 */
function valuesFor(store: KVStore): [string, Uint8Array][] {
  const limit = store.limits.maxValueBytes
  return VALUES.filter(([, value]) => value.length <= limit && compress(value).length <= limit)
}

/** Stored values that are not valid LZ4 in the Go layout (each checked against @kv/core's decoder). */
const json1000 = compress(compressibleBytes(1000))
const helloWorld = compress(text('hello world'))
const concat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts))
const CORRUPT: [string, Uint8Array][] = [
  ['ff ff ff ff 00', bytes(0xff, 0xff, 0xff, 0xff, 0x00)],
  ['random bytes', pseudoRandomBytes(64, 11)],
  ['a truncated valid encoding', json1000.slice(0, json1000.length - 3)],
  // A complete, valid encoding that already yields its declared length, then more bytes: a decoder
  // must use the whole stored value, not stop where the output is full.
  ['a valid encoding followed by a trailing byte', concat(helloWorld, bytes(0x00))],
  ['a valid encoding followed by trailing bytes', concat(json1000, text('tail'))],
  ['an empty value', new Uint8Array(0)],
  ['three bytes', bytes(1, 0, 0)],
  ['a header without a block', bytes(5, 0, 0, 0)],
  ['plain text', text('hello world, not compressed')],
  // hello-world as go-lz4 stores it, but declaring 12 bytes instead of 11.
  ['a declared length that does not match', base64('DAAAALBoZWxsbyB3b3JsZA==')],
  // One literal "a", then a match 5 bytes back when only 1 byte has been written.
  [
    'a match offset before the start of the output',
    bytes(8, 0, 0, 0, 0x10, 0x61, 5, 0, 0x30, 0x62, 0x63, 0x64),
  ],
]

/** Compression: SPEC §3.5 and §4. */
export const compression: ConformanceSuite = (runner, target) => {
  runner.describe('compression', () => {
    const test = storeTests(runner, target)

    test('§3.5 getValue on a compressed entry returns compress(value), the Go layout', async (store) => {
      for (const [label, value] of valuesFor(store)) {
        await store.addValueCompress('b', label, value)
        assertBytes(await store.getValue('b', label), compress(value), `getValue of ${label}`)
      }
      assertBytes(
        await store.getValue('b', 'empty'),
        bytes(0, 0, 0, 0, 0),
        'an empty value is stored as 00 00 00 00 00',
      )
    })

    test('§3.5 getCompressedValue returns the value given to addValueCompress', async (store) => {
      for (const [label, value] of valuesFor(store)) {
        await store.addValueCompress('b', label, value)
        assertBytes(
          await store.getCompressedValue('b', label),
          value,
          `getCompressedValue of ${label}`,
        )
        assert.equal(await store.existsKey('b', label), true)
      }
    })

    test('§3.5 a compressed 1 MiB value round-trips', async (store, _session, context) => {
      const value = compressibleBytes(MiB)
      // Both the raw and the compressed size must be within the limit (SPEC §3.5).
      const limit = store.limits.maxValueBytes
      if (value.length > limit || compress(value).length > limit) {
        return context.skip(`the backend's value limit (${limit} bytes) is under 1 MiB`)
      }
      await store.addValueCompress('b', 'large', value)
      assertBytes(await store.getCompressedValue('b', 'large'), value, 'getCompressedValue')
    })

    test('§3.5 getCompressedValue decodes values the Go framework and liblz4 stored', async (store) => {
      for (const vector of goLz4Vectors) {
        const raw = base64(vector.raw)
        await store.addValue('go', vector.name, base64(vector.go))
        await store.addValue('ref', vector.name, base64(vector.ref))
        assertBytes(
          await store.getCompressedValue('go', vector.name),
          raw,
          `go-lz4 vector ${vector.name}`,
        )
        assertBytes(
          await store.getCompressedValue('ref', vector.name),
          raw,
          `liblz4 vector ${vector.name}`,
        )
        await assertValue(store, 'go', vector.name, base64(vector.go))
      }
    })

    for (const [label, stored] of CORRUPT) {
      test(`§3.5 getCompressedValue on ${label} rejects with KV_CORRUPT_VALUE`, async (store) => {
        await store.addValue('b', 'k', stored)
        await assertRejectsWith(
          () => store.getCompressedValue('b', 'k'),
          'KV_CORRUPT_VALUE',
          'getCompressedValue',
        )
        // The entry itself is untouched by the failed decode.
        await assertValue(store, 'b', 'k', stored)
      })
    }
  })
}
