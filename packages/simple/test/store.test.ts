/**
 * Behaviour beyond the conformance suite: the values the Go framework's format broke, fuzzy
 * snapshots under concurrent writes, snapshot triggers and retirement, writes during a
 * snapshot, and rejected input leaving the WAL untouched.
 */
import { truncateSync } from 'node:fs'
import { cp, mkdir, readdir, rmdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { isKVError } from '@kv/core'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { FREE_AT_ONCE_MAX_KEYS, MemoryIndex } from '../src/memory-index.js'
import { ENTRIES_PER_TURN, liveSlotsByBucket } from '../src/snapshot-writer.js'
import { rng } from './fixtures/ops.mjs'
import {
  collectWarnings,
  dump,
  openStore,
  removeDir,
  sleep,
  tempDir,
  until,
  type Warning,
} from './helpers.js'
import { fileHeader } from './reference-format.js'

let dir: string
beforeEach(async () => {
  dir = await tempDir('simple-kv-store')
})
afterEach(async () => {
  await removeDir(dir)
})

const MANUAL = { snapshot_wal_bytes: 0, snapshot_interval_seconds: 0 }

/** Runs `body`, counting the calls of setImmediate meanwhile (how often it gave the loop a turn). */
async function countingSetImmediate<T>(
  body: () => Promise<T>,
): Promise<{ result: T; calls: number }> {
  const realSetImmediate = globalThis.setImmediate
  let calls = 0
  globalThis.setImmediate = ((...args: Parameters<typeof setImmediate>) => {
    calls++
    return realSetImmediate(...args)
  }) as typeof setImmediate
  try {
    return { result: await body(), calls }
  } finally {
    globalThis.setImmediate = realSetImmediate
  }
}

describe('values the Go framework corrupted', () => {
  const awkward: Record<string, Uint8Array | string> = {
    newline: 'line one\nline two\n',
    'double tab': 'a\t\tb\t\t',
    'key\t\tlike': 'the key has a double tab',
    'key\nwith newline': 'x',
    empty: '',
    binary: new Uint8Array([0, 255, 10, 9, 9, 13, 0]),
  }

  for (const via of ['the WAL', 'a snapshot'] as const) {
    test(`round-trip through ${via}`, async () => {
      const store = await openStore(dir, MANUAL)
      for (const [key, value] of Object.entries(awkward))
        await store.addValue('b\t\tucket\n', key, value)
      if (via === 'a snapshot') await store.snapshot()
      const before = await dump(store)
      await store.close()
      const reopened = await openStore(dir, MANUAL)
      expect(await dump(reopened)).toEqual(before)
      // An empty value is a value, not a delete.
      expect(await reopened.existsKey('b\t\tucket\n', 'empty')).toBe(true)
      expect(await reopened.getValue('b\t\tucket\n', 'empty')).toEqual(new Uint8Array(0))
      await reopened.close()
    })
  }
})

test('the callers of one group commit resume in the order of their calls', async () => {
  const store = await openStore(dir, MANUAL)
  try {
    const order: string[] = []
    const calls = [
      store.addValue('b', 'k', '1').then(() => order.push('put 1')),
      store.deleteKey('b', 'k').then(() => order.push('delete')),
      store.addValue('b', 'k', '2').then(() => order.push('put 2')),
      store.deleteBucket('c').then(() => order.push('delete bucket')),
    ]
    await Promise.all(calls)
    // One WAL batch, applied in this order; its callers learn of it in the same order.
    expect(order).toEqual(['put 1', 'delete', 'put 2', 'delete bucket'])
    expect(Buffer.from((await store.getValue('b', 'k'))!).toString()).toBe('2')
  } finally {
    await store.close()
  }
})

describe('snapshots', () => {
  test('a snapshot taken while writes go on, plus the WAL after it, reopens to the exact state', async () => {
    const store = await openStore(dir, MANUAL)
    const model = new Map<string, Map<string, string>>()
    const put = async (bucket: string, key: string, value: string) => {
      await store.addValue(bucket, key, value)
      let entries = model.get(bucket)
      if (entries === undefined) model.set(bucket, (entries = new Map()))
      entries.set(key, value)
    }
    const random = rng(42)
    for (let i = 0; i < 20_000; i++) await put(`b${i % 5}`, `key-${i}`, `initial ${i}`)
    // Many concurrent writers mutate the state while the snapshot walks it.
    const snapshot = store.snapshot()
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let n = 0; n < 1500; n++) {
          const bucket = `b${Math.floor(random() * 6)}`
          const key = `key-${Math.floor(random() * 25_000)}`
          const r = random()
          if (r < 0.6) await put(bucket, key, `w${w} n${n}`)
          else if (r < 0.995) {
            await store.deleteKey(bucket, key)
            model.get(bucket)?.delete(key)
          } else {
            await store.deleteBucket(bucket)
            model.delete(bucket)
          }
        }
      }),
    )
    await snapshot
    await store.close()
    const files = await readdir(dir)
    expect(files.filter((name) => name.endsWith('.snap'))).toEqual([
      'snapshot-0000000000000001.snap',
    ])
    const reopened = await openStore(dir, MANUAL)
    const expected: Record<string, Record<string, string>> = {}
    for (const [bucket, entries] of model) {
      if (entries.size === 0) continue
      expected[bucket] = {}
      for (const key of [...entries.keys()].sort()) {
        expected[bucket][Buffer.from(key).toString('hex')] = Buffer.from(
          entries.get(key)!,
        ).toString('hex')
      }
    }
    expect(await dump(reopened)).toEqual(expected)
    await reopened.close()
  }, 120_000)

  test('bucket deletes followed by puts to the same bucket, before and after a snapshot, reopen to exactly the live state', async () => {
    const text = (bytes: Uint8Array | null) =>
      bytes === null ? null : Buffer.from(bytes).toString()
    const store = await openStore(dir, MANUAL)
    // Segment 1, which the snapshot covers: filled, dropped, filled again.
    for (const key of ['a', 'b', 'c']) await store.addValue('b', key, 'old')
    await store.addValue('other', 'k', 'kept')
    await store.deleteBucket('b')
    await store.addValue('b', 'a', 'after the first drop')
    await store.snapshot()
    // Segment 2, replayed over the snapshot: dropped again while the snapshot holds it.
    await store.deleteBucket('b')
    await store.addValue('b', 'd', 'gone again')
    await store.addValue('b', 'a', 'after the second drop')
    await store.deleteKey('b', 'd')
    await store.deleteBucket('other')
    await store.addValue('third', 'k', 'v')
    await store.deleteBucket('third')
    const expected = {
      b: {
        [Buffer.from('a').toString('hex')]: Buffer.from('after the second drop').toString('hex'),
      },
    }
    expect(await dump(store)).toEqual(expected)
    await store.close()
    for (const step of ['from the snapshot and the WAL', 'from a snapshot of the replayed state']) {
      const reopened = await openStore(dir, MANUAL)
      expect(await dump(reopened), step).toEqual(expected)
      for (const key of ['b', 'c', 'd'])
        expect(text(await reopened.getValue('b', key)), `${step}: b/${key}`).toBeNull()
      expect(await reopened.existsKey('other', 'k'), step).toBe(false)
      await reopened.snapshot()
      await reopened.close()
    }
  })

  test('a large deleted bucket is freed after deleteBucket resolves, in the background (when the delete is replayed at open, within open()); snapshots taken meanwhile leave it out', async () => {
    const keys = FREE_AT_ONCE_MAX_KEYS * 3
    const fillBig = async (store: Awaited<ReturnType<typeof openStore>>) => {
      for (let n = 0; n < keys; n += 1000)
        await store.addValues(
          'big',
          Array.from(
            { length: Math.min(1000, keys - n) },
            (_, i) => [`k${n + i}`, 'value'] as const,
          ),
        )
    }
    const store = await openStore(dir, MANUAL)
    await store.addValue('kept', 'k', 'v')
    const keptBytes = store.stats().entryBytes
    await fillBig(store)
    const full = store.stats().entryBytes
    await store.deleteBucket('big')
    // Resolved with the bucket gone but its entries not yet freed: the sweep runs in later turns.
    expect(store.stats().entries).toBe(1)
    expect(store.stats().entryBytes).toBe(full)
    expect(await store.existsKey('big', 'k1')).toBe(false)
    await store.snapshot()
    await until(() => store.stats().entryBytes === keptBytes, 'the deleted bucket is freed')
    await store.close()
    const expected = {
      kept: { [Buffer.from('k').toString('hex')]: Buffer.from('v').toString('hex') },
    }
    // From the snapshot taken while the bucket was being freed.
    const fromSnapshot = await openStore(dir, MANUAL)
    expect(await dump(fromSnapshot)).toEqual(expected)
    expect(fromSnapshot.stats().entryBytes).toBe(keptBytes)
    // The delete replayed from the WAL: freed within open(), as the replay goes.
    await fillBig(fromSnapshot)
    await fromSnapshot.deleteBucket('big')
    await fromSnapshot.close()
    const replayed = await openStore(dir, MANUAL)
    expect(replayed.stats().entries).toBe(1)
    expect(replayed.stats().entryBytes).toBe(keptBytes)
    expect(await dump(replayed)).toEqual(expected)
    await replayed.close()
  })

  test('the WAL size triggers snapshots, and covered segments and older snapshots are removed', async () => {
    const store = await openStore(dir, {
      snapshot_wal_bytes: 8 * 1024,
      snapshot_interval_seconds: 0,
    })
    // Two rounds: a snapshot started in the first may still be running when it ends.
    for (const round of [1, 2]) {
      for (let i = 0; i < 1000; i++)
        await store.addValue('b', `k${i % 300}`, `value ${round}.${i} `.repeat(5))
      await until(() => !store.stats().snapshotInProgress, 'the last snapshot finished')
    }
    const { snapshot, walSegment } = store.stats()
    expect(snapshot).toBeGreaterThan(1)
    const files = (await readdir(dir)).filter((name) => name !== 'LOCK').sort()
    // Exactly the newest snapshot and the segments after it.
    const segments = files
      .filter((name) => name.startsWith('wal-'))
      .map((name) => Number(name.slice(4, 20)))
    expect(files.filter((name) => name.endsWith('.snap'))).toEqual([
      `snapshot-${String(snapshot).padStart(16, '0')}.snap`,
    ])
    expect(Math.min(...segments)).toBe(snapshot + 1)
    expect(Math.max(...segments)).toBe(walSegment)
    const before = await dump(store)
    await store.close()
    const reopened = await openStore(dir, MANUAL)
    expect(await dump(reopened)).toEqual(before)
    await reopened.close()
  })

  test('a size-triggered snapshot also waits for the WAL to reach snapshot_wal_ratio times the last snapshot, across a reopen', async () => {
    const value = 'v'.repeat(100)
    const base = join(dir, 'base')
    const first = await openStore(base, MANUAL)
    for (let i = 0; i < 1000; i++) await first.addValue('b', `key-${i}`, value)
    await first.snapshot()
    const { snapshot, snapshotBytes } = first.stats()
    expect(snapshotBytes).toBeGreaterThan(100_000)
    await first.close()

    // Each configuration starts from a copy of that store: one snapshot, an empty WAL.
    for (const ratio of [0, 2]) {
      const copy = join(dir, `ratio-${ratio}`)
      await cp(base, copy, { recursive: true })
      const store = await openStore(copy, {
        snapshot_wal_bytes: 1024,
        snapshot_wal_ratio: ratio,
        snapshot_interval_seconds: 0,
      })
      const limit = Math.max(1024, ratio * snapshotBytes)
      try {
        // Recovery knows the size of the snapshot it loaded.
        expect(store.stats()).toMatchObject({ snapshot, snapshotBytes })
        let i = 0
        let walBytes = store.stats().walBytes
        while (walBytes < limit) {
          expect(store.stats(), `WAL at ${walBytes} of ${limit} bytes`).toMatchObject({
            snapshot,
            snapshotInProgress: false,
          })
          await store.addValue('b', `key-${i++ % 1000}`, value)
          walBytes = store.stats().walBytes
        }
        // The write that took the WAL to the limit started one.
        const { snapshotInProgress, snapshot: now } = store.stats()
        expect(snapshotInProgress || now > snapshot).toBe(true)
        await until(() => !store.stats().snapshotInProgress, 'the snapshot finished')
        expect(store.stats().snapshot).toBeGreaterThan(snapshot)
      } finally {
        await store.close()
      }
    }
  })

  test('time triggers a snapshot when the WAL holds records', async () => {
    const store = await openStore(dir, { snapshot_wal_bytes: 0, snapshot_interval_seconds: 0.1 })
    try {
      // Nothing written, nothing to snapshot.
      await new Promise((resolve) => setTimeout(resolve, 400))
      expect(store.stats().snapshot).toBe(0)
      await store.addValue('b', 'k', 'v')
      await until(() => store.stats().snapshot > 0, 'a snapshot was taken')
    } finally {
      await store.close()
    }
  })

  test('time counts the records of a segment a failed snapshot switched appends away from', async () => {
    // An interval long enough that the timer does not fire before the snapshot below fails (if
    // it did, its failure would only delay the retry by 10 s).
    const store = await openStore(dir, { snapshot_wal_bytes: 0, snapshot_interval_seconds: 0.5 })
    const blocker = join(dir, 'snapshot-0000000000000001.snap.tmp')
    try {
      await store.addValue('b', 'k', 'v')
      // Writing the snapshot file fails after appends moved to segment 2, which holds nothing.
      await mkdir(blocker)
      await expect(store.snapshot()).rejects.toMatchObject({ code: 'KV_BACKEND_UNAVAILABLE' })
      expect(store.stats()).toMatchObject({ walSegment: 2, walBytes: 24, snapshot: 0 })
      await rmdir(blocker)
      // The record in segment 1 is still covered by no snapshot: the timer takes one.
      await until(() => store.stats().snapshot === 2, 'a timed snapshot covered segment 1')
      await until(() => !store.stats().snapshotInProgress, 'the snapshot finished')
      expect((await readdir(dir)).filter((name) => name !== 'LOCK').sort()).toEqual([
        'snapshot-0000000000000002.snap',
        'wal-0000000000000003.log',
      ])
    } finally {
      await store.close()
    }
    const reopened = await openStore(dir, MANUAL)
    expect(await dump(reopened)).toEqual({
      b: { [Buffer.from('k').toString('hex')]: Buffer.from('v').toString('hex') },
    })
    await reopened.close()
  })

  test('after a crash during a snapshot (an empty segment after the one holding records), time takes a snapshot with no write, then none while idle', async () => {
    const first = await openStore(dir, MANUAL)
    await first.addValue('b', 'k', 'v')
    await first.close()
    // What a snapshot killed right after creating the next segment leaves behind.
    await writeFile(join(dir, 'wal-0000000000000002.log'), fileHeader('W', 2))
    const timed = { snapshot_wal_bytes: 0, snapshot_interval_seconds: 0.1 }
    const store = await openStore(dir, timed)
    try {
      expect(store.stats()).toMatchObject({ walSegment: 2, walBytes: 24, snapshot: 0 })
      await until(() => store.stats().snapshot === 2, 'a timed snapshot covered segment 1')
      await until(() => !store.stats().snapshotInProgress, 'the snapshot finished')
      // Nothing new since: no other snapshot, however many intervals pass.
      await sleep(500)
      expect(store.stats().snapshot).toBe(2)
    } finally {
      await store.close()
    }
    const files = ['snapshot-0000000000000002.snap', 'wal-0000000000000003.log']
    expect((await readdir(dir)).filter((name) => name !== 'LOCK').sort()).toEqual(files)
    // Reopened idle: nothing to snapshot either.
    const reopened = await openStore(dir, timed)
    try {
      expect(await dump(reopened)).toEqual({
        b: { [Buffer.from('k').toString('hex')]: Buffer.from('v').toString('hex') },
      })
      await sleep(500)
      expect(reopened.stats().snapshot).toBe(2)
    } finally {
      await reopened.close()
    }
    expect((await readdir(dir)).filter((name) => name !== 'LOCK').sort()).toEqual(files)
  })

  test('copying many one-key buckets, a snapshot still yields to the event loop every ENTRIES_PER_TURN entries', async () => {
    const store = await openStore(dir, MANUAL)
    const buckets = 40 * ENTRIES_PER_TURN
    const writes: Promise<void>[] = []
    for (let i = 0; i < buckets; i++) {
      writes.push(store.addValue(`bucket-${i}`, 'k', 'v'))
      if (writes.length === 1000) await Promise.all(writes.splice(0))
    }
    await Promise.all(writes)
    // The snapshot gives the event loop its turns with setImmediate: count the calls. (Counting
    // turns would not tell: the loop turns freely while the snapshot waits for its file I/O.)
    // No bucket here reaches ENTRIES_PER_TURN, so the copy yields as often as it should only if
    // it counts entries across buckets.
    const { calls: yields } = await countingSetImmediate(() => store.snapshot())
    expect(store.stats().entries).toBe(buckets)
    expect(yields).toBeGreaterThanOrEqual(buckets / ENTRIES_PER_TURN - 1)
    await store.close()
  }, 120_000)

  test('open() yields to the event loop every mebibyte of snapshot and WAL it parses', async () => {
    const store = await openStore(dir, MANUAL)
    const value = Buffer.alloc(100, 7)
    const fill = async () => {
      for (let n = 0; n < 20_000; n += 1000) {
        await store.addValues(
          'b',
          Array.from({ length: 1000 }, (_, i) => [`key-${n + i}`, value] as const),
        )
      }
    }
    await fill()
    await store.snapshot()
    await fill()
    const { snapshotBytes, walBytes } = store.stats()
    await store.close()
    // Each file is read in one chunk, so only the parse can give the loop its turns: count the
    // setImmediate calls it makes (see the snapshot test above for why calls, not turns).
    const { result: reopened, calls: yields } = await countingSetImmediate(() =>
      openStore(dir, MANUAL),
    )
    expect(reopened.stats().entries).toBe(20_000)
    const mebibytes = Math.floor(snapshotBytes / 2 ** 20) + Math.floor(walBytes / 2 ** 20)
    expect(mebibytes).toBeGreaterThanOrEqual(4)
    expect(yields).toBeGreaterThanOrEqual(mebibytes)
    await reopened.close()
  })

  test('listing the slots of many one-key buckets for a snapshot takes memory in proportion to the slots', async () => {
    const index = new MemoryIndex()
    const buckets = 20_000
    for (let i = 0; i < buckets; i++)
      index.put(index.bucket(`bucket-${i}`), Buffer.from('kv'), 0, 1, 1, 1)
    const before = process.memoryUsage().arrayBuffers
    const lists = await liveSlotsByBucket(index)
    const grown = process.memoryUsage().arrayBuffers - before
    expect(lists.map(({ slots }) => slots.length)).toEqual(Array(buckets).fill(1))
    // A list of 1,024 slots per bucket made this 80 MB (400 MB for 100,000 buckets): a few
    // bytes per bucket are expected, 8 MB is a wide margin.
    expect(grown).toBeLessThan(8 * 1024 * 1024)
  })

  test('writes complete while a snapshot is being written', async () => {
    const store = await openStore(dir, MANUAL)
    const value = Buffer.alloc(100, 7)
    const batch: Promise<void>[] = []
    for (let i = 0; i < 200_000; i++) {
      batch.push(store.addValue('big', `key-${String(i).padStart(10, '0')}`, value))
      if (batch.length === 1000) await Promise.all(batch.splice(0))
    }
    const snapshot = store.snapshot()
    await until(() => store.stats().snapshotInProgress, 'the snapshot started')
    for (let i = 0; i < 10; i++)
      await store.addValue('during', `k${i}`, 'written during the snapshot')
    expect(store.stats().snapshotInProgress).toBe(true)
    await snapshot
    await store.close()
    const reopened = await openStore(dir, MANUAL)
    expect(reopened.stats().entries).toBe(200_010)
    await reopened.close()
  }, 120_000)
})

