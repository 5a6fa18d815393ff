/** Key listing: byte order, prefixes, and changes between listings. */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { compareBytes } from '@kv/core'
import { describe, expect, test } from 'vitest'
import { snapshotName } from '../src/files.js'
import {
  FREE_AT_ONCE_MAX_KEYS,
  FREE_AT_ONCE_MAX_POSITIONS,
  MemoryIndex,
} from '../src/memory-index.js'
import { loadSnapshot } from '../src/snapshot-reader.js'
import { ENTRIES_PER_TURN, liveSlotsByBucket, writeSnapshot } from '../src/snapshot-writer.js'
import { rng } from './fixtures/ops.mjs'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

describe('MemoryIndex.keys', () => {
  test('agrees with a sorted model through random inserts, deletes and bucket deletes', () => {
    const index = new MemoryIndex()
    const model = new Map<string, Uint8Array>()
    const random = rng(11)
    const value = Buffer.from('v')
    const randomKey = () => {
      const length = Math.floor(random() * 4)
      return new Uint8Array(
        Array.from({ length }, () => [0, 1, 0x7f, 0x80, 0xfe, 0xff][Math.floor(random() * 6)]!),
      )
    }
    for (let n = 0; n < 5000; n++) {
      const r = random()
      const key = randomKey()
      if (r < 0.55) {
        const record = Buffer.concat([key, value])
        index.put(index.bucket('b'), record, 0, key.length, key.length, 1)
        model.set(hex(key), key)
      } else if (r < 0.95) {
        index.delete('b', key)
        model.delete(hex(key))
      } else if (r < 0.96) {
        index.deleteBucket('b')
        model.clear()
      } else {
        const prefix = randomKey().subarray(0, Math.floor(random() * 3))
        const expected = [...model.values()]
          .filter((k) => Buffer.from(k).subarray(0, prefix.length).equals(Buffer.from(prefix)))
          .sort(compareBytes)
          .map(hex)
        expect([...index.keys('b', prefix)].map(hex), `step ${n}`).toEqual(expected)
        expect(index.size).toBe(model.size)
      }
    }
  })

  test('keys deleted while a listing is in progress are not listed', () => {
    const index = new MemoryIndex()
    for (const key of ['a', 'b', 'c', 'd'])
      index.put(index.bucket('b'), Buffer.from(`${key}v`), 0, 1, 1, 1)
    const listing = index.keys('b', undefined)
    expect(Buffer.from(listing.next().value!).toString()).toBe('a')
    index.delete('b', Buffer.from('b'))
    expect([...listing].map((k) => Buffer.from(k).toString())).toEqual(['c', 'd'])
  })

  test('a bucket listed once, then churned without listing, keeps a bounded backlog of new keys', () => {
    const index = new MemoryIndex()
    const put = (key: string) =>
      index.put(index.bucket('b'), Buffer.from(`${key}v`), 0, key.length, key.length, 1)
    const names = Array.from({ length: 100 }, (_, i) => `k${String(i).padStart(3, '0')}`)
    for (const name of names) put(name)
    expect([...index.keys('b', undefined)]).toHaveLength(100)
    // Sessions expiring and coming back: each re-added key is new to the listing's view. The
    // backlog used to grow by one id per re-add until the next listing.
    for (let n = 0; n < 5000; n++) {
      const name = names[n % names.length]!
      index.delete('b', Buffer.from(name))
      put(name)
    }
    expect(index.buckets.get('b')!.order!.pending).toBeLessThanOrEqual(1024)
    // And the next listing is still exact.
    expect([...index.keys('b', undefined)].map((k) => Buffer.from(k).toString())).toEqual(names)
  })

  test('buckets are listed in UTF-8 byte order and only while they hold keys', () => {
    const index = new MemoryIndex()
    for (const bucket of ['é', 'z', 'a', 'Z', '\u{1F600}', 'ab']) {
      index.put(index.bucket(bucket), Buffer.from('kv'), 0, 1, 1, 1)
    }
    expect(index.bucketNames()).toEqual(['Z', 'a', 'ab', 'z', 'é', '\u{1F600}'])
    index.delete('z', Buffer.from('k'))
    expect(index.bucketNames()).not.toContain('z')
    expect(index.size).toBe(5)
  })

  test('bucket names are sorted again only when a bucket is created or removed', () => {
    const index = new MemoryIndex()
    const put = (bucket: string, key: string) =>
      index.put(index.bucket(bucket), Buffer.from(`${key}v`), 0, key.length, key.length, 1)
    put('b', 'k')
    put('a', 'k')
    const first = index.bucketNames()
    expect(first).toEqual(['a', 'b'])
    // Writes and deletes within existing buckets keep the same array: nothing was sorted.
    put('a', 'k2')
    index.delete('a', Buffer.from('k2'))
    expect(index.bucketNames()).toBe(first)
    put('c', 'k')
    expect(index.bucketNames()).toEqual(['a', 'b', 'c'])
    index.delete('a', Buffer.from('k'))
    expect(index.bucketNames()).toEqual(['b', 'c'])
    index.deleteBucket('c')
    expect(index.bucketNames()).toEqual(['b'])
    // The array a listing began with is never changed under it.
    expect(first).toEqual(['a', 'b'])
  })

  test('a bucket of one key holds a table of a few positions and no sorted view until listed', () => {
    const index = new MemoryIndex()
    const put = (bucket: string, key: string) =>
      index.put(index.bucket(bucket), Buffer.from(`${key}v`), 0, key.length, key.length, 1)
    put('small', 'k')
    const small = index.buckets.get('small')!
    // 16 positions and an eager view cost 200,000 one-key buckets about 1.3 KB each.
    expect(small.table.capacity).toBeLessThanOrEqual(4)
    expect(small.order).toBeUndefined()
    expect([...index.keys('small', undefined)].map((k) => Buffer.from(k).toString())).toEqual(['k'])
    expect(small.order).toBeDefined()
    // Large tables still grow to keep at least half of their positions empty.
    const names = Array.from({ length: 1000 }, (_, i) => `key-${i}`)
    for (const name of names) put('large', name)
    const large = index.buckets.get('large')!.table
    expect(large.capacity).toBeGreaterThanOrEqual(2000)
    for (const name of names) {
      expect(Buffer.from(index.read('large', Buffer.from(name))!).toString()).toBe('v')
    }
    expect(index.read('large', Buffer.from('key-1000'))).toBeNull()
  })
})

