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

  /** @param number tags the bucket's entries in the arena: no other bucket with entries has it */
  constructor(
    arena: EntryArena,
    readonly number: number,
  ) {
    this.table = new KeyTable(arena)
  }
}

/**
 * A deleted bucket with at most this many keys has its entries freed at once; a larger one is
 * freed in steps ({@link MemoryIndex.sweepStep}). Freeing 1,000,000 entries at once held the
 * event loop 257 ms; 4,096 take about a millisecond.
 */
export const FREE_AT_ONCE_MAX_KEYS = 4096
/**
 * ...and whose table has at most this many positions. A table never shrinks: a bucket that once
 * held many keys and now holds a few keeps its large table, and walking it is the cost (2,097,152
 * positions for 4,000 keys held the event loop 29 ms). A table built up to 4,096 keys has at most
 * this many.
 */
export const FREE_AT_ONCE_MAX_POSITIONS = 4 * FREE_AT_ONCE_MAX_KEYS

/**
 * Table positions of deleted buckets each put frees while any are left: writes pay for the
 * freeing, so that a loop filling and deleting buckets cannot outrun it (a fixed step per
 * event-loop turn let 64 such writers pile up 2.3 GB of deleted entries in 39 s). A table has at
 * most four positions per key it was built with, so four per put frees a bucket as fast as it
 * can be filled again.
 */
const SWEEP_POSITIONS_PER_PUT = 4

/** A deleted bucket whose entries are being freed: its table, walked from `position` on. */
interface Sweep {
  bucket: Bucket
  position: number
}

/** Every bucket, key and value of a store. */
export class MemoryIndex {
  /** Buckets by name. A bucket that becomes empty is removed. */
  readonly buckets = new Map<string, Bucket>()
  /** The keys and values. */
  readonly entries = new EntryArena()
  #size = 0
  /**
   * Bucket numbers: a new bucket takes a released one, else the next never used. A number is
   * released only once no slot of the arena is tagged with it any more (its bucket is dropped and
   * every entry freed), so no two buckets that have entries ever share one — a snapshot lists
   * entries by their number. A counter alone (wrapping at 2³² − 1) handed a live bucket's number
   * to a new one after about 4.3 billion bucket creations, hours for buckets used as queues
   * (filled and emptied again), and the next snapshot wrote both under one name.
   */
  #nextNumber = 0
  readonly #releasedNumbers: number[] = []
  /** Snapshots being written ({@link holdNumbers}); numbers released meanwhile wait here. */
  #numberHolds = 0
  readonly #heldNumbers: number[] = []
  /** {@link bucketNames}, kept until a bucket is created or removed. */
  #names: readonly string[] | undefined
  /**
   * Whether {@link deleteBucket} may leave a large bucket's entries to {@link sweepStep}: set by
   * the open store, whose event loop must not stall. Off while recovery replays the WAL, which
   * frees them at once: a log of buckets filled and deleted again and again would otherwise hold
   * every deleted entry until the replay ends.
   */
  freeInSteps = false
  /** Deleted buckets whose entries are still to be freed, oldest first. */
  readonly #sweeps: Sweep[] = []
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

