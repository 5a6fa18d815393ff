/**
 * `MemoryIndex`: the whole store in memory. Each bucket has a {@link KeyTable} of slots in one
 * shared {@link EntryArena}; a bucket exists while it holds at least one key.
 *
 * This is the state that WAL records are applied to, that snapshots are written from, and that
 * reads are served from synchronously.
 *
 * @module
 */
import { compareBytes, utf8 } from '@kv/core'
import { idToBytes } from './byte-pool.js'
import { EntryArena } from './entry-arena.js'
import { keyIdAt } from './key-id.js'
import { hashKey, KeyTable } from './key-table.js'
import { KeyCursor, SortedKeys } from './sorted-keys.js'

/** One bucket: its key table, and its keys in byte order for `keys()`. */
export class Bucket {
  readonly table: KeyTable
  /** Made by the bucket's first listing: a store of many small buckets seldom lists them all. */
  order: SortedKeys | undefined

  /** @param number tags the bucket's entries in the arena (a new bucket object, a new number) */
  constructor(
    arena: EntryArena,
    readonly number: number,
  ) {
    this.table = new KeyTable(arena)
  }
}

/** Every bucket, key and value of a store. */
export class MemoryIndex {
  /** Buckets by name. A bucket that becomes empty is removed. */
  readonly buckets = new Map<string, Bucket>()
  /** The keys and values. */
  readonly entries = new EntryArena()
  #size = 0
  #nextNumber = 0
  /** {@link bucketNames}, kept until a bucket is created or removed. */
  #names: readonly string[] | undefined
  /** Room to turn a latin1 key id back into bytes (keys are at most 64 KiB). */
  #scratch = Buffer.allocUnsafeSlow(64 * 1024)

  /** Number of keys in all buckets. */
  get size(): number {
    return this.#size
  }

  /** The slot of (`bucket`, `key[start, start + length)`), or -1. */
  find(bucket: string, key: Uint8Array, start = 0, length = key.length): number {
    const entries = this.buckets.get(bucket)
    if (entries === undefined) return -1
    return entries.table.find(key, start, length, hashKey(key, start, length))
  }

  /** A copy of the value under (`bucket`, `key`), or null. */
  read(bucket: string, key: Uint8Array): Uint8Array | null {
    const slot = this.find(bucket, key)
    return slot < 0 ? null : this.entries.readValue(slot)
  }

  /** The bucket named `name`, created (empty) if needed. */
  bucket(name: string): Bucket {
    let entries = this.buckets.get(name)
    if (entries === undefined) {
      entries = new Bucket(this.entries, this.#nextNumber)
      this.#nextNumber = (this.#nextNumber + 1) % 0xffff_ffff
      this.buckets.set(name, entries)
      this.#names = undefined
    }
    return entries
  }

  /**
   * Stores under the key `source[keyStart, +keyLength)` of `bucket` a copy of the value
   * `source[valueStart, +valueLength)`.
   */
  put(
    bucket: Bucket,
    source: Uint8Array,
    keyStart: number,
    keyLength: number,
    valueStart: number,
    valueLength: number,
  ): void {
    const hash = hashKey(source, keyStart, keyLength)
    const slot = bucket.table.find(source, keyStart, keyLength, hash)
    if (slot >= 0) {
      this.entries.replaceValue(slot, source, valueStart, valueLength)
      return
    }
    const added = this.entries.add(
      bucket.number,
      source,
      keyStart,
      keyLength,
      source,
      valueStart,
      valueLength,
    )
    bucket.table.insert(added, hash)
    if (bucket.order?.tracking) bucket.order.added(this.entries.keyId(added))
    this.#size++
  }

  /** Removes the key `key[start, start + length)` of `bucket`; a missing key is fine. */
  delete(bucket: string, key: Uint8Array, start = 0, length = key.length): void {
    const entries = this.buckets.get(bucket)
    if (entries === undefined) return
    const slot = entries.table.remove(key, start, length, hashKey(key, start, length))
    if (slot < 0) return
    this.entries.remove(slot)
    this.#size--
    if (entries.table.size === 0) this.#drop(bucket)
    else entries.order?.removed()
  }

  /** Removes every key of `bucket`. */
  deleteBucket(bucket: string): void {
    const entries = this.buckets.get(bucket)
    if (entries === undefined) return
    for (const slot of entries.table.allSlots()) this.entries.remove(slot)
    this.#size -= entries.table.size
    this.#drop(bucket)
  }

  /** Drops buckets left empty (a snapshot may name a bucket whose entries all moved on). */
  dropEmptyBuckets(): void {
    for (const [name, entries] of this.buckets) if (entries.table.size === 0) this.#drop(name)
  }

  #drop(name: string): void {
    // The bucket object is abandoned, not emptied: a snapshot walking its table skips its slots
    // once they are freed or reused (the arena records which bucket number owns a slot).
    this.buckets.delete(name)
    this.#names = undefined
  }

  /** The keys of `bucket` that start with `prefix`, ascending, as owned copies. */
  *keys(bucket: string, prefix: Uint8Array | undefined): Generator<Uint8Array> {
    const entries = this.buckets.get(bucket)
    if (entries === undefined) return
    const { table } = entries
    entries.order ??= new SortedKeys()
    const { order } = entries
    const sorted = order.sorted(
      () => Array.from(table.allSlots(), (slot) => this.entries.keyId(slot)),
      (id) => this.#hasId(entries, id),
    )
    const from =
      prefix === undefined || prefix.length === 0 ? '' : keyIdAt(prefix, 0, prefix.length)
    // Checking each id against the table is needed only once a key has left the bucket.
    const removals = order.clean ? order.removals : -1
    const cursor = new KeyCursor(sorted, from)
    for (let id = cursor.next(); id !== undefined; id = cursor.next()) {
      if (!id.startsWith(from)) return
      // The caller may have written or deleted between two steps: list what is there now.
      if (this.buckets.get(bucket) !== entries) return
      if (order.removals === removals || this.#hasId(entries, id)) yield idToBytes(id)
    }
  }

  #hasId(entries: Bucket, id: string): boolean {
    const length = this.#scratch.write(id, 0, 'latin1')
    return entries.table.find(this.#scratch, 0, length, hashKey(this.#scratch, 0, length)) >= 0
  }

  /**
   * The names of non-empty buckets in ascending order of their UTF-8 bytes. Sorted once per
   * change of the set of buckets, not per call: a listing of 100,000 buckets spent 70–115 ms
   * sorting them. Replaced, never changed in place, so a listing keeps the array it began with.
   */
  bucketNames(): readonly string[] {
    if (this.#names === undefined) {
      const named = [...this.buckets.keys()].map((name) => ({ name, bytes: utf8(name) }))
      named.sort((a, b) => compareBytes(a.bytes, b.bytes))
      this.#names = named.map(({ name }) => name)
    }
    return this.#names
  }
}