describe('MemoryIndex.deleteBucket', () => {
  const value = Buffer.alloc(10, 7)
  /** Puts `count` keys `<prefix><n>` with a 10-byte value into bucket `name`. */
  const fill = (index: MemoryIndex, name: string, count: number, prefix = 'k') => {
    for (let n = 0; n < count; n++) {
      const record = Buffer.concat([Buffer.from(`${prefix}${n}`), value])
      index.put(index.bucket(name), record, 0, record.length - 10, record.length - 10, 10)
    }
  }

  test('a bucket of up to FREE_AT_ONCE_MAX_KEYS keys has its entries freed within the call', () => {
    const index = new MemoryIndex()
    index.freeInSteps = true
    fill(index, 'small', FREE_AT_ONCE_MAX_KEYS)
    index.deleteBucket('small')
    expect(index.sweepPending).toBe(false)
    expect(index.entries.stats.liveBytes).toBe(0)
  })

  test('a bucket of few keys left in a large table (it once held many) is freed in steps: the walk of the table is the cost', () => {
    const index = new MemoryIndex()
    index.freeInSteps = true
    fill(index, 'shrunk', FREE_AT_ONCE_MAX_KEYS * 8)
    for (let n = 10; n < FREE_AT_ONCE_MAX_KEYS * 8; n++)
      index.delete('shrunk', Buffer.from(`k${n}`))
    const { table } = index.buckets.get('shrunk')!
    expect(table.size).toBe(10)
    expect(table.positionCount).toBeGreaterThan(FREE_AT_ONCE_MAX_POSITIONS)
    index.deleteBucket('shrunk')
    expect(index.sweepPending).toBe(true)
    expect(index.sweepStep(Number.MAX_SAFE_INTEGER)).toBe(true)
    expect(index.entries.stats.liveBytes).toBe(0)
  })

  test('a table built up to FREE_AT_ONCE_MAX_KEYS keys, with deletes and puts between, stays within FREE_AT_ONCE_MAX_POSITIONS', () => {
    const index = new MemoryIndex()
    fill(index, 'b', FREE_AT_ONCE_MAX_KEYS)
    // Churn: tombstones make the table rebuild, at the same size or twice it.
    for (let round = 0; round < 8; round++) {
      for (let n = 0; n < FREE_AT_ONCE_MAX_KEYS / 2; n++) index.delete('b', Buffer.from(`k${n}`))
      fill(index, 'b', FREE_AT_ONCE_MAX_KEYS / 2)
    }
    const { table } = index.buckets.get('b')!
    expect(table.size).toBe(FREE_AT_ONCE_MAX_KEYS)
    expect(table.positionCount).toBeLessThanOrEqual(FREE_AT_ONCE_MAX_POSITIONS)
  })

  test('without freeInSteps (recovery replaying the WAL) any bucket is freed within the call', () => {
    const index = new MemoryIndex()
    fill(index, 'big', FREE_AT_ONCE_MAX_KEYS * 2)
    index.deleteBucket('big')
    expect(index.sweepPending).toBe(false)
    expect(index.entries.stats.liveBytes).toBe(0)
  })

  test('a larger one is gone at once, its entries freed by sweepStep in bounded steps', () => {
    const index = new MemoryIndex()
    index.freeInSteps = true
    const keys = FREE_AT_ONCE_MAX_KEYS * 4
    fill(index, 'big', keys)
    fill(index, 'kept', 3)
    const keptBytes = 3 * (2 + 10)
    const before = index.entries.stats.liveBytes
    index.deleteBucket('big')
    // Gone for every reader at once: size, lookups, listings, bucket names.
    expect(index.size).toBe(3)
    expect(index.find('big', Buffer.from('k1'))).toBe(-1)
    expect([...index.keys('big', undefined)]).toEqual([])
    expect(index.bucketNames()).toEqual(['kept'])
    // Its entries are freed later, a bounded part of its table per step.
    expect(index.sweepPending).toBe(true)
    expect(index.entries.stats.liveBytes).toBe(before)
    // A bucket of the same name made meanwhile is a new one, untouched by the sweep.
    fill(index, 'big', 2, 'new')
    let steps = 0
    while (!index.sweepStep(1024)) {
      steps++
      expect(index.entries.stats.liveBytes).toBeLessThan(before + 2 * (4 + 10))
    }
    // The table has at least twice as many positions as keys: more than `keys / 1024` steps.
    expect(steps).toBeGreaterThanOrEqual((keys * 2) / 1024 - 1)
    expect(index.sweepPending).toBe(false)
    expect(index.entries.stats.liveBytes).toBe(keptBytes + 2 * (4 + 10))
    expect([...index.keys('big', undefined)].map((k) => Buffer.from(k).toString())).toEqual([
      'new0',
      'new1',
    ])
    // Freed slots are reused: refilling takes no slot beyond those taken before.
    const slots = index.entries.slotCount
    fill(index, 'again', keys - 10)
    expect(index.entries.slotCount).toBe(slots)
  })

  test('buckets deleted one after another are all swept, in one sweepStep call if it has the budget', () => {
    const index = new MemoryIndex()
    index.freeInSteps = true
    for (const name of ['a', 'b', 'c']) fill(index, name, FREE_AT_ONCE_MAX_KEYS + 1)
    fill(index, 'kept', 1)
    for (const name of ['a', 'b', 'c']) index.deleteBucket(name)
    expect(index.sweepStep(Number.MAX_SAFE_INTEGER)).toBe(true)
    expect(index.entries.stats.liveBytes).toBe(2 + 10)
    expect(index.size).toBe(1)
  })
})

