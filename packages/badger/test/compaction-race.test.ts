// A value_log_gc pass that finds a per-bucket bucket empty removes its directory (PerBucket.compact
// → #delete). When that removal fails, #delete puts the bucket back to `closed` and runs the calls
// that waited for it; the first of them starts opening the bucket again. The pass must not then
// mark the bucket open itself: the waiting call would run against a database not yet opened.
import { readdir, rm, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { BadgerKV } from '../src/index.js'
import { removeDir, tempDir } from './helpers/temp.js'

// The gate sits at the file-system boundary: the removal's mkdir of `trash/` waits for the test
// (the bucket's database is closed by then, the deletion under way), then runs for real.
const gate = vi.hoisted(() => ({ beforeTrash: undefined as (() => Promise<void>) | undefined }))
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>()
  const mkdir = (async (path: string, options?: object) => {
    if (gate.beforeTrash !== undefined && basename(String(path)) === 'trash') {
      await gate.beforeTrash()
    }
    return fs.mkdir(path, options)
  }) as typeof fs.mkdir
  return { ...fs, default: { ...fs, mkdir }, mkdir }
})

const text = (bytes: Uint8Array | null) => (bytes === null ? null : new TextDecoder().decode(bytes))

const collect = async <T>(iterable: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = []
  for await (const item of iterable) out.push(item)
  return out
}

describe('a value_log_gc pass removing an empty bucket (single_bucket_mode: false)', () => {
  let path: string
  let store: BadgerKV
  /** Lets the removal's mkdir of trash/ go on. */
  let release: () => void
  /** Resolves when the removal reaches that mkdir. */
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

  /** Makes the removal fail: a file where trash/ goes (open() empties trash/, so after it). */
  const blockTrash = () => writeFile(join(path, 'trash'), 'in the way')

  beforeEach(async () => {
    path = await tempDir('compaction-race')
    const released = Promise.withResolvers<void>()
    const arrived = Promise.withResolvers<void>()
    release = released.resolve
    reached = arrived.promise
    gate.beforeTrash = () => {
      gate.beforeTrash = undefined
      arrived.resolve()
      return released.promise
    }
    process.on('unhandledRejection', onUnhandled)
  })

  afterEach(async () => {
    gate.beforeTrash = undefined
    process.off('unhandledRejection', onUnhandled)
    unhandled.length = 0
    await store.close()
    await removeDir(path)
  })

  it('a call issued while the removal runs, which then fails, writes to the bucket opened again', async () => {
    await start()
    await blockTrash()
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
    expect((await passOutcome) as NodeJS.ErrnoException).toMatchObject({ code: 'EEXIST' })
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
    await blockTrash()
    release() // no call to slip in here
    await expect(store.runGc()).rejects.toMatchObject({ code: 'EEXIST' })
    expect(await readdir(join(path, 'buckets'))).toHaveLength(1)
    await rm(join(path, 'trash'))
    // No write since: only the failure makes `b` due.
    expect(await store.runGc()).toEqual(['b'])
    expect(await readdir(join(path, 'buckets'))).toEqual([])
  })

  it('a periodic pass that fails while close() waits for it: close() resolves, the error reaches no one', async () => {
    await start(1) // the timer's own pass, a second from now
    await blockTrash()
    await reached // the timer's pass is removing `b`
    const closing = store.close() // waits for the pass in flight, held at the gate
    release()
    await expect(closing).resolves.toBeUndefined()
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
