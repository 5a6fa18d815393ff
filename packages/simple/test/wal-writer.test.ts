/**
 * The WAL writer: group commit (the appends issued together share one write(2), those issued
 * during a flush share the next), a failed write refusing every later append (and leaving no seal
 * for close() to append), and its share of
 * the event loop — a loop of awaited writes flushes in microtasks, and must still leave the
 * event loop a turn (timers, I/O, a snapshot) once a turn's flushes have taken
 * {@link TURN_BUDGET_MS}. A clock of the test's own stands for the time flushes take. Also: a
 * batch too large for one write(2) written in pieces, and a segment rotated away from synced
 * before it is closed. (Short writes and failed writes at a full disk: disk-full.test.ts.)
 */
import fs, { openSync, readFileSync, writeFileSync } from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { join } from 'node:path'
import { isKVError } from '@kv/core'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { segmentName } from '../src/files.js'
import { FILE_HEADER_BYTES, Op } from '../src/format.js'
import { MemoryIndex } from '../src/memory-index.js'
import { newSegment } from '../src/recovery.js'
import { replaySegment } from '../src/wal-replay.js'
import { PREALLOCATE_BYTES, TURN_BUDGET_MS, WalWriter } from '../src/wal-writer.js'
import { removeDir, tempDir } from './helpers.js'

let dir: string
beforeEach(async () => {
  dir = await tempDir('simple-kv-wal-writer')
})
afterEach(async () => {
  await removeDir(dir)
})

/** Runs `writes` awaited appends, each flush advancing the clock by `msPerFlush`. */
async function turnsDuring(writes: number, msPerFlush: number) {
  const path = join(dir, `wal-${msPerFlush}.log`)
  const fd = openSync(path, 'w+')
  const clock = { now: 0 }
  const writer = new WalWriter(
    { fd, sequence: 1, path, position: 0, allocated: 0, batches: 0 },
    { writes: false, onEventLoop: true },
    () => {},
    () => {
      clock.now += msPerFlush
    },
    () => clock.now,
  )
  let turns = 0
  let counting = true
  const tick = () => {
    if (!counting) return
    turns++
    setImmediate(tick)
  }
  setImmediate(tick)
  const key = new TextEncoder().encode('key')
  for (let i = 0; i < writes; i++) await writer.append(Op.PUT, 'b', key, key)
  counting = false
  await writer.close()
  return { turns, bytes: readFileSync(path).length }
}

test('awaited writes leave the event loop a turn once the flushes of a turn took TURN_BUDGET_MS', async () => {
  const writes = 100
  const msPerFlush = 0.5
  const { turns, bytes } = await turnsDuring(writes, msPerFlush)
  // Every write was its own flush (each awaited before the next), and all reached the file.
  expect(bytes).toBeGreaterThan(writes * 10)
  // A turn ends with the first flush scheduled after TURN_BUDGET_MS, so it holds at most the
  // budget plus one flush: 100 × 0.5 ms = 50 ms of flushing is at least 8 turns. (A budget of 64
  // flushes, as before, gives one.)
  const longestTurn = TURN_BUDGET_MS + msPerFlush
  expect(turns).toBeGreaterThanOrEqual(Math.floor((writes * msPerFlush) / longestTurn) - 1)
})

test('flushes that take no time share one turn: the budget is time, not a count', async () => {
  const { turns } = await turnsDuring(200, 0)
  expect(turns).toBeLessThanOrEqual(1)
})

/**
 * Runs `body` and returns how many write(2) calls `fs.writeSync` made on `fd` meanwhile. Every
 * call still goes to the real `writeSync`: this only counts them (the writer's own code is not
 * replaced). `syncBuiltinESMExports` makes the writer's `import { writeSync }` see the wrapper.
 */
async function countWrites(fd: number, body: () => Promise<void>): Promise<number> {
  const real = fs.writeSync
  let count = 0
  fs.writeSync = ((target: number, ...rest: unknown[]) => {
    if (target === fd) count++
    return (real as (...args: unknown[]) => number)(target, ...rest)
  }) as typeof fs.writeSync
  syncBuiltinESMExports()
  try {
    await body()
  } finally {
    fs.writeSync = real
    syncBuiltinESMExports()
  }
  return count
}

const KEY = new TextEncoder().encode('key')
const VALUE = new TextEncoder().encode('value')
/** A framed put of KEY and VALUE to bucket 'b' (README): frame header, op, B, bucket, K, key, value. */
const RECORD_BYTES = 12 + 2 + 1 + 4 + KEY.length + VALUE.length
/** The frame that starts every batch (README): frame header, op, batch number u64, length u64. */
const BATCH_FRAME_BYTES = 12 + 1 + 8 + 8

