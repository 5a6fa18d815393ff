/**
 * Batch writes: `addValues(bucket, entries)` stores every pair as `addValue` would, checks every
 * pair before writing any, gives a key listed twice its last value, and copes with concurrency
 * and with callers reusing their buffers.
 *
 * @module
 */
import assert from 'node:assert/strict'
import { assertRejectsWith, assertValue, bucketNames, keysHex } from '../harness/assertions.js'
import { bytes, pseudoRandomBytes, text } from '../harness/data.js'
import { storeTests } from '../harness/define.js'
import type { ConformanceSuite } from '../suite.js'

const key = (i: number): string => `key-${String(i).padStart(5, '0')}`

/** Batch writes (`addValues`). */
export const batchWrites: ConformanceSuite = (runner, target) => {
  runner.describe('batch writes', () => {
    const test = storeTests(runner, target)

    test('addValues stores every pair, byte-identical, and lists the keys in order', async (store) => {
      const pairs: [Uint8Array, Uint8Array][] = [
        [bytes(0x62), pseudoRandomBytes(300, 7)],
        [bytes(), text('empty key')],
        [bytes(0x00, 0xff), bytes()],
        [bytes(0xff), bytes(0x00, 0x00, 0xff)],
        [text('ü'), pseudoRandomBytes(20_000, 8)],
      ]
      await store.addValues('b', pairs)
      for (const [k, v] of pairs) await assertValue(store, 'b', k, v)
      assert.deepEqual(await keysHex(store, 'b'), ['', '00ff', '62', 'c3bc', 'ff'])
      assert.deepEqual(await bucketNames(store), ['b'])
    })

    test('addValues takes string pairs, a Map and a generator', async (store) => {
      await store.addValues('b', [['s', 'string value']])
      await store.addValues('b', new Map([['m', text('from a map')]]))
      function* generated(): Generator<[string, string]> {
        for (let i = 0; i < 3; i++) yield [`g${i}`, `generated ${i}`]
      }
      await store.addValues('b', generated())
      await assertValue(store, 'b', 's', text('string value'))
      await assertValue(store, 'b', 'm', text('from a map'))
      for (let i = 0; i < 3; i++) await assertValue(store, 'b', `g${i}`, text(`generated ${i}`))
    })

    test('addValues overwrites, and a key listed twice gets its last value', async (store) => {
      await store.addValue('b', 'k', 'before')
      await store.addValues('b', [
        ['k', 'first'],
        ['other', 'x'],
        ['k', 'second'],
        ['other', 'y'],
        ['k', 'last'],
      ])
      await assertValue(store, 'b', 'k', text('last'))
      await assertValue(store, 'b', 'other', text('y'))
      assert.deepEqual(await keysHex(store, 'b'), ['6b', '6f74686572'])
    })

    test('addValues with no pairs resolves and writes nothing', async (store) => {
      await store.addValues('b', [])
      await store.addValues('b', new Map())
      assert.deepEqual(await bucketNames(store), [])
    })

    test('addValues of 5,000 pairs in one call keeps them all', async (store) => {
      const pairs = Array.from({ length: 5000 }, (_, i): [string, string] => [key(i), `v${i}`])
      await store.addValues('b', pairs)
      const listed = await keysHex(store, 'b')
      assert.equal(listed.length, 5000)
      for (const i of [0, 1, 2499, 4998, 4999]) await assertValue(store, 'b', key(i), text(`v${i}`))
    })

    test('a bad pair anywhere rejects the whole call and nothing is written', async (store) => {
      const pairs: [unknown, unknown][] = Array.from({ length: 1000 }, (_, i) => [key(i), 'v'])
      pairs.push([key(1000), 12345])
      await assertRejectsWith(
        () => store.addValues('b', pairs as [string, string][]),
        'KV_INVALID_ARGUMENT',
        'addValues with a number as the value of pair 1000',
        'entries[1000].value',
      )
      await assertRejectsWith(
        () => store.addValues('b', [['k', 'v'], ['lonely']] as unknown as [string, string][]),
        'KV_INVALID_ARGUMENT',
        'addValues with a pair of one element',
        'entries[1]',
      )
      await assertRejectsWith(
        () => store.addValues('b', 'not pairs' as unknown as [string, string][]),
        'KV_INVALID_ARGUMENT',
        'addValues with a string for entries',
        'entries',
      )
      assert.deepEqual(await bucketNames(store), [])
    })

    test('addValues touches only its own bucket', async (store) => {
      await store.addValue('a', 'k', 'in a')
      await store.addValues('a,b', [['k', 'in a,b']])
      await assertValue(store, 'a', 'k', text('in a'))
      await assertValue(store, 'a,b', 'k', text('in a,b'))
      assert.deepEqual(await bucketNames(store), ['a', 'a,b'])
    })

    test('concurrent addValues and addValue calls of distinct keys are all kept', async (store) => {
      const calls: Promise<void>[] = []
      for (let batch = 0; batch < 20; batch++) {
        const pairs = Array.from({ length: 50 }, (_, i): [string, string] => [
          key(batch * 100 + i),
          `batch ${batch}`,
        ])
        calls.push(store.addValues('b', pairs))
        calls.push(store.addValue('b', key(batch * 100 + 50), `single ${batch}`))
      }
      await Promise.all(calls)
      assert.equal((await keysHex(store, 'b')).length, 20 * 51)
      await assertValue(store, 'b', key(1949), text('batch 19'))
      await assertValue(store, 'b', key(1950), text('single 19'))
    })

    test('the caller may reuse its key and value buffers once addValues returns', async (store) => {
      const k = text('key-a')
      const v = text('value-a')
      const written = store.addValues('b', [[k, v]])
      k.fill(0x7a)
      v.fill(0x7a)
      await written
      await assertValue(store, 'b', 'key-a', text('value-a'))
      assert.deepEqual(await keysHex(store, 'b'), ['6b65792d61'])
    })
  })
}
