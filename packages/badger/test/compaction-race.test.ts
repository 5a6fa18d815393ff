// A value_log_gc pass that finds a per-bucket bucket empty removes its directory (PerBucket.compact
// → #delete). When that removal fails, #delete puts the bucket back as it was (open) and runs the
// calls that waited for it, any of which may start the bucket's next transition. The pass must not
// then settle the bucket itself a second time: the waiting calls would run twice, or against a
// bucket in the middle of that next transition.
import { readdir } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { BadgerKV } from '../src/index.js'
import { removeDir, tempDir } from './helpers/temp.js'

// The gate sits at the file-system boundary: the removal's unlink of the bucket's name file (the
// step that deletes it) waits for the test (the bucket is busy by then, the deletion under way),
// then runs for real, or fails as a failing disk would (`gate.fail`).
const gate = vi.hoisted(() => ({
  beforeUnlink: undefined as (() => Promise<void>) | undefined,
  fail: false,
}))
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>()
  const unlink = (async (path: string) => {
    if (basename(String(path)) === 'name') {
      if (gate.beforeUnlink !== undefined) await gate.beforeUnlink()
      if (gate.fail) {
        throw Object.assign(new Error(`EIO: i/o error, unlink '${path}'`), {
          code: 'EIO',
          errno: -5,
          syscall: 'unlink',
          path,
        })
      }
    }
    return fs.unlink(path)
  }) as typeof fs.unlink
  return { ...fs, default: { ...fs, unlink }, unlink }
})

/** What the pass rejects with when the removal fails: typed, the file system's error as cause. */
const failedRemoval = {
  code: 'KV_BACKEND_UNAVAILABLE',
  cause: expect.objectContaining({ code: 'EIO' }),
  message: expect.stringMatching(/left as it was/),
}

const text = (bytes: Uint8Array | null) => (bytes === null ? null : new TextDecoder().decode(bytes))

const collect = async <T>(iterable: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = []
  for await (const item of iterable) out.push(item)
  return out
}

describe('a value_log_gc pass removing an empty bucket (single_bucket_mode: false)', () => {
  let path: string
  let store: BadgerKV
  /** Lets the removal's unlink of the name file go on. */
  let release: () => void
  /** Resolves when the removal reaches that unlink. */
  let reached: Promise<void>
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => unhandled.push(reason)

  /** Opens the store with one bucket, `b`, which is empty and due for the next pass. */
  async function start(gcIntervalSeconds?: number): Promise<void> {
    store = new BadgerKV({
      path,
      single_bucket_mode: false,
      ...(gcIntervalSeconds === undefined
        ? { value_log_gc_enabled: false }
        : { value_log_gc_interval_in_seconds: gcIntervalSeconds }),
    })
    await store.open()
    // One put, one delete: half the bucket's writes were deletes (the default ratio is 0.5).
    await store.addValue('b', 'gone', 'x')
    await store.deleteKey('b', 'gone')
  }

  /** Makes the removal fail. */
  const blockRemoval = () => {
    gate.fail = true
  }

  beforeEach(async () => {
    path = await tempDir('compaction-race')
    const released = Promise.withResolvers<void>()
    const arrived = Promise.withResolvers<void>()
    release = released.resolve
    reached = arrived.promise
    gate.beforeUnlink = () => {
      gate.beforeUnlink = undefined
      arrived.resolve()
      return released.promise
    }
    process.on('unhandledRejection', onUnhandled)
  })

  afterEach(async () => {
    gate.beforeUnlink = undefined
    gate.fail = false
    process.off('unhandledRejection', onUnhandled)
    unhandled.length = 0
    await store.close()
    await removeDir(path)
  })

  it('a call issued while the removal runs, which then fails, writes to the bucket opened again', async () => {
    await start()
    blockRemoval()
    const pass = store.runGc()
    const passOutcome = pass.then(
      () => undefined,
      (error: unknown) => error,
    )
    await reached
    const put = store.addValue('b', 'after', 'y') // the bucket is busy: this call waits
    release()

    await expect(put).resolves.toBeUndefined()
    // The pass reports the file system's error; the bucket and the write survive it.
    expect(await passOutcome).toMatchObject(failedRemoval)
    gate.fail = false
    expect(text(await store.getValue('b', 'after'))).toBe('y')
    expect(await collect(store.buckets())).toEqual(['b'])
    // And the bucket stays usable: a write on the open bucket's fast path, then a reopen.
    await store.addValue('b', 'later', 'z')
    await store.close()
    await store.open()
    expect((await collect(store.keys('b'))).map(text)).toEqual(['after', 'later'])
    expect(unhandled).toEqual([])
  })

  it('a call issued while the removal runs, which then succeeds, creates the bucket anew', async () => {
    await start()
    const pass = store.runGc()
    await reached
    const put = store.addValue('b', 'after', 'y')
    release()

    await expect(put).resolves.toBeUndefined()
    expect(await pass).toEqual(['b'])
    expect(text(await store.getValue('b', 'after'))).toBe('y')
    await store.close()
    await store.open()
    expect((await collect(store.keys('b'))).map(text)).toEqual(['after'])
    expect(unhandled).toEqual([])
  })

  it('a bucket whose removal failed is due again: the next pass removes it', async () => {
    await start()
    blockRemoval()
    release() // no call to slip in here
    await expect(store.runGc()).rejects.toMatchObject(failedRemoval)
    expect(await readdir(join(path, 'buckets'))).toHaveLength(1)
    gate.fail = false
    // No write since: only the failure makes `b` due.
    expect(await store.runGc()).toEqual(['b'])
    expect(await readdir(join(path, 'buckets'))).toEqual([])
  })

  it('a periodic pass that fails while close() waits for it: close() resolves, the error reaches no one', async () => {
    await start(1) // the timer's own pass, a second from now
    blockRemoval()
    await reached // the timer's pass is removing `b`
    const closing = store.close() // waits for the pass in flight, held at the gate
    release()
    await expect(closing).resolves.toBeUndefined()
    gate.fail = false
    // The failed removal left the bucket in place, empty; the store reopens without complaint.
    await store.open()
    expect(await collect(store.buckets())).toEqual([])
    await store.addValue('b', 'k', 'v')
    expect(text(await store.getValue('b', 'k'))).toBe('v')
    // A macrotask turn: Node reports an unhandled rejection after the microtasks of its turn.
    await new Promise((resolve) => setImmediate(resolve))
    expect(unhandled).toEqual([])
  })
})
