/**
 * Binary data (SPEC §3 intro and §3.3): values and keys are bytes and come back byte-identical;
 * strings are UTF-8; the store never shares memory with its caller.
 *
 * @module
 */
import assert from 'node:assert/strict'
import { assertBytes, assertValue, collect, hex, keysHex } from '../harness/assertions.js'
import { bytes, INPUT_KINDS, MiB, pseudoRandomBytes, text } from '../harness/data.js'
import { storeTests } from '../harness/define.js'
import type { ConformanceSuite } from '../suite.js'

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i)

/** Binary data: SPEC §3.3 byte-identical values and keys, §3 bytes and strings in, Uint8Array out. */
export const binaryData: ConformanceSuite = (runner, target) => {
  runner.describe('binary data', () => {
    const test = storeTests(runner, target)

    const identical: [string, Uint8Array][] = [
      ['NUL bytes', bytes(0, 0x61, 0, 0, 0x62, 0)],
      ['0xFF bytes', bytes(0xff, 0xff, 0x00, 0xff)],
      [
        'invalid UTF-8',
        bytes(0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc, 0xed, 0xa0, 0x80),
      ],
      ['all 256 byte values', ALL_BYTES],
      ['a single NUL byte', bytes(0)],
    ]
    for (const [label, value] of identical) {
      test(`§3.3 values come back byte-identical: ${label}`, async (store) => {
        await store.addValue('b', 'k', value)
        await assertValue(store, 'b', 'k', value)
        await store.addValueCompress('b', 'c', value)
        assertBytes(await store.getCompressedValue('b', 'c'), value, 'getCompressedValue')
      })
    }

    test('§3.3 a large value (1 MiB) comes back byte-identical', async (store, _session, context) => {
      if (store.limits.maxValueBytes < MiB) {
        return context.skip(
          `the backend's value limit (${store.limits.maxValueBytes} bytes) is under 1 MiB`,
        )
      }
      const value = pseudoRandomBytes(MiB, 7)
      await store.addValue('b', 'large', value)
      assertBytes(await store.getValue('b', 'large'), value, 'getValue')
    })

    test('§3.3 keys are bytes: NUL, 0xFF and invalid UTF-8 keys are distinct entries', async (store) => {
      const keys = [
        bytes(0x61),
        bytes(0x61, 0x00),
        bytes(0x00, 0x61),
        bytes(0x00),
        bytes(0xff),
        bytes(0xff, 0xff),
        bytes(0xc3, 0x28),
        bytes(0xef, 0xbf, 0xbd), // U+FFFD: what a lossy decoder would turn 0xC3 0x28 into
        ALL_BYTES,
      ]
      for (const [i, key] of keys.entries()) await store.addValue('b', key, `value ${i}`)
      for (const [i, key] of keys.entries()) await assertValue(store, 'b', key, text(`value ${i}`))
      assert.equal(
        (await keysHex(store, 'b')).length,
        keys.length,
        'keys() should list every key once',
      )
    })

    test('§3.3 a string is stored as its UTF-8 bytes', async (store) => {
      const value = 'ü € 😀 \u0000 end'
      await store.addValue('b', 'k', value)
      assertBytes(await store.getValue('b', 'k'), text(value), 'getValue')
      // A string key and its UTF-8 bytes name the same entry.
      await store.addValue('b', 'ключ', 'by string')
      await assertValue(store, 'b', text('ключ'), text('by string'))
      await store.addValue('b', text('ключ'), 'by bytes')
      await assertValue(store, 'b', 'ключ', text('by bytes'))
      assert.deepEqual(await keysHex(store, 'b'), [hex(text('k')), hex(text('ключ'))])
    })

    test('§3.3 Buffer keys and values are accepted', async (store) => {
      await store.addValue('b', Buffer.from('key'), Buffer.from([1, 2, 3]))
      await assertValue(store, 'b', 'key', bytes(1, 2, 3))
      await store.addValueCompress('b', Buffer.from('c'), Buffer.from('compressed'))
      assertBytes(
        await store.getCompressedValue('b', Buffer.from('c')),
        text('compressed'),
        'getCompressedValue',
      )
    })

    test('§3.3 only the bytes of a view are stored, not its whole buffer', async (store) => {
      const backing = Buffer.from('XXkeyXXvalueXX')
      await store.addValue(
        'b',
        backing.subarray(2, 5),
        new Uint8Array(backing.buffer, backing.byteOffset + 7, 5),
      )
      await assertValue(store, 'b', 'key', text('value'))
      assert.deepEqual(await keysHex(store, 'b'), [hex(text('key'))])
    })

    test('§3.3 returned values and keys are Uint8Arrays', async (store) => {
      await store.addValue('b', 'raw', 'v')
      await store.addValueCompress('b', 'z', 'v')
      for (const value of [
        await store.getValue('b', 'raw'),
        await store.getValue('b', 'z'),
        await store.getCompressedValue('b', 'z'),
      ]) {
        assert.ok(value instanceof Uint8Array, `expected a Uint8Array, got ${String(value)}`)
      }
      const keys = await collect(store.keys('b'))
      assert.equal(keys.length, 2, 'keys() lists both keys')
      for (const key of keys) assert.ok(key instanceof Uint8Array, `key ${String(key)}`)
    })

    for (const [suffix, input] of INPUT_KINDS) {
      test(`§3.3 changing the input buffers after a write does not change what is stored${suffix}`, async (store) => {
        const key = input('key')
        const value = input('value')
        const compressed = input('compressed')
        await store.addValue('b', key, value)
        await store.addValueCompress('b', 'z', compressed)
        key.fill(0x21)
        value.fill(0x21)
        compressed.fill(0x21)
        await assertValue(store, 'b', 'key', text('value'))
        assertBytes(
          await store.getCompressedValue('b', 'z'),
          text('compressed'),
          'getCompressedValue',
        )
        assert.equal(await store.existsKey('b', key), false, 'the mutated key must not exist')
      })
    }

    for (const [suffix, input] of INPUT_KINDS) {
      test(`§3.3 the input buffers may be reused as soon as a call returns, before it settles${suffix}`, async (store) => {
        await store.addValue('b', 'key-1', 'value-1')
        await store.addValue('b', 'key-2', 'value-2')
        // Each call is given a buffer that is overwritten, with bytes of the same length, right
        // after the call returns: what the call does must be what it was asked when it was made.
        const read = input('key-1')
        const reading = store.getValue('b', read)
        read.set(text('key-2'))
        const probe = input('key-1')
        const probing = store.existsKey('b', probe)
        probe.set(text('key-9'))
        assertBytes(await reading, text('value-1'), 'getValue')
        assert.equal(await probing, true, 'existsKey')

        const key = input('key-3')
        const value = input('value-3')
        const writing = store.addValue('b', key, value)
        key.set(text('key-4'))
        value.set(text('value-4'))
        const zipped = input('key-5')
        const plain = input('value-5')
        const compressing = store.addValueCompress('b', zipped, plain)
        zipped.set(text('key-6'))
        plain.set(text('value-6'))
        const batchKey = input('key-7')
        const batchValue = input('value-7')
        const batching = store.addValues('b', [[batchKey, batchValue]])
        batchKey.set(text('key-8'))
        batchValue.set(text('value-8'))
        await Promise.all([writing, compressing, batching])
        await assertValue(store, 'b', 'key-3', text('value-3'))
        assertBytes(await store.getCompressedValue('b', 'key-5'), text('value-5'), 'key-5')
        await assertValue(store, 'b', 'key-7', text('value-7'))

        const victim = input('key-1')
        const deleting = store.deleteKey('b', victim)
        victim.set(text('key-2'))
        await deleting
        assert.deepEqual(
          await keysHex(store, 'b'),
          ['key-2', 'key-3', 'key-5', 'key-7'].map((k) => hex(text(k))),
        )
      })
    }

    for (const [suffix, input] of INPUT_KINDS) {
      test(`§3.3 a keys() prefix buffer may be reused as soon as keys() returns, before the first next()${suffix}`, async (store) => {
        for (const key of ['a-1', 'a-2', 'b-1', 'c-1']) await store.addValue('b', key, 'v')
        // keys() returns before anything is listed: the prefix it was given must be the one used,
        // whatever the caller writes into its buffer before or during the iteration.
        const prefix = input('a-')
        const iterator = store.keys('b', { prefix })[Symbol.asyncIterator]()
        prefix.set(text('b-'))
        const first = await iterator.next()
        prefix.set(text('c-'))
        const listed: string[] = []
        for (let step = first; !step.done; step = await iterator.next())
          listed.push(hex(step.value))
        assert.deepEqual(
          listed,
          ['a-1', 'a-2'].map((k) => hex(text(k))),
          'keys with prefix "a-"',
        )
      })
    }

    test('§3.3 changing a returned value does not change what is stored', async (store) => {
      await store.addValue('b', 'k', 'value')
      await store.addValueCompress('b', 'z', 'value')
      const first = await store.getValue('b', 'k')
      assert.ok(first !== null)
      first.fill(0x21)
      await assertValue(store, 'b', 'k', text('value'))
      const stored = await store.getValue('b', 'z')
      const decoded = await store.getCompressedValue('b', 'z')
      assert.ok(stored !== null && decoded !== null)
      stored.fill(0x21)
      decoded.fill(0x21)
      assertBytes(await store.getCompressedValue('b', 'z'), text('value'), 'getCompressedValue')
      for await (const key of store.keys('b')) key.fill(0x21)
      assert.deepEqual(await keysHex(store, 'b'), [hex(text('k')), hex(text('z'))])
    })
  })
}