describe('MemoryIndex: puts pay for the freeing of deleted buckets', () => {
  test('while entries of a deleted bucket are left, each put frees four table positions of it', () => {
    const index = new MemoryIndex()
    index.freeInSteps = true
    const value = Buffer.alloc(10, 7)
    const put = (name: string, key: string) => {
      const record = Buffer.concat([Buffer.from(key), value])
      index.put(index.bucket(name), record, 0, record.length - 10, record.length - 10, 10)
    }
    for (let n = 0; n < FREE_AT_ONCE_MAX_KEYS * 2; n++) put('big', `k${n}`)
    index.deleteBucket('big')
    const backlog = index.sweepBacklog
    expect(backlog).toBeGreaterThanOrEqual(FREE_AT_ONCE_MAX_KEYS * 4)
    for (let n = 0; n < 100; n++) put('other', `o${n}`)
    expect(index.sweepBacklog).toBe(backlog - 400)
    // Until none is left: then puts free nothing and the backlog stays at 0.
    let n = 100
    while (index.sweepPending) put('other', `o${n++}`)
    expect(index.sweepBacklog).toBe(0)
    // Only the other bucket's entries are left.
    let bytes = 0
    for (let i = 0; i < n; i++) bytes += `o${i}`.length + 10
    expect(index.entries.stats.liveBytes).toBe(bytes)
  })
})