test('close() during a size-triggered snapshot waits for it: nothing lost, no stray files', async () => {
  const options = { snapshot_wal_bytes: 4 * 1024 * 1024, snapshot_interval_seconds: 0 }
  const store = await openStore(dir, options)
  const value = Buffer.alloc(100, 7)
  let count = 0
  // Writes until one takes the WAL past snapshot_wal_bytes: that write starts the snapshot.
  while (!store.stats().snapshotInProgress) {
    await Promise.all(
      Array.from({ length: ENTRIES_PER_TURN }, () => store.addValue('b', `key-${count++}`, value)),
    )
  }
  // Still running: a snapshot of this many entries yields to the event loop many times.
  await store.close()
  // What close() resolved on: the snapshot finished and retired the segment it covers; its
  // temporary file and the lock are gone.
  expect((await readdir(dir)).sort()).toEqual([
    'snapshot-0000000000000001.snap',
    'wal-0000000000000002.log',
  ])
  const reopened = await openStore(dir, MANUAL)
  expect(reopened.stats()).toMatchObject({ entries: count, snapshot: 1 })
  await reopened.close()
}, 120_000)

describe('listings while writes and bucket deletes run', () => {
  const text = (key: Uint8Array) => Buffer.from(key).toString()

  test('keys() lists each key once, ascending, skipping keys deleted before it reaches them', async () => {
    const store = await openStore(dir, MANUAL)
    const names = Array.from({ length: 200 }, (_, i) => `k${String(i).padStart(3, '0')}`)
    for (const name of names) await store.addValue('b', name, 'v')
    await store.addValue('other', 'k', 'v')
    const deleted = new Set<string>()
    const listed: string[] = []
    for await (const key of store.keys('b')) {
      listed.push(text(key))
      const at = names.indexOf(text(key))
      // Between two steps: a key added, one not reached yet deleted, another bucket dropped
      // and made again.
      const ahead = at >= 0 && at % 3 === 0 ? names[at + 5] : undefined
      if (ahead !== undefined) deleted.add(ahead)
      await Promise.all([
        store.addValue('b', `${names[at + 1] ?? 'z'}+`, 'added during the listing'),
        ahead === undefined ? undefined : store.deleteKey('b', ahead),
        store.deleteBucket('other').then(() => store.addValue('other', 'k', 'v')),
      ])
    }
    expect(deleted.size).toBeGreaterThan(0)
    expect(listed).toEqual([...new Set(listed)].sort())
    const original = listed.filter((name) => !name.endsWith('+'))
    expect(original).toEqual(names.filter((name) => !deleted.has(name)))
    await store.close()
  })

  test('a keys() listing of a bucket deleted meanwhile ends', async () => {
    const store = await openStore(dir, MANUAL)
    for (let i = 0; i < 10; i++) await store.addValue('b', `k${i}`, 'v')
    const listed: string[] = []
    for await (const key of store.keys('b')) {
      listed.push(text(key))
      if (listed.length === 2) await store.deleteBucket('b')
    }
    expect(listed).toEqual(['k0', 'k1'])
    await store.close()
  })

  test('buckets() does not list a bucket deleted before the listing reaches it', async () => {
    const store = await openStore(dir, MANUAL)
    for (const bucket of ['a', 'b', 'c', 'd']) await store.addValue(bucket, 'k', 'v')
    const listed: string[] = []
    for await (const bucket of store.buckets()) {
      listed.push(bucket)
      if (bucket === 'a') {
        await store.deleteBucket('c')
        // Deleted and made again before the listing reaches it: it holds a key, so it is listed.
        await store.deleteBucket('d')
        await store.addValue('d', 'k2', 'v')
      }
    }
    expect(listed).toEqual(['a', 'b', 'd'])
    await store.close()
  })
})