test('64 appends issued together go out in one write(2); those issued during that flush in exactly one more', async () => {
  const path = join(dir, 'wal.log')
  const fd = openSync(path, 'w+')
  const batches: number[] = []
  let duringFlush: Promise<void>[] = []
  const round = () => Array.from({ length: 64 }, () => writer.append(Op.PUT, 'b', KEY, VALUE))
  const writer = new WalWriter(
    { fd, sequence: 1, path, position: 0, allocated: 0, batches: 0 },
    { writes: false, onEventLoop: true },
    (_buffer, start, end) => batches.push(end - start),
    () => {
      // Called by the flush of the first batch before it returns: a second round of writers
      // arrives while that flush is still in progress.
      if (batches.length === 1) duringFlush = round()
    },
  )
  const writes = await countWrites(fd, async () => {
    await Promise.all(round())
    expect(duringFlush).toHaveLength(64)
    await Promise.all(duringFlush)
  })
  await writer.close()
  expect(batches).toEqual([64 * RECORD_BYTES, 64 * RECORD_BYTES])
  expect(writes).toBe(2)
  // The two batches, and the empty batch close() seals the WAL with.
  expect(readFileSync(path).length).toBe(3 * BATCH_FRAME_BYTES + 128 * RECORD_BYTES)
})

test('a failed WAL write rejects with KV_BACKEND_UNAVAILABLE, and every later append too without writing', async () => {
  const path = join(dir, 'wal.log')
  writeFileSync(path, '')
  // Read-only: write(2) fails with EBADF, as it would on an I/O error.
  const fd = openSync(path, 'r')
  let applied = 0
  const writer = new WalWriter(
    { fd, sequence: 1, path, position: 0, allocated: 0, batches: 0 },
    { writes: false, onEventLoop: true },
    () => applied++,
    () => {},
  )
  let first: unknown
  let later: unknown[] = []
  const writes = await countWrites(fd, async () => {
    first = await writer.append(Op.PUT, 'b', KEY, VALUE).catch((error: unknown) => error)
    later = await Promise.all([
      writer.append(Op.PUT, 'b', KEY, VALUE).catch((error: unknown) => error),
      writer.append(Op.DELETE_BUCKET, 'b').catch((error: unknown) => error),
      writer.appendPuts('b', [[KEY, VALUE]]).catch((error: unknown) => error),
    ])
  })
  expect(isKVError(first, 'KV_BACKEND_UNAVAILABLE'), String(first)).toBe(true)
  expect((first as Error).message).toContain(path)
  expect(((first as Error).cause as NodeJS.ErrnoException).code).toBe('EBADF')
  for (const error of later)
    expect(isKVError(error, 'KV_BACKEND_UNAVAILABLE'), String(error)).toBe(true)
  // Only the first append tried to write; nothing was applied to memory.
  expect(writes).toBe(1)
  expect(applied).toBe(0)
  await writer.close()
  expect(readFileSync(path).length).toBe(0)
})

test('after a failed write, close() appends no seal: the file ends where the failed batch began', async () => {
  const path = join(dir, 'wal.log')
  const fd = openSync(path, 'w+')
  const writer = new WalWriter(
    { fd, sequence: 1, path, position: 0, allocated: 0, batches: 0 },
    { writes: false, onEventLoop: true },
    () => {},
    () => {},
  )
  await writer.append(Op.PUT, 'b', KEY, VALUE)
  // The second batch's write(2) fails as at a full disk; every later one would succeed.
  const real = fs.writeSync
  let failed = false
  fs.writeSync = ((target: number, ...rest: unknown[]) => {
    if (target === fd && !failed) {
      failed = true
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
    }
    return (real as (...args: unknown[]) => number)(target, ...rest)
  }) as typeof fs.writeSync
  syncBuiltinESMExports()
  try {
    const error = await writer.append(Op.PUT, 'b', KEY, VALUE).catch((e: unknown) => e)
    expect(isKVError(error, 'KV_BACKEND_UNAVAILABLE'), String(error)).toBe(true)
    await writer.close()
  } finally {
    fs.writeSync = real
    syncBuiltinESMExports()
  }
  expect(failed).toBe(true)
  // The first batch only: the writer cut the failed one away and wrote nothing after it.
  expect(readFileSync(path).length).toBe(BATCH_FRAME_BYTES + RECORD_BYTES)
})

/**
 * Runs `body` and returns the length of every write(2) — `fs.writeSync` and `fs.write` — made on
 * `fd` meanwhile. As in {@link countWrites}, every call still goes to the real function.
 */
async function writeLengths(fd: number, body: () => Promise<void>): Promise<number[]> {
  const realSync = fs.writeSync
  const realAsync = fs.write
  const lengths: number[] = []
  const record = (target: unknown, rest: unknown[]) => {
    if (target === fd) lengths.push(rest[2] as number)
  }
  fs.writeSync = ((target: number, ...rest: unknown[]) => {
    record(target, rest)
    return (realSync as (...args: unknown[]) => number)(target, ...rest)
  }) as typeof fs.writeSync
  fs.write = ((target: number, ...rest: unknown[]) => {
    record(target, rest)
    return (realAsync as (...args: unknown[]) => void)(target, ...rest)
  }) as typeof fs.write
  syncBuiltinESMExports()
  try {
    await body()
  } finally {
    fs.writeSync = realSync
    fs.write = realAsync
    syncBuiltinESMExports()
  }
  return lengths
}

