/** The sorted view behind `keys()`: what a listing after new keys costs, and what it lists. */
import { describe, expect, test } from 'vitest'
import { MemoryIndex } from '../src/memory-index.js'
import { KeyCursor, type KeyOrder, SortedKeys } from '../src/sorted-keys.js'

const name = (prefix: string, i: number) => `${prefix}${String(i).padStart(6, '0')}`

function walk(order: KeyOrder, from = ''): string[] {
  const out: string[] = []
  const cursor = new KeyCursor(order, from)
  for (let id = cursor.next(); id !== undefined; id = cursor.next()) out.push(id)
  return out
}

describe('SortedKeys', () => {
  test('a listing after each new key neither rebuilds the sorted array nor probes the table', () => {
    const order = new SortedKeys()
    const ids = Array.from({ length: 10_000 }, (_, i) => name('key-', i))
    let scans = 0
    let probes = 0
    const all = () => {
      scans++
      return ids
    }
    const present = () => {
      probes++
      return true
    }
    const mains = new Set<readonly string[]>([order.sorted(all, present).main])
    const added: string[] = []
    for (let i = 0; i < 1000; i++) {
      added.push(name('new-', i))
      order.added(added.at(-1)!)
      const view = order.sorted(all, present)
      mains.add(view.main)
      // The head of a prefix listing, as `keys(b, { prefix: 'new-', limit: 1 })` reads it.
      expect(walk(view, 'new-')[0]).toBe('new-000000')
    }
    // Nothing was deleted, so no id needed checking; the bucket was scanned once, at first.
    expect(scans).toBe(1)
    expect(probes).toBe(0)
    // The side array takes about √10,000 = 100 keys before it is folded into a new main array:
    // 1,000 new keys make about 10 folds, where merging at every listing made 1,000.
    expect(mains.size).toBeLessThanOrEqual(12)
    expect(walk(order.sorted(all, present))).toEqual([...ids, ...added])
  })

  test('a fold after a delete checks presence and drops the departed key', () => {
    const order = new SortedKeys()
    const ids = new Set(Array.from({ length: 100 }, (_, i) => name('k', i * 2)))
    order.sorted(
      () => ids,
      () => true,
    )
    ids.delete(name('k', 0))
    order.removed()
    for (let i = 0; i < 100; i++) {
      ids.add(name('k', i * 2 + 1))
      order.added(name('k', i * 2 + 1))
    }
    const view = order.sorted(
      () => ids,
      (id) => ids.has(id),
    )
    expect(view.side).toEqual([])
    expect(view.main).toEqual([...ids].sort())
  })
})

describe('MemoryIndex.keys over the main and side arrays', () => {
  const put = (index: MemoryIndex, key: string) =>
    index.put(index.bucket('b'), Buffer.from(`${key}v`), 0, key.length, key.length, 1)
  const list = (keys: Iterable<Uint8Array>) => [...keys].map((k) => Buffer.from(k).toString())

  test('writes during a listing: present keys once, deleted ones not, a re-added key once', () => {
    const index = new MemoryIndex()
    for (const key of ['a', 'c', 'e', 'g']) put(index, key)
    expect(list(index.keys('b', undefined))).toEqual(['a', 'c', 'e', 'g'])
    // Into the side array: new keys, and one deleted and re-added (then in both arrays).
    for (const key of ['b', 'd', 'f']) put(index, key)
    index.delete('b', Buffer.from('g'))
    put(index, 'g')
    const listing = index.keys('b', undefined)
    expect(Buffer.from(listing.next().value!).toString()).toBe('a')
    index.delete('b', Buffer.from('c'))
    index.delete('b', Buffer.from('d'))
    expect(list(listing)).toEqual(['b', 'e', 'f', 'g'])
    expect(list(index.keys('b', Buffer.from('f')))).toEqual(['f'])
  })
})
