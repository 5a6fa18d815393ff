/**
 * Basic CRUD (SPEC §3.1–§3.3): missing keys and buckets, empty values, overwrites, deletes.
 *
 * @module
 */
import assert from 'node:assert/strict'
import { compress } from '@kv/core'
import {
  assertBytes,
  assertMissing,
  assertValue,
  bucketNames,
  keysHex,
} from '../harness/assertions.js'
import { bytes, text } from '../harness/data.js'
import { storeTests } from '../harness/define.js'
import type { ConformanceSuite } from '../suite.js'

/** Basic CRUD: SPEC §3.1 (missing), §3.2 (empty values) and §3.3 (overwrite). */
export const basicCrud: ConformanceSuite = (runner, target) => {
  runner.describe('basic CRUD', () => {
    const test = storeTests(runner, target)

    test('§3.1 a missing key reads as null from getValue', async (store) => {
      await store.addValue('b', 'other', 'x')
      assert.equal(await store.getValue('b', 'missing'), null)
    })

    test('§3.1 a missing key reads as null from getCompressedValue', async (store) => {
      await store.addValueCompress('b', 'other', 'x')
      assert.equal(await store.getCompressedValue('b', 'missing'), null)
    })

    test('§3.1 existsKey is false for a missing key', async (store) => {
      await store.addValue('b', 'other', 'x')
      assert.equal(await store.existsKey('b', 'missing'), false)
      assert.equal(await store.existsKey('b', 'other'), true)
    })

    test('§3.1 deleting a missing key succeeds and changes nothing else', async (store) => {
      await store.addValue('b', 'kept', 'x')
      await store.deleteKey('b', 'missing')
      await store.deleteKey('b', 'missing')
      await store.deleteKey('never-written', 'missing')
      await assertValue(store, 'b', 'kept', text('x'))
      assert.deepEqual(await bucketNames(store), ['b'])
    })

    test('§3.1 a missing bucket behaves as an empty one', async (store) => {
      await store.addValue('present', 'k', 'v')
      await assertMissing(store, 'absent', 'k')
      assert.deepEqual(await keysHex(store, 'absent'), [])
      assert.deepEqual(await keysHex(store, 'absent', { prefix: 'k', limit: 10 }), [])
      await store.deleteKey('absent', 'k')
      await store.deleteBucket('absent')
      assert.deepEqual(await bucketNames(store), ['present'])
      await assertValue(store, 'present', 'k', text('v'))
    })

    test('§3.1 a fresh store is empty', async (store) => {
      assert.deepEqual(await bucketNames(store), [])
      await assertMissing(store, 'b', 'k')
    })

    test('§3.1 a deleted key reads as missing', async (store) => {
      await store.addValue('b', 'k', 'v')
      await store.addValueCompress('b', 'c', 'v')
      await store.deleteKey('b', 'k')
      await store.deleteKey('b', 'c')
      await assertMissing(store, 'b', 'k')
      await assertMissing(store, 'b', 'c')
      assert.deepEqual(await keysHex(store, 'b'), [])
    })

    test('§3.2 an empty value is a real value', async (store) => {
      await store.addValue('b', 'empty', new Uint8Array(0))
      const value = await store.getValue('b', 'empty')
      assert.ok(value instanceof Uint8Array, 'getValue should return a Uint8Array, not null')
      assert.equal(value.length, 0, 'getValue of an empty value should be 0 bytes long')
      assert.equal(
        await store.existsKey('b', 'empty'),
        true,
        'existsKey of a key holding an empty value should be true',
      )
      assert.deepEqual(
        await keysHex(store, 'b'),
        [Buffer.from('empty').toString('hex')],
        'keys("b") should list a key holding an empty value (hex)',
      )
      assert.deepEqual(
        await bucketNames(store),
        ['b'],
        'buckets() should list a bucket whose only key holds an empty value',
      )
    })

    test('§3.2 an empty string value is a real value', async (store) => {
      await store.addValue('b', 'empty', '')
      assertBytes(await store.getValue('b', 'empty'), new Uint8Array(0), 'getValue')
      assert.equal(await store.existsKey('b', 'empty'), true)
    })

    test('§3.2 an empty value stored with addValueCompress is a real value', async (store) => {
      await store.addValueCompress('b', 'empty', new Uint8Array(0))
      assertBytes(
        await store.getCompressedValue('b', 'empty'),
        new Uint8Array(0),
        'getCompressedValue',
      )
      assertBytes(
        await store.getValue('b', 'empty'),
        bytes(0, 0, 0, 0, 0),
        'getValue (stored layout)',
      )
      assert.equal(await store.existsKey('b', 'empty'), true)
    })

    test('§3.2 an empty value can be deleted and written again', async (store) => {
      await store.addValue('b', 'k', '')
      await store.deleteKey('b', 'k')
      await assertMissing(store, 'b', 'k')
      await store.addValue('b', 'k', '')
      await assertValue(store, 'b', 'k', new Uint8Array(0))
    })

    test('§3.3 addValue overwrites', async (store) => {
      await store.addValue('b', 'k', 'first value')
      await store.addValue('b', 'k', 'second')
      await assertValue(store, 'b', 'k', text('second'))
      await store.addValue('b', 'k', 'a longer third value than before')
      await assertValue(store, 'b', 'k', text('a longer third value than before'))
      await store.addValue('b', 'k', '')
      await assertValue(store, 'b', 'k', new Uint8Array(0))
      assert.deepEqual(await keysHex(store, 'b'), [Buffer.from('k').toString('hex')])
    })

    test('§3.3 a raw and a compressed write overwrite each other', async (store) => {
      await store.addValue('b', 'k', 'raw')
      await store.addValueCompress('b', 'k', 'compressed')
      assertBytes(await store.getValue('b', 'k'), compress(text('compressed')), 'getValue')
      assertBytes(
        await store.getCompressedValue('b', 'k'),
        text('compressed'),
        'getCompressedValue',
      )
      await store.addValue('b', 'k', 'raw again')
      await assertValue(store, 'b', 'k', text('raw again'))
    })

    test('§3.3 a deleted key can be written again', async (store) => {
      await store.addValue('b', 'k', 'one')
      await store.deleteKey('b', 'k')
      await store.addValue('b', 'k', 'two')
      await assertValue(store, 'b', 'k', text('two'))
    })
  })
}
