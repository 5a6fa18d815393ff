// How many compactions a value_log_gc pass makes, and that passes never overlap. Each LevelDB
// CompactRange flushes the memtable and syncs the manifest however small its range, so these tests
// count the calls (a spy on classic-level's compactRange, which every database of the store goes
// through) rather than time them.
import { randomBytes } from 'node:crypto'
import { ClassicLevel } from 'classic-level'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { badgerSchema } from '../src/config.js'
import { BadgerKV, type BadgerOptions } from '../src/index.js'
import { PerBucket } from '../src/per-bucket.js'
import { gcSpans, MAX_GC_SPANS } from '../src/single-keyspace.js'
import { diskUsage } from './helpers/disk.js'
import { removeDir, tempDir } from './helpers/temp.js'

const compactRange = ClassicLevel.prototype.compactRange

afterEach(() => {
  vi.restoreAllMocks()
  vi.useRealTimers()
})

/** Runs `body` with a single-bucket store (periodic passes off) on a new directory, then removes it. */
async function withStore(body: (store: BadgerKV, path: string) => Promise<void>): Promise<void> {
  const path = await tempDir('gc-pass')
  const store = new BadgerKV({ path, value_log_gc_enabled: false })
  await store.open()
  try {
    await body(store, path)
  } finally {
    await store.close()
    await removeDir(path)
  }
}

/** Makes `bucket` due: two writes, half of them deletes (the default ratio is 0.5), one key kept. */
async function makeDue(store: BadgerKV, bucket: string): Promise<void> {
  await store.addValue(bucket, 'kept', 'v')
  await store.deleteKey(bucket, 'absent')
}

describe('gcSpans', () => {
  it('merges the ranges in key order into at most `max` spans, cut at the widest gaps', () => {
    const spans = gcSpans(['z2', 'session-2', 'a', 'session-1', 'z1', 'session-10'], 3)
    expect(spans.map((s) => s.buckets)).toEqual([
      ['a'],
      ['session-1', 'session-10', 'session-2'],
      ['z1', 'z2'],
    ])
    const [, sessions] = spans
    expect(Buffer.from(sessions!.gte).toString('latin1')).toBe('session-1\x00\x01')
    expect(Buffer.from(sessions!.lt).toString('latin1')).toBe('session-2\x00\x02')
  })

  it('keeps each range as its own span when there are at most `max`', () => {
    expect(gcSpans(['b', 'a'], 3).map((s) => s.buckets)).toEqual([['a'], ['b']])
    expect(gcSpans([], 3)).toEqual([])
  })
})

describe('a value_log_gc pass (single_bucket_mode: true)', () => {
  it(`compacts 2,000 due buckets with ${MAX_GC_SPANS} compactions, not one per bucket`, async () => {
    await withStore(async (store) => {
      const names = Array.from({ length: 2000 }, (_, i) => `session-${i}`)
      await Promise.all(names.map((name) => makeDue(store, name)))
      const spy = vi.spyOn(ClassicLevel.prototype, 'compactRange')
      expect((await store.runGc()).sort()).toEqual([...names].sort())
      expect(spy).toHaveBeenCalledTimes(MAX_GC_SPANS)
      expect(await store.getValue('session-1999', 'kept')).not.toBeNull()
    })
  }, 60_000)

  it('frees the space of due buckets whose spans take in buckets between them, which keep their keys', async () => {
    await withStore(async (store, path) => {
      // 40 due buckets of 128 KiB each, every one followed in key order by a kept bucket.
      for (let i = 0; i < 40; i++) {
        const due = `b${String(i).padStart(2, '0')}`
        await Promise.all(
          Array.from({ length: 32 }, (_, k) => store.addValue(due, `k${k}`, randomBytes(4096))),
        )
        await store.addValue(`${due}-kept`, 'k', 'v')
      }
      await store.close() // opening turns the log into a table
      await store.open()
      for (let i = 0; i < 40; i++) {
        const due = `b${String(i).padStart(2, '0')}`
        for (let k = 0; k < 32; k++) await store.deleteKey(due, `k${k}`)
      }
      const before = await diskUsage(path)
      expect(before).toBeGreaterThan(4 * 1024 * 1024)
      const spy = vi.spyOn(ClassicLevel.prototype, 'compactRange')
      expect(await store.runGc()).toHaveLength(40)
      expect(spy).toHaveBeenCalledTimes(MAX_GC_SPANS)
      expect(await diskUsage(path)).toBeLessThan(before / 4)
      for (let i = 0; i < 40; i++) {
        expect(await store.existsKey(`b${String(i).padStart(2, '0')}-kept`, 'k')).toBe(true)
      }
    })
  }, 60_000)

  it('after more than 100,000 buckets took deletes, compacts the whole keyspace with one compaction', async () => {
    await withStore(async (store) => {
      await store.addValue('kept', 'k', 'v')
      for (let i = 0; i <= 100_000; i += 1000) {
        await Promise.all(
          Array.from({ length: 1000 }, (_, j) => store.deleteKey(`gone-${i + j}`, 'k')),
        )
      }
      // Counted, not run: one real compaction per bucket (what the pass used to make) would take
      // minutes.
      const spy = vi.spyOn(ClassicLevel.prototype, 'compactRange').mockResolvedValue(undefined)
      // runGc() lists what a whole-keyspace pass compacted: every bucket in the store.
      expect(await store.runGc()).toEqual(['kept'])
      expect(spy).toHaveBeenCalledTimes(1)
      expect(spy).toHaveBeenCalledWith(new Uint8Array(0), new Uint8Array([0xff]))
      spy.mockClear()
      expect(await store.runGc()).toEqual([])
      expect(spy).not.toHaveBeenCalled()
    })
  }, 60_000)
})