describe('a snapshot that fails', () => {
  // A directory where the next segment's temporary file must go makes creating it fail.
  const blocker = () => join(dir, 'wal-0000000000000002.log.tmp')

  test('snapshot() rejects; writes go on and nothing is lost', async () => {
    const store = await openStore(dir, MANUAL)
    await store.addValue('b', 'k1', 'v1')
    await mkdir(blocker())
    // A typed error naming the store; its cause is the file system's, naming the file.
    const error = await store.snapshot().catch((e: unknown) => e)
    expect(error).toMatchObject({
      code: 'KV_BACKEND_UNAVAILABLE',
      message: expect.stringContaining('Nothing is lost'),
      cause: { code: 'EISDIR', path: blocker() },
    })
    await store.addValue('b', 'k2', 'v2')
    await store.close()
    await rmdir(blocker())
    const reopened = await openStore(dir, MANUAL)
    expect(Object.keys((await dump(reopened)).b!)).toHaveLength(2)
    await reopened.close()
  })

  test('a snapshot file that does not hold what was written rejects with KV_BACKEND_UNAVAILABLE and retires nothing', async () => {
    const store = await openStore(dir, MANUAL)
    // Enough entries that the copy yields to the event loop several times (every
    // ENTRIES_PER_TURN entries) after the temporary file is opened.
    const count = 5 * ENTRIES_PER_TURN
    for (let i = 0; i < count; i += ENTRIES_PER_TURN)
      await Promise.all(
        Array.from({ length: ENTRIES_PER_TURN }, (_, j) => store.addValue('b', `k${i + j}`, 'v')),
      )
    // Another writer extends the temporary file behind the snapshot's back: the file then holds
    // more than was written, not an errno. It runs once per event-loop turn (setImmediate, like
    // the snapshot's own yields), so it lands while the copy is in progress; before the file
    // exists and after it is gone it finds nothing.
    const temporary = join(dir, 'snapshot-0000000000000001.snap.tmp')
    let settled = false
    const extender = (async () => {
      let extended = 0
      while (!settled) {
        try {
          truncateSync(temporary, 16 * 1024 * 1024)
          extended++
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
        }
        await new Promise((resolve) => setImmediate(resolve))
      }
      return extended
    })()
    const error = await store
      .snapshot()
      .catch((e: unknown) => e)
      .finally(() => {
        settled = true
      })
    expect(await extender).toBeGreaterThan(0)
    expect(error).toMatchObject({
      code: 'KV_BACKEND_UNAVAILABLE',
      message: expect.stringContaining('Nothing is lost'),
      cause: { message: expect.stringContaining('it was not used') },
    })
    // The cause is not a file-system error: no errno code.
    expect((error as Error & { cause: { code?: unknown } }).cause.code).toBeUndefined()
    // Nothing retired, nothing left behind: the sealed segment and the new one, no snapshot.
    expect((await readdir(dir)).filter((name) => name !== 'LOCK').sort()).toEqual([
      'wal-0000000000000001.log',
      'wal-0000000000000002.log',
    ])
    await store.addValue('b', 'after', 'v')
    await store.close()
    const reopened = await openStore(dir, MANUAL)
    expect(reopened.stats()).toMatchObject({ entries: count + 1, snapshot: 0 })
    await reopened.close()
  })

  test('in the background it is one warning, not a storm, and writes go on', async () => {
    const store = await openStore(dir, { snapshot_wal_bytes: 100, snapshot_interval_seconds: 0 })
    await mkdir(blocker())
    const failed = (w: Warning) => w.code === 'KV_SNAPSHOT_FAILED'
    const seen = await collectWarnings(async (arriving) => {
      for (let i = 0; i < 50; i++)
        await store.addValue('b', `k${i}`, 'a value long enough to pass the limit')
      await until(
        () => arriving.some(failed) && !store.stats().snapshotInProgress,
        'the snapshot failed',
      )
      for (let i = 50; i < 100; i++) await store.addValue('b', `k${i}`, 'more')
      await new Promise((resolve) => setTimeout(resolve, 100))
    })
    const warnings = seen.filter(failed).map((w) => w.message)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain(dir)
    expect(store.stats().entries).toBe(100)
    await store.close()
  })
})

