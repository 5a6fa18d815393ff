/**
 * Persistence (SPEC §3.6, "persistent backends then show the same data"): for targets with
 * `capabilities.persistent`, data survives closing and opening the same store object, and
 * opening a new object over the same data (`target.reopen`). Skipped for other targets.
 *
 * @module
 */
import assert from 'node:assert/strict'
import { compress, type KVStore } from '@kv/core'
import {
  assertBytes,
  assertMissing,
  assertValue,
  bucketNames,
  hex,
  keysHex,
} from '../harness/assertions.js'
import { bytes, MiB, pseudoRandomBytes, text } from '../harness/data.js'
import { type StoreTestBody, storeTests } from '../harness/define.js'
import type { StoreSession } from '../harness/session.js'
import type { ConformanceSuite } from '../suite.js'

/** Writes a little of everything, including deletes, so that a reopened store has much to show. */
async function writeSample(store: KVStore): Promise<void> {
  await store.addValue('a', 'raw', bytes(0x00, 0xff, 0xc3, 0x28))
  await store.addValue('a', 'empty', '')
  await store.addValueCompress('a', 'z', 'compressed value')
  await store.addValueCompress('a', 'z-empty', '')
  await store.addValue('a,b', 'c', 'not a / b,c')
  await store.addValue('a', 'b,c', 'a / b,c')
  await store.addValue('a\0', bytes(0xff), 'nul bucket')
  await store.addValue('ü', 'k', 'first')
  await store.addValue('ü', 'k', 'overwritten')
  await store.addValue('\ufeffbom', '\ufeffk', 'byte-order mark')
  await store.addValue('a', 'deleted', 'x')
  await store.deleteKey('a', 'deleted')
  await store.addValue('dropped', 'k1', 'x')
  await store.addValue('dropped', 'k2', 'x')
  await store.deleteBucket('dropped')
  // Each entry of addValues is as durable as an addValue (`kv migrate` writes through it).
  await store.addValues('batch', [
    ['twice', 'first'],
    ['empty', ''],
    [bytes(0x00, 0xff), bytes(0xff, 0x00, 0xc3, 0x28)],
    ['removed', 'x'],
    ['twice', 'last'],
  ])
  await store.deleteKey('batch', 'removed')
}

/** Asserts the data {@link writeSample} left. */
async function assertSample(store: KVStore, how: string): Promise<void> {
  await assertValue(store, 'a', 'raw', bytes(0x00, 0xff, 0xc3, 0x28))
  await assertValue(store, 'a', 'empty', new Uint8Array(0))
  assertBytes(
    await store.getCompressedValue('a', 'z'),
    text('compressed value'),
    `${how}: getCompressedValue`,
  )
  assertBytes(
    await store.getValue('a', 'z'),
    compress(text('compressed value')),
    `${how}: getValue of compressed`,
  )
  assertBytes(
    await store.getCompressedValue('a', 'z-empty'),
    new Uint8Array(0),
    `${how}: empty compressed`,
  )
  await assertValue(store, 'a,b', 'c', text('not a / b,c'))
  await assertValue(store, 'a', 'b,c', text('a / b,c'))
  await assertValue(store, 'a\0', bytes(0xff), text('nul bucket'))
  await assertValue(store, 'ü', 'k', text('overwritten'))
  await assertValue(store, '\ufeffbom', '\ufeffk', text('byte-order mark'))
  await assertMissing(store, 'a', 'deleted')
  await assertMissing(store, 'dropped', 'k1')
  await assertValue(store, 'batch', 'twice', text('last'))
  await assertValue(store, 'batch', 'empty', new Uint8Array(0))
  await assertValue(store, 'batch', bytes(0x00, 0xff), bytes(0xff, 0x00, 0xc3, 0x28))
  await assertMissing(store, 'batch', 'removed')
  assert.deepEqual(
    await keysHex(store, 'batch'),
    ['00ff', hex(text('empty')), hex(text('twice'))],
    `${how}: keys("batch")`,
  )
  assert.deepEqual(
    await keysHex(store, 'a'),
    ['b,c', 'empty', 'raw', 'z', 'z-empty'].map((k) => hex(text(k))),
    `${how}: keys("a")`,
  )
  assert.deepEqual(
    await bucketNames(store),
    ['a', 'a\0', 'a,b', 'batch', 'ü', '\ufeffbom'],
    `${how}: buckets()`,
  )
}