describe('a value_log_gc pass over the whole store (single_bucket_mode: false)', () => {
  it('compacts every bucket, one compaction each', async () => {
    const path = await tempDir('gc-pass')
    const layout = await PerBucket.open(
      path,
      badgerSchema.parse({ path, single_bucket_mode: false }),
    )
    try {
      for (const bucket of ['a', 'b', 'c']) {
        await layout.put(bucket, new Uint8Array([1]), new Uint8Array([1]))
      }
      const spy = vi.spyOn(ClassicLevel.prototype, 'compactRange')
      const outcome = await layout.gc('all')
      expect(outcome).toEqual({ compacted: ['a', 'b', 'c'], again: [], errors: [] })
      expect(spy).toHaveBeenCalledTimes(3)
    } finally {
      await layout.close()
      await removeDir(path)
    }
  })
})

describe.each([
  ['single_bucket_mode: true', { single_bucket_mode: true }],
  ['single_bucket_mode: false', { single_bucket_mode: false }],
] as [string, BadgerOptions][])('value_log_gc passes do not overlap (%s)', (_name, options) => {
  /**
   * A store with a pass every second (the interval timer faked) whose first compaction waits for
   * `release`; `calls` counts compactions started.
   */
  async function gatedStore() {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    const path = await tempDir('gc-pass')
    const store = new BadgerKV({ ...options, path, value_log_gc_interval_in_seconds: 1 })
    await store.open()
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const spy = vi.spyOn(ClassicLevel.prototype, 'compactRange').mockImplementation(async function (
      this: ClassicLevel,
      ...args
    ) {
      if (spy.mock.calls.length === 1) await gate
      return compactRange.apply(this, args)
    })
    return { path, store, spy, release }
  }

  /** Lets whatever the timer started run as far as it can: several turns of the event loop. */
  async function settle(): Promise<void> {
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve))
  }

  it('a tick while a pass runs starts no other pass; the first tick after it does', async () => {
    const { path, store, spy, release } = await gatedStore()
    try {
      await makeDue(store, 'first')
      await vi.advanceTimersByTimeAsync(1000)
      await vi.waitFor(() => expect(spy).toHaveBeenCalledTimes(1))
      await makeDue(store, 'second')
      await vi.advanceTimersByTimeAsync(3000) // three ticks while the first pass waits
      await settle()
      expect(spy).toHaveBeenCalledTimes(1)
      release()
      await vi.waitFor(async () => {
        await vi.advanceTimersByTimeAsync(1000)
        expect(spy).toHaveBeenCalledTimes(2)
      })
    } finally {
      release()
      await store.close()
      await removeDir(path)
    }
  })

  it('runGc() waits for the pass in progress, then runs its own', async () => {
    const { path, store, spy, release } = await gatedStore()
    try {
      await makeDue(store, 'first')
      await vi.advanceTimersByTimeAsync(1000)
      await vi.waitFor(() => expect(spy).toHaveBeenCalledTimes(1))
      await makeDue(store, 'second')
      const manual = store.runGc()
      await settle()
      expect(spy).toHaveBeenCalledTimes(1)
      release()
      expect(await manual).toEqual(['second'])
      expect(spy).toHaveBeenCalledTimes(2)
    } finally {
      release()
      await store.close()
      await removeDir(path)
    }
  })
})