  /**
   * Keeps the numbers of buckets dropped from now on from being handed out until the returned
   * function is called. A snapshot lists entries by their bucket's number while writes go on:
   * were a bucket emptied by deleting its last key meanwhile, and its number (and slot) taken by
   * a new bucket, the new bucket's entry would be written under the old name, and replaying the
   * later segments would not remove it (they delete the old bucket's key, not the new one's).
   */
  holdNumbers(): () => void {
    this.#numberHolds++
    let done = false
    return () => {
      if (done) return
      done = true
      if (--this.#numberHolds > 0) return
      for (const number of this.#heldNumbers) this.#releasedNumbers.push(number)
      this.#heldNumbers.length = 0
    }
  }

  /** Makes the number of a dropped bucket, none of whose entries is left, free for a new one. */
  #release(number: number): void {
    ;(this.#numberHolds > 0 ? this.#heldNumbers : this.#releasedNumbers).push(number)
  }

  /** The bucket named `name`, created (empty) if needed. */
  bucket(name: string): Bucket {
    let entries = this.buckets.get(name)
    if (entries === undefined) {
      entries = new Bucket(this.entries, this.#releasedNumbers.pop() ?? this.#nextNumber++)
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
    if (this.#sweeps.length > 0) this.sweepStep(SWEEP_POSITIONS_PER_PUT)
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
    if (entries.table.size === 0) {
      this.#drop(bucket)
      this.#release(entries.number)
    } else entries.order?.removed()
  }

  /**
   * Removes every key of `bucket`. The bucket is gone at once (reads, listings, snapshots
   * started from now on and {@link size} no longer see it); with {@link freeInSteps}, the entries
   * of one with more than {@link FREE_AT_ONCE_MAX_KEYS} keys, or a table of more than
   * {@link FREE_AT_ONCE_MAX_POSITIONS} positions, keep their arena bytes until {@link sweepStep}
   * frees them — in the background, and four table positions with every put.
   */
  deleteBucket(bucket: string): void {
    const entries = this.buckets.get(bucket)
    if (entries === undefined) return
    this.#size -= entries.table.size
    this.#drop(bucket)
    const sweep = { bucket: entries, position: 0 }
    const { table } = entries
    if (
      !this.freeInSteps ||
      (table.size <= FREE_AT_ONCE_MAX_KEYS && table.positionCount <= FREE_AT_ONCE_MAX_POSITIONS)
    ) {
      this.#free(sweep, Number.POSITIVE_INFINITY)
      this.#release(entries.number)
    } else {
      // Its sorted keys are no use any more (a listing in progress keeps its own reference).
      entries.order = undefined
      this.#sweeps.push(sweep)
    }
  }

  /** Whether deleted buckets have entries still to be freed by {@link sweepStep}. */
  get sweepPending(): boolean {
    return this.#sweeps.length > 0
  }

  /** Table positions of deleted buckets still to be walked by {@link sweepStep}. */
  get sweepBacklog(): number {
    let left = 0
    for (const { bucket, position } of this.#sweeps) left += bucket.table.positionCount - position
    return left
  }

  /**
   * Frees the entries of deleted buckets, looking at up to `budget` positions of their tables.
   * Returns true when none is left to free.
   */
  sweepStep(budget: number): boolean {
    let left = budget
    while (left > 0 && this.#sweeps.length > 0) {
      const sweep = this.#sweeps[0]!
      const from = sweep.position
      if (this.#free(sweep, left)) {
        this.#sweeps.shift()
        this.#release(sweep.bucket.number)
      }
      left -= sweep.position - from
    }
    return this.#sweeps.length === 0
  }

  /**
   * Frees the entries at the next `budget` positions of a deleted bucket's table; true once the
   * table is walked. The table no longer changes (the bucket left {@link buckets} with its last
   * insert), and its slots are the bucket's until freed here: a slot is reused only once freed.
   */
  #free(sweep: Sweep, budget: number): boolean {
    const { table } = sweep.bucket
    const end = Math.min(table.positionCount, sweep.position + budget)
    for (let i = sweep.position; i < end; i++) {
      const slot = table.slotAt(i)
      if (slot >= 0) this.entries.remove(slot)
    }
    sweep.position = end
    return end === table.positionCount
  }

  /** Drops buckets left empty (a snapshot may name a bucket whose entries all moved on). */
  dropEmptyBuckets(): void {
    for (const [name, entries] of this.buckets) {
      if (entries.table.size > 0) continue
      this.#drop(name)
      this.#release(entries.number)
    }
  }

  #drop(name: string): void {
    // The bucket object is abandoned, not emptied: a snapshot walking the arena's slots skips
    // its entries, since the arena records which bucket number owns a slot and this number is
    // no longer in `buckets`.
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