/** Persistence: SPEC §3.6 for persistent backends. */
export const persistence: ConformanceSuite = (runner, target) => {
  runner.describe('persistence', () => {
    const test = storeTests(runner, target)
    const persistent = target.capabilities?.persistent === true
    const notPersistent = `${target.name} does not declare capabilities.persistent`

    /** A test that runs only for persistent targets (and, with `needsReopen`, with `target.reopen`). */
    const persistentTest = (name: string, body: StoreTestBody, needsReopen = false): void =>
      test(name, async (store, session, context) => {
        if (!persistent) return context.skip(notPersistent)
        if (needsReopen && !session.canReopen) return context.skip(`${target.name} has no reopen()`)
        await body(store, session, context)
      })

    // Runs for every target: it is what keeps the other tests of this group from being skipped
    // by mistake. `store.persistent` (read once the store is open, when a store configured by its
    // section knows it for sure) is `false` for a store whose data does not outlive the process;
    // absent or `true` means the store keeps its data (@kv/core's KVStore). A store that keeps its
    // data must be declared `capabilities.persistent`, or the persistence tests never run against
    // it. The converse is not required: a store whose data survives close() but not the process
    // (MemoryStore with persistAcrossClose) reports `false` and may declare the capability.
    test('§3.6 a store that says it keeps its data (store.persistent) is declared capabilities.persistent', async (store) => {
      const says = store.persistent
      assert.ok(
        says === undefined || typeof says === 'boolean',
        `store.persistent must be true, false or absent; got ${typeof says} ${String(says)}`,
      )
      if (says === false) return
      assert.ok(
        persistent,
        `${target.name}: store.persistent is ${says === undefined ? 'absent, which means the store keeps its data' : 'true'}, but the target does not declare capabilities.persistent (default false), so the persistence tests are skipped: declare it (with reopen()), or make store.persistent false if the data does not outlive the process`,
      )
    })

    persistentTest(
      '§3.6 a closed store opened again shows the same data',
      async (store, session) => {
        await writeSample(store)
        await session.cycle()
        await assertSample(store, 'after close and open')
      },
    )

    persistentTest(
      '§3.6 a new store object over the same data shows the same data',
      async (store, session) => {
        await writeSample(store)
        const reopened = await session.reopen()
        await assertSample(reopened, 'after reopen')
      },
      true,
    )

    persistentTest(
      '§3.6 data survives several close/open cycles with changes in between',
      async (_store, session) => {
        const expected = new Map<string, string>()
        for (let cycle = 0; cycle < 4; cycle++) {
          const store = cycle % 2 === 0 ? await session.cycle() : await session.reopen()
          await store.addValue('b', `k${cycle}`, `v${cycle}`)
          expected.set(`k${cycle}`, `v${cycle}`)
          if (cycle > 0) {
            await store.deleteKey('b', `k${cycle - 1}`)
            expected.delete(`k${cycle - 1}`)
          }
          await store.addValue('b', 'shared', `shared ${cycle}`)
          expected.set('shared', `shared ${cycle}`)
        }
        const store = await session.reopen()
        for (const [key, value] of expected) await assertValue(store, 'b', key, text(value))
        assert.deepEqual(
          await keysHex(store, 'b'),
          [...expected.keys()].sort().map((k) => hex(text(k))),
        )
      },
    )

    persistentTest(
      '§3.6 a 1 MiB value survives close and reopen',
      async (store, session: StoreSession, context) => {
        if (store.limits.maxValueBytes < MiB) return context.skip('the value limit is under 1 MiB')
        const value = pseudoRandomBytes(MiB, 5)
        await store.addValue('b', 'large', value)
        await store.addValue('b', 'small', 'after the large one')
        const reopened = await session.reopen()
        assertBytes(await reopened.getValue('b', 'large'), value, 'getValue after reopen')
        await assertValue(reopened, 'b', 'small', text('after the large one'))
      },
    )

    persistentTest(
      '§3.6 writes made concurrently before close survive it',
      async (store, session) => {
        await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            store.addValue('b', `k${String(i).padStart(3, '0')}`, `v${i}`),
          ),
        )
        const reopened = await session.reopen()
        assert.equal((await keysHex(reopened, 'b')).length, 200)
        await assertValue(reopened, 'b', 'k199', text('v199'))
      },
    )
  })
}
