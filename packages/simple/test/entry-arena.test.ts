/** The entry arena: entries survive every overwrite, delete and compaction; garbage is reclaimed. */
import { describe, expect, test } from 'vitest'
import { EntryArena } from '../src/entry-arena.js'
import { rng } from './fixtures/ops.mjs'

const KEY = Buffer.from('a key')

/** Adds an entry under KEY with `value[start, start + length)`. */
function add(arena: EntryArena, value: Uint8Array, start = 0, length = value.length): number {
  return arena.add(7, KEY, 0, KEY.length, value, start, length)
}

function keyOf(arena: EntryArena, slot: number): string {
  return arena.keyId(slot)
}

function bytes(seed: number, length: number): Buffer {
  const random = rng(seed)
  const out = Buffer.alloc(length)
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256)
  return out
}

describe('EntryArena', () => {
  test('holds empty, small and large values and returns owned copies', () => {
    const arena = new EntryArena()
    const empty = arena.add(7, Buffer.alloc(0), 0, 0, Buffer.alloc(0), 0, 0)
    const small = add(arena, Buffer.from('xxhelloxx'), 2, 5)
    const large = add(arena, bytes(1, 3 * 1024 * 1024))
    expect(arena.readValue(empty)).toEqual(new Uint8Array(0))
    expect(Buffer.from(arena.readValue(small)).toString()).toBe('hello')
    const copy = arena.readValue(small)
    copy[0] = 0
    expect(Buffer.from(arena.readValue(small)).toString()).toBe('hello')
    expect(Buffer.from(arena.readValue(large)).equals(bytes(1, 3 * 1024 * 1024))).toBe(true)
    // A large value has a slab of its own, released with it.
    expect(keyOf(arena, large)).toBe('a key')
    expect(keyOf(arena, empty)).toBe('')
    expect(arena.keyEquals(small, Buffer.from('a key'), 0, 5)).toBe(true)
    expect(arena.keyEquals(small, Buffer.from('a kez'), 0, 5)).toBe(false)
    expect(arena.owner(small)).toBe(7)
    const held = arena.stats.slabBytes
    arena.remove(large)
    expect(arena.stats.slabBytes).toBe(held - 3 * 1024 * 1024 - KEY.length)
    expect(arena.owner(large)).toBe(0xffffffff)
  })

  test('a value of the same length is written over the old one: no slab space, no dead bytes', () => {
    const arena = new EntryArena()
    const first = add(arena, bytes(1, 100))
    const second = add(arena, bytes(2, 100))
    const empty = arena.add(7, Buffer.alloc(0), 0, 0, Buffer.alloc(0), 0, 0)
    const before = arena.stats
    const read = arena.readValue(first)
    for (let i = 0; i < 1000; i++) arena.replaceValue(first, bytes(100 + i, 120), 10, 100)
    arena.replaceValue(empty, Buffer.alloc(0), 0, 0)
    expect(arena.stats).toEqual(before)
    expect(Buffer.from(arena.readValue(first)).equals(bytes(1099, 120).subarray(10, 110))).toBe(
      true,
    )
    // Neither the copy read before nor the entry next to it changed.
    expect(Buffer.from(read).equals(bytes(1, 100))).toBe(true)
    expect(Buffer.from(arena.readValue(second)).equals(bytes(2, 100))).toBe(true)
    expect(keyOf(arena, first)).toBe('a key')
    expect(arena.readValue(empty)).toEqual(new Uint8Array(0))
    // Another length still moves the entry: its old bytes die.
    arena.replaceValue(first, bytes(3, 50), 0, 50)
    expect(arena.stats.deadBytes).toBe(KEY.length + 100)
    expect(Buffer.from(arena.readValue(first)).equals(bytes(3, 50))).toBe(true)
  })

  test('compaction moves live values out of mostly dead slabs and keeps them intact', () => {
    const arena = new EntryArena()
    const size = 4096 - KEY.length
    const slots: number[] = []
    for (let i = 0; i < 8192; i++) slots.push(add(arena, bytes(i, size)))
    // Three entries in four die: 24 MiB dead, 8 MiB live, no slab entirely dead.
    for (let i = 0; i < slots.length; i++) if (i % 4 !== 0) arena.remove(slots[i]!)
    expect(arena.stats.deadBytes).toBe(6144 * 4096)
    expect(arena.wantsCompaction).toBe(true)
    const before = arena.stats.slabBytes
    // Interleave steps with more writes, as the store does.
    let extra = add(arena, bytes(-1, 10))
    let steps = 0
    while (!arena.compactStep(500)) {
      steps++
      arena.replaceValue(extra, bytes(steps, 10), 0, 10)
    }
    expect(steps).toBeGreaterThan(1)
    expect(arena.stats.deadBytes).toBeLessThan(1024 * 1024)
    expect(arena.stats.slabBytes).toBeLessThanOrEqual(before / 2)
    for (let i = 0; i < slots.length; i += 4) {
      expect(Buffer.from(arena.readValue(slots[i]!)).equals(bytes(i, size)), `value ${i}`).toBe(
        true,
      )
      expect(keyOf(arena, slots[i]!)).toBe('a key')
    }
    expect(Buffer.from(arena.readValue(extra)).equals(bytes(steps, 10))).toBe(true)
    expect(arena.wantsCompaction).toBe(false)
    arena.remove(extra)
    extra = add(arena, bytes(7, 3))
    expect(Buffer.from(arena.readValue(extra)).equals(bytes(7, 3))).toBe(true)
  })

  test('random adds, replaces and removes agree with a map', () => {
    const arena = new EntryArena()
    const model = new Map<number, Buffer>()
    const random = rng(3)
    for (let n = 0; n < 20_000; n++) {
      const r = random()
      const slots = [...model.keys()]
      const length = random() < 0.1 ? 0 : Math.floor(random() * 2000)
      if (r < 0.5 || slots.length === 0) {
        const value = bytes(n, length)
        model.set(add(arena, value), value)
      } else if (r < 0.8) {
        const slot = slots[Math.floor(random() * slots.length)]!
        // One replacement in three keeps the length: written in place.
        const kept = random() < 0.33 ? arena.valueLength(slot) : length
        const value = bytes(n, kept)
        arena.replaceValue(slot, value, 0, kept)
        model.set(slot, value)
      } else {
        const slot = slots[Math.floor(random() * slots.length)]!
        arena.remove(slot)
        model.delete(slot)
      }
      if (n % 5000 === 0) while (!arena.compactStep(1000));
    }
    for (const [slot, value] of model) {
      expect(Buffer.from(arena.readValue(slot)).equals(value)).toBe(true)
      expect(keyOf(arena, slot)).toBe('a key')
    }
    expect(arena.stats.liveBytes).toBe(
      [...model.values()].reduce((sum, value) => sum + KEY.length + value.length, 0),
    )
  })
})