describe('rejected input writes nothing', () => {
  test('an oversized value, a bad bucket or a bad key leaves the WAL as it was', async () => {
    const store = await openStore(dir, MANUAL)
    await store.addValue('b', 'k', 'v')
    const before = store.stats().walBytes
    const limit = store.limits.maxValueBytes
    expect(limit).toBe(64 * 1024 * 1024)
    const attempts = [
      store.addValue('b', 'k2', new Uint8Array(limit + 1)),
      store.addValue('', 'k', 'v'),
      store.addValue('b', new Uint8Array(64 * 1024 + 1), 'v'),
      store.addValue('b', 42 as unknown as string, 'v'),
      store.deleteKey('x'.repeat(256), 'k'),
    ]
    for (const attempt of attempts) {
      const error = await attempt.catch((e: unknown) => e)
      expect(isKVError(error, 'KV_INVALID_ARGUMENT'), String(error)).toBe(true)
    }
    expect(store.stats().walBytes).toBe(before)
    await store.addValue('b', 'k2', new Uint8Array(limit))
    expect((await store.getValue('b', 'k2'))!.length).toBe(limit)
    await store.close()
  }, 60_000)

  test('addValues takes a value of exactly the limit; one byte more rejects the whole call', async () => {
    const store = await openStore(dir, MANUAL)
    // The README's limit, not the store's own figure.
    const limit = 64 * 1024 * 1024
    await store.addValue('b', 'k', 'v')
    const before = store.stats().walBytes
    // The oversized value comes last: the entries before it must not be written either.
    const error = await store
      .addValues('b', [
        ['first', 'fits'],
        ['k', 'would overwrite'],
        ['big', new Uint8Array(limit + 1)],
      ])
      .catch((e: unknown) => e)
    expect(isKVError(error, 'KV_INVALID_ARGUMENT'), String(error)).toBe(true)
    expect(store.stats().walBytes).toBe(before)
    expect(await store.existsKey('b', 'first')).toBe(false)
    expect(Buffer.from((await store.getValue('b', 'k'))!).toString()).toBe('v')

    await store.addValues('b', [
      ['first', 'fits'],
      ['big', new Uint8Array(limit).fill(1)],
    ])
    await store.close()
    // Through the WAL and back.
    const reopened = await openStore(dir, MANUAL)
    const big = (await reopened.getValue('b', 'big'))!
    expect(big.length).toBe(limit)
    expect(big.every((byte) => byte === 1)).toBe(true)
    expect(Buffer.from((await reopened.getValue('b', 'first'))!).toString()).toBe('fits')
    await reopened.close()
  }, 60_000)
})
