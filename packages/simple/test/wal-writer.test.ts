/**
 * The WAL writer: group commit (the appends issued together share one write(2), those issued
 * during a flush share the next), a failed write refusing every later append, and its share of
 * the event loop — a loop of awaited writes flushes in microtasks, and must still leave the
 * event loop a turn (timers, I/O, a snapshot) once a turn's flushes have taken
 * {@link TURN_BUDGET_MS}. A clock of the test's own stands for the time flushes take.
 */
import fs, { openSync, readFileSync, writeFileSync } from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { join } from 'node:path'
import { isKVError } from '@kv/core'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { Op } from '../src/format.js'
import { TURN_BUDGET_MS, WalWriter } from '../src/wal-writer.js'
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
    { fd, sequence: 1, path, position: 0, allocated: 0 },
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

test('64 appends issued together go out in one write(2); those issued during that flush in exactly one more', async () => {
  const path = join(dir, 'wal.log')
  const fd = openSync(path, 'w+')
  const batches: number[] = []
  let duringFlush: Promise<void>[] = []
  const round = () => Array.from({ length: 64 }, () => writer.append(Op.PUT, 'b', KEY, VALUE))
  const writer = new WalWriter(
    { fd, sequence: 1, path, position: 0, allocated: 0 },
    { writes: false, onEventLoop: true },
    (_buffer, used) => batches.push(used),
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
  expect(readFileSync(path).length).toBe(128 * RECORD_BYTES)
})

test('a failed WAL write rejects with KV_BACKEND_UNAVAILABLE, and every later append too without writing', async () => {
  const path = join(dir, 'wal.log')
  writeFileSync(path, '')
  // Read-only: write(2) fails with EBADF, as it would on an I/O error.
  const fd = openSync(path, 'r')
  let applied = 0
  const writer = new WalWriter(
    { fd, sequence: 1, path, position: 0, allocated: 0 },
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