describe('MemoryIndex: bucket numbers (the tag of a bucket’s entries in the arena)', () => {
  const value = Buffer.alloc(10, 7)
  const put = (index: MemoryIndex, name: string, key: string) => {
    const record = Buffer.concat([Buffer.from(key), value])
    index.put(index.bucket(name), record, 0, record.length - 10, record.length - 10, 10)
  }
  const numberOf = (index: MemoryIndex, name: string) => index.buckets.get(name)!.number

  test('a bucket emptied and filled again, however often, takes back a released number: none grows without bound', async () => {
    const index = new MemoryIndex()
    index.freeInSteps = true
    put(index, 'users', 'alice')
    const users = numberOf(index, 'users')
    // A queue emptied by deletes, one emptied by deleteBucket, one left empty by a snapshot's
    // entries moving on (dropEmptyBuckets): each empties and fills again 100,000 times. A
    // counter gave the last of these number 300,000 (and, 2³² − 1 creations on, `users`'s).
    let highest = 0
    for (let n = 0; n < 100_000; n++) {
      put(index, 'queue', 'job')
      put(index, 'batch', 'job')
      index.bucket('moved-on')
      highest = Math.max(
        highest,
        numberOf(index, 'queue'),
        numberOf(index, 'batch'),
        numberOf(index, 'moved-on'),
      )
      expect(
        new Set([users, ...['queue', 'batch', 'moved-on'].map((b) => numberOf(index, b))]).size,
      ).toBe(4)
      index.delete('queue', Buffer.from('job'))
      index.deleteBucket('batch')
      index.dropEmptyBuckets()
    }
    expect(highest).toBeLessThanOrEqual(3)
    expect(numberOf(index, 'users')).toBe(users)
    // A snapshot lists each bucket's entries by number: users holds its own key only.
    put(index, 'queue', 'job')
    const lists = await liveSlotsByBucket(index)
    const keysOf = (name: string) => {
      const { slots } = lists.find((list) => list.name === name)!
      return Array.from({ length: slots.length }, (_, i) => index.entries.keyId(slots.at(i)))
    }
    expect(keysOf('users')).toEqual(['alice'])
    expect(keysOf('queue')).toEqual(['job'])
  })

  test('the number of a bucket whose entries are still being swept is not handed out until they are freed', async () => {
    const index = new MemoryIndex()
    index.freeInSteps = true
    for (let n = 0; n < FREE_AT_ONCE_MAX_KEYS * 2; n++) put(index, 'big', `k${n}`)
    const big = numberOf(index, 'big')
    index.deleteBucket('big')
    expect(index.sweepPending).toBe(true)
    put(index, 'new', 'only')
    expect(numberOf(index, 'new')).not.toBe(big)
    // Listed for a snapshot meanwhile, the new bucket holds its own key, none of the old ones.
    const lists = await liveSlotsByBucket(index)
    expect(lists.map(({ name, slots }) => [name, slots.length])).toEqual([['new', 1]])
    while (!index.sweepStep(1024));
    put(index, 'after', 'x')
    expect(numberOf(index, 'after')).toBe(big)
  })
})

describe('MemoryIndex: bucket numbers while a snapshot is written', () => {
  test('a bucket emptied by its last delete during a snapshot does not lend its number to a new one: replaying the later records over the snapshot gives the state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kv-simple-numbers-'))
    try {
      const value = Buffer.alloc(10, 7)
      const put = (index: MemoryIndex, name: string, key: string) => {
        const record = Buffer.concat([Buffer.from(key), value])
        index.put(index.bucket(name), record, 0, record.length - 10, record.length - 10, 10)
      }
      const index = new MemoryIndex()
      index.freeInSteps = true
      // Enough entries before `x` (about 2.5 MB) for a first block to be written before it.
      for (let n = 0; n < ENTRIES_PER_TURN * 40; n++) put(index, 'filler', `f${n}`)
      put(index, 'x', 'j')
      const written = writeSnapshot(dir, 1, index)
      // Writes while the snapshot is being written, as records of the next segment: `x` loses
      // its only key (the bucket is dropped), and a new bucket `y` is filled, taking the slot
      // `x` freed.
      const later = (target: MemoryIndex) => {
        target.delete('x', Buffer.from('j'))
        put(target, 'y', 'k')
      }
      // Once the copy has begun (a first 1 MiB block is in the file), before it reaches `x`.
      const temporary = join(dir, `${snapshotName(1)}.tmp`)
      const size = () => (existsSync(temporary) ? statSync(temporary).size : 0)
      while (size() < 1024 * 1024) await new Promise((resolve) => setImmediate(resolve))
      later(index)
      await written
      // Recovery: the snapshot, then the later records.
      const recovered = new MemoryIndex()
      await loadSnapshot(join(dir, snapshotName(1)), 1, recovered)
      recovered.dropEmptyBuckets()
      later(recovered)
      expect(recovered.bucketNames()).toEqual(['filler', 'y'])
      expect([...recovered.keys('y', undefined)].map((k) => Buffer.from(k).toString())).toEqual([
        'k',
      ])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
