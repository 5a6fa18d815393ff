/**
 * Lifecycle (SPEC §3.6): no operation on a store that is not open, idempotent open/close, a
 * closed store can be opened again, close lets operations in flight finish.
 *
 * @module
 */
import assert from 'node:assert/strict'
import type { KVStore } from '@kv/core'
import { assertRejectsWith, assertValue, collect } from '../harness/assertions.js'
import { INPUT_KINDS, text } from '../harness/data.js'
import { storeTests } from '../harness/define.js'
import type { ConformanceSuite } from '../suite.js'

/** Buckets the test of close() with operations in flight drops while it closes. */
const DROPPED_BUCKETS = 10

/** Every operation of the API, each called with valid arguments. */
const OPERATIONS: [string, (store: KVStore) => Promise<unknown>][] = [
  ['getValue', (s) => s.getValue('b', 'k')],
  ['getCompressedValue', (s) => s.getCompressedValue('b', 'k')],
  ['addValue', (s) => s.addValue('b', 'k', 'v')],
  ['addValueCompress', (s) => s.addValueCompress('b', 'k', 'v')],
  ['addValues', (s) => s.addValues('b', [['k', 'v']])],
  ['addValues with no entries', (s) => s.addValues('b', [])],
  ['existsKey', (s) => s.existsKey('b', 'k')],
  ['deleteKey', (s) => s.deleteKey('b', 'k')],
  ['deleteBucket', (s) => s.deleteBucket('b')],
  ['keys (iterating)', (s) => collect(s.keys('b'))],
  ['keys with options (iterating)', (s) => collect(s.keys('b', { prefix: 'k', limit: 1 }))],
  ['buckets (iterating)', (s) => collect(s.buckets())],
]

async function assertEveryOperationRejects(store: KVStore, state: string): Promise<void> {
  for (const [name, call] of OPERATIONS) {
    await assertRejectsWith(() => call(store), 'KV_NOT_OPEN', `${name} on a ${state} store`)
  }
}