test('a batch larger than one write(2) may take is written in pieces, and whole', async () => {
  // Node refuses a write(2) of more than 2^31 - 1 bytes, and 33 concurrent 64 MiB puts make a
  // batch past that. A real one needs over 4 GB of memory and 2 GB of disk, too much for CI, so
  // the writer is given a small limit instead (its `maxWrite` parameter, which the store leaves
  // at MAX_WRITE_BYTES); the preallocation of `sync_writes` is held to it too.
  const maxWrite = 64 * 1024
  const path = join(dir, segmentName(1))
  writeFileSync(path, newSegment(1, false))
  const fd = openSync(path, 'r+')
  const value = Buffer.alloc(100_000, 5)
  const keys = ['k0', 'k1', 'k2'].map((key) => new TextEncoder().encode(key))
  const batches: number[] = []
  const writer = new WalWriter(
    {
      fd,
      sequence: 1,
      path,
      position: FILE_HEADER_BYTES,
      allocated: FILE_HEADER_BYTES,
      batches: 0,
    },
    { writes: true, onEventLoop: true },
    (_buffer, start, end) => batches.push(end - start),
    () => {},
    undefined,
    maxWrite,
  )
  const lengths = await writeLengths(fd, async () => {
    await Promise.all(keys.map((key) => writer.append(Op.PUT, 'b', key, value)))
  })
  await writer.close()
  // One batch of three records, more than four times maxWrite.
  const recordBytes = 12 + 2 + 1 + 4 + 2 + value.length
  expect(batches).toEqual([3 * recordBytes])
  expect(Math.max(...lengths)).toBeLessThanOrEqual(maxWrite)
  // The records and the preallocated zeros were written, nothing twice: 4 MiB of zeros, then the
  // batch over the first of them.
  expect(lengths.reduce((sum, length) => sum + length, 0)).toBe(
    PREALLOCATE_BYTES + BATCH_FRAME_BYTES + 3 * recordBytes,
  )
  // Read back by recovery's reader: every record is whole.
  const index = new MemoryIndex()
  const replayed = await replaySegment(path, 1, index, false)
  expect(replayed.records).toBe(3)
  for (const key of keys) expect(index.read('b', key)).toEqual(new Uint8Array(value))
})

test('a segment rotated away from is fdatasynced before it is closed, and close() waits for that', async () => {
  const paths = [1, 2].map((sequence) => join(dir, segmentName(sequence)))
  const [first, second] = paths.map((path, i) => {
    writeFileSync(path, newSegment(i + 1, false))
    return openSync(path, 'r+')
  }) as [number, number]
  const writer = new WalWriter(
    {
      fd: first,
      sequence: 1,
      path: paths[0]!,
      position: FILE_HEADER_BYTES,
      allocated: FILE_HEADER_BYTES,
      batches: 0,
    },
    { writes: false, onEventLoop: true },
    () => {},
    () => {},
  )
  // Without sync_writes nothing syncs the first segment until it is rotated away from.
  const events: string[] = []
  const name = (fd: number) => (fd === first ? 'first' : fd === second ? 'second' : undefined)
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => (release = resolve))
  let secondClosed: () => void = () => {}
  const secondClosing = new Promise<void>((resolve) => (secondClosed = resolve))
  const realSync = fs.fdatasync
  const realClose = fs.close
  // The real calls are made; the first segment's sync reports back only once the test opens the
  // gate, so close() can be seen waiting for it.
  fs.fdatasync = ((fd: number, callback: fs.NoParamCallback) =>
    realSync(fd, (error) => {
      const file = name(fd)
      if (file === undefined) return callback(error)
      if (file !== 'first') {
        events.push(`synced ${file}`)
        return callback(error)
      }
      void gate.then(() => {
        events.push(`synced ${file}`)
        callback(error)
      })
    })) as typeof fs.fdatasync
  fs.close = ((fd: number, callback: fs.NoParamCallback) =>
    realClose(fd, (error) => {
      const file = name(fd)
      if (file !== undefined) events.push(`closed ${file}`)
      if (file === 'second') secondClosed()
      callback?.(error)
    })) as typeof fs.close
  syncBuiltinESMExports()
  try {
    await writer.append(Op.PUT, 'b', KEY, VALUE)
    await writer.rotate({
      fd: second,
      sequence: 2,
      path: paths[1]!,
      position: FILE_HEADER_BYTES,
      allocated: FILE_HEADER_BYTES,
      batches: 0,
    })
    await writer.append(Op.PUT, 'b', KEY, VALUE)
    let closed = false
    const closing = writer.close().then(() => {
      closed = true
    })
    // The segment close() has is synced and closed; the rotated one's sync is held at the gate.
    await secondClosing
    await new Promise((resolve) => setImmediate(resolve))
    expect(events).toEqual(['synced second', 'closed second'])
    expect(closed).toBe(false)
    release()
    await closing
  } finally {
    fs.fdatasync = realSync
    fs.close = realClose
    syncBuiltinESMExports()
  }
  expect(events).toEqual(['synced second', 'closed second', 'synced first', 'closed first'])
})
