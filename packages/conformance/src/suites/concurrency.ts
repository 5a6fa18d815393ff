/**
 * Concurrency (SPEC §3.6): many operations in flight on one store at once are safe, and none
 * is lost. Each test starts everything before awaiting anything.
 *
 * @module
 */
import assert from 'node:assert/strict'
import { assertBytes, bucketNames, hex, keysHex } from '../harness/assertions.js'
import { text } from '../harness/data.js'
import { storeTests } from '../harness/define.js'
import type { ConformanceSuite } from '../suite.js'

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i)
const key = (i: number): string => `key-${String(i).padStart(4, '0')}`

/** Concurrency: SPEC §3.6. */
export const concurrency: ConformanceSuite = (runner, target) => {
  runner.describe('concurrency', () => {
    const test = storeTests(runner, target)

    test('§3.6 500 concurrent addValue calls of distinct keys are all kept', async (store) => {
      await Promise.all(range(500).map((i) => store.addValue('b', key(i), `value ${i}`)))
      const missing: string[] = []
      for (const i of range(500)) {
        const value = await store.getValue('b', key(i))
        if (value === null) missing.push(key(i))
        else assertBytes(value, text(`value ${i}`), key(i))
      }
      assert.deepEqual(
        missing,
        [],
        `${missing.length} of 500 writes were lost (a backend that reads its key or value after an await, without copying it first, writes under another key: the caller's buffers, and core's buffer of a string key, are reused as soon as the call returns)`,
      )
      assert.equal((await keysHex(store, 'b')).length, 500)
    })

    test('§3.6 200 concurrent addValueCompress calls of distinct keys are all kept', async (store) => {
      await Promise.all(
        range(200).map((i) => store.addValueCompress('b', key(i), `value ${i}`.repeat(20))),
      )
      for (const i of range(200)) {
        assertBytes(
          await store.getCompressedValue('b', key(i)),
          text(`value ${i}`.repeat(20)),
          key(i),
        )
      }
    })

    test('§3.6 concurrent writes to 50 buckets are all kept', async (store) => {
      await Promise.all(
        range(50).flatMap((b) =>
          range(10).map((i) => store.addValue(`bucket-${b}`, key(i), `${b}/${i}`)),
        ),
      )
      assert.equal((await bucketNames(store)).length, 50)
      for (const b of range(50)) {
        assert.equal((await keysHex(store, `bucket-${b}`)).length, 10, `keys of bucket-${b}`)
        assertBytes(await store.getValue(`bucket-${b}`, key(9)), text(`${b}/9`), `bucket-${b}`)
      }
    })

    test('§3.6 concurrent overwrites of one key end with one of the written values', async (store) => {
      const values = range(100).map((i) => `overwrite number ${i}`)
      await Promise.all(values.map((value) => store.addValue('b', 'shared', value)))
      const final = await store.getValue('b', 'shared')
      assert.ok(final !== null, 'the key must exist')
      assert.ok(
        values.map((v) => hex(text(v))).includes(hex(final)),
        `unexpected final value ${hex(final)}`,
      )
      await Promise.all(values.map((value) => store.addValueCompress('b', 'shared', value)))
      const decoded = await store.getCompressedValue('b', 'shared')
      assert.ok(decoded !== null && values.map((v) => hex(text(v))).includes(hex(decoded)))
    })

    test('§3.6 200 concurrent deleteKey calls of distinct keys all take effect', async (store) => {
      for (const i of range(300)) await store.addValue('b', key(i), 'v')
      await Promise.all(range(200).map((i) => store.deleteKey('b', key(i))))
      assert.deepEqual(
        await keysHex(store, 'b'),
        range(100).map((i) => hex(text(key(i + 200)))),
      )
    })

    test('§3.6 concurrent mixed operations are safe and none is lost', async (store) => {
      // Before: "stable" keys are only read, "doomed" keys are deleted, bucket "gone" is dropped.
      for (const i of range(100)) await store.addValue('stable', key(i), `stable ${i}`)
      for (const i of range(100)) await store.addValue('doomed', key(i), `doomed ${i}`)
      for (const i of range(20)) await store.addValue('gone', key(i), 'x')

      const reads: Promise<void>[] = []
      const work: Promise<unknown>[] = []
      for (const i of range(100)) {
        work.push(store.addValue('new', key(i), `new ${i}`))
        work.push(store.addValueCompress('new-z', key(i), `compressed ${i}`))
        work.push(store.deleteKey('doomed', key(i)))
        reads.push(
          store
            .getValue('stable', key(i))
            .then((v) => assertBytes(v, text(`stable ${i}`), `stable ${key(i)}`)),
        )
        reads.push(
          store
            .existsKey('stable', key(i))
            .then((v) => assert.equal(v, true, `exists stable ${key(i)}`)),
        )
        if (i % 10 === 0) {
          reads.push(
            keysHex(store, 'stable').then((keys) =>
              assert.equal(keys.length, 100, 'keys(stable) while writing'),
            ),
          )
        }
      }
      work.push(store.deleteBucket('gone'))
      work.push(bucketNames(store))
      await Promise.all([...work, ...reads])

      for (const i of range(100)) {
        assertBytes(await store.getValue('new', key(i)), text(`new ${i}`), `new ${key(i)}`)
        assertBytes(
          await store.getCompressedValue('new-z', key(i)),
          text(`compressed ${i}`),
          `new-z ${key(i)}`,
        )
      }
      assert.deepEqual(await keysHex(store, 'doomed'), [])
      assert.deepEqual(await keysHex(store, 'gone'), [])
      assert.deepEqual(await bucketNames(store), ['new', 'new-z', 'stable'])
    })
  })
}