/** Lifecycle: SPEC §3.6. */
export const lifecycle: ConformanceSuite = (runner, target) => {
  runner.describe('lifecycle', () => {
    const test = storeTests(runner, target)

    test(
      '§3.6 every operation on a never-opened store rejects with KV_NOT_OPEN',
      async (store) => {
        await assertEveryOperationRejects(store, 'never-opened')
      },
      { open: false },
    )

    test('§3.6 every operation on a closed store rejects with KV_NOT_OPEN', async (store) => {
      await store.addValue('b', 'k', 'v')
      await store.close()
      await assertEveryOperationRejects(store, 'closed')
    })

    test('§3.6 an iteration begun before close() rejects after it', async (store) => {
      for (const key of ['k1', 'k2', 'k3']) await store.addValue('b', key, 'v')
      await store.addValue('c', 'k', 'v')
      const keys = store.keys('b')[Symbol.asyncIterator]()
      const names = store.buckets()[Symbol.asyncIterator]()
      assert.equal((await keys.next()).done, false)
      assert.equal((await names.next()).done, false)
      await store.close()
      await assertRejectsWith(() => keys.next(), 'KV_NOT_OPEN', 'keys() next() after close()')
      await assertRejectsWith(() => names.next(), 'KV_NOT_OPEN', 'buckets() next() after close()')
    })

    test('§3.6 an iteration begun before close() rejects after the store is opened again, then ends', async (store) => {
      for (const key of ['k1', 'k2', 'k3']) await store.addValue('b', key, 'v')
      await store.addValue('c', 'k', 'v')
      const keys = store.keys('b', { limit: 1000 })[Symbol.asyncIterator]()
      const names = store.buckets()[Symbol.asyncIterator]()
      assert.equal((await keys.next()).done, false)
      assert.equal((await names.next()).done, false)
      await store.close()
      await store.open()
      // It belonged to the closed session: it does not go on over whatever that left behind.
      await assertRejectsWith(() => keys.next(), 'KV_NOT_OPEN', 'keys() next() after reopen')
      await assertRejectsWith(() => names.next(), 'KV_NOT_OPEN', 'buckets() next() after reopen')
      assert.equal((await keys.next()).done, true, 'keys() after its rejection')
      assert.equal((await names.next()).done, true, 'buckets() after its rejection')
      // A new listing works (whether the data outlived close() is the persistence tests' concern).
      await store.addValue('d', 'k', 'v')
      assert.ok((await collect(store.buckets())).includes('d'), 'a new buckets() listing')
    })

    test('§3.6 writes rejected on a closed store are not written', async (store, session) => {
      await store.close()
      await assertRejectsWith(() => store.addValue('b', 'k', 'v'), 'KV_NOT_OPEN', 'addValue')
      await assertRejectsWith(
        () => store.addValueCompress('b', 'c', 'v'),
        'KV_NOT_OPEN',
        'addValueCompress',
      )
      await assertRejectsWith(() => store.addValues('b', [['d', 'v']]), 'KV_NOT_OPEN', 'addValues')
      await store.open()
      assert.equal(await store.existsKey('b', 'k'), false)
      assert.equal(await store.existsKey('b', 'c'), false)
      assert.equal(await store.existsKey('b', 'd'), false)
      assert.deepEqual(await collect(session.store.buckets()), [])
    })

    test('§3.6 open() is idempotent', async (store) => {
      await store.open()
      await store.addValue('b', 'k', 'v')
      await store.open()
      assert.equal(store.status, 'open')
      await assertValue(store, 'b', 'k', text('v'))
    })

    test(
      '§3.6 concurrent open() calls all resolve and leave the store open',
      async (store) => {
        await Promise.all([store.open(), store.open(), store.open()])
        assert.equal(store.status, 'open')
        await store.addValue('b', 'k', 'v')
        await assertValue(store, 'b', 'k', text('v'))
      },
      { open: false },
    )

    test('§3.6 close() is idempotent', async (store) => {
      await store.close()
      await store.close()
      assert.equal(store.status, 'closed')
      await assertRejectsWith(
        () => store.getValue('b', 'k'),
        'KV_NOT_OPEN',
        'getValue after two closes',
      )
    })

    test(
      '§3.6 closing a never-opened store succeeds',
      async (store) => {
        await store.close()
        assert.equal(store.status, 'closed')
      },
      { open: false },
    )

    test('§3.6 concurrent close() calls all resolve and leave the store closed', async (store) => {
      await store.addValue('b', 'k', 'v')
      await Promise.all([store.close(), store.close(), store.close()])
      assert.equal(store.status, 'closed')
      await assertRejectsWith(() => store.getValue('b', 'k'), 'KV_NOT_OPEN', 'getValue after close')
    })

    for (const [suffix, input] of INPUT_KINDS) {
      test(
        `§3.6 a write made while open() is in progress stores the bytes given when it was made${suffix}`,
        async (store) => {
          const opening = store.open()
          const key = input('key-1')
          const value = input('value-1')
          const writing = store.addValue('b', key, value)
          key.set(text('key-2'))
          value.set(text('value-2'))
          await opening
          await writing
          await assertValue(store, 'b', 'key-1', text('value-1'))
          assert.equal(await store.existsKey('b', 'key-2'), false, 'existsKey key-2')
        },
        { open: false },
      )
    }

    test('§3.6 a closed store can be opened again', async (store) => {
      for (let cycle = 0; cycle < 3; cycle++) {
        await store.close()
        await store.open()
        assert.equal(store.status, 'open')
        await store.addValue('b', `k${cycle}`, `v${cycle}`)
        await assertValue(store, 'b', `k${cycle}`, text(`v${cycle}`))
      }
    })

    test('§3.6 close() lets the operations in flight finish', async (store, session) => {
      const count = 50
      // What the deletes remove: a key each, and buckets of a few keys each.
      await store.addValues(
        'doomed',
        Array.from({ length: count }, (_, i): [string, string] => [`k${i}`, `v${i}`]),
      )
      for (let i = 0; i < DROPPED_BUCKETS; i++) {
        await store.addValues(`dropped-${i}`, [
          ['a', 'v'],
          ['b', 'v'],
        ])
      }
      // Each operation is counted as it settles, so what had settled when close() resolved is
      // known: waiting for the operations before close() would let a close() that does not wait
      // pass.
      const fulfilled: Record<string, number> = {}
      const started: Record<string, number> = {}
      const failures: unknown[] = []
      const track = (kind: string, operation: Promise<void>): Promise<void> => {
        started[kind] = (started[kind] ?? 0) + 1
        fulfilled[kind] ??= 0
        return operation.then(
          () => void fulfilled[kind]!++,
          (error: unknown) => void failures.push(error),
        )
      }
      const operations: Promise<void>[] = []
      for (let i = 0; i < count; i++) {
        operations.push(track('addValue', store.addValue('b', `k${i}`, `v${i}`)))
        operations.push(track('deleteKey', store.deleteKey('doomed', `k${i}`)))
        if (i < DROPPED_BUCKETS) {
          operations.push(track('deleteBucket', store.deleteBucket(`dropped-${i}`)))
          operations.push(
            track(
              'addValues',
              store.addValues('batch', [
                [`k${i}-1`, `v${i}`],
                [`k${i}-2`, ''],
              ]),
            ),
          )
        }
      }
      await store.close()
      const atClose = { ...fulfilled }
      assert.deepEqual(failures, [], 'operations started before close() must not fail')
      const late = Object.keys(started)
        .filter((kind) => atClose[kind] !== started[kind])
        .map((kind) => `${atClose[kind]} of ${started[kind]} ${kind} calls`)
      assert.deepEqual(
        late,
        [],
        `only ${late.join(', ')} started before close() had completed when it resolved`,
      )
      await Promise.all(operations)
      if (target.capabilities?.persistent !== true) return
      // A persistent store shows every change after it is opened again (a new object if it can).
      const reopened = await session.reopen()
      for (let i = 0; i < count; i++) await assertValue(reopened, 'b', `k${i}`, text(`v${i}`))
      assert.deepEqual(await collect(reopened.keys('doomed')), [], 'keys("doomed") after reopen')
      for (let i = 0; i < DROPPED_BUCKETS; i++) {
        assert.deepEqual(
          await collect(reopened.keys(`dropped-${i}`)),
          [],
          `keys("dropped-${i}") after reopen`,
        )
        await assertValue(reopened, 'batch', `k${i}-1`, text(`v${i}`))
        await assertValue(reopened, 'batch', `k${i}-2`, new Uint8Array(0))
      }
      assert.deepEqual(await collect(reopened.buckets()), ['b', 'batch'], 'buckets() after reopen')
    })

    test('§3.6 open() and close() called alternately without waiting end in the last state asked for', async (store) => {
      const calls = [store.close(), store.open(), store.close(), store.open()]
      await Promise.all(calls)
      assert.equal(store.status, 'open')
      await store.addValue('b', 'k', 'v')
      await assertValue(store, 'b', 'k', text('v'))
    })
  })
}
