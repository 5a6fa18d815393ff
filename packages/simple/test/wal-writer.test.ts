/**
 * The WAL writer's share of the event loop: a loop of awaited writes flushes in microtasks, and
 * must still leave the event loop a turn (timers, I/O, a snapshot) once a turn's flushes have
 * taken {@link TURN_BUDGET_MS}. A clock of the test's own stands for the time flushes take.
 */
import { openSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
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
