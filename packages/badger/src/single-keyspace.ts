/**
 * Single-bucket mode (and memory mode): one database, every key stored under its bucket's
 * prefix in @kv/core's composite encoding, which no bucket or key can make ambiguous.
 *
 * @module
 */
import { afterBucket, type Entry } from '@kv/core'
import type { Engine } from './engine.js'
import { readBuckets, scanBuckets } from './keyspace-scan.js'
import type { Compaction, Layout } from './layout.js'
import { FIRST_KEYS_PAGE, MAX_KEYS_PAGE, Partition, type PartitionContext } from './partition.js'
import type { BucketStats, TopKeys } from './stats.js'
import { WriteQueue } from './write-queue.js'

/** Bucket prefixes are kept for this many buckets (the cache is emptied when it is full). */
const PARTITION_CACHE = 4096

/**
 * A range that holds no key (every composite key starts with a non-empty bucket name, and one
 * that starts with NUL is encoded `00 FF …`): compacting it only flushes the memtable.
 */
const EMPTY_RANGE: [Uint8Array, Uint8Array] = [new Uint8Array([0]), new Uint8Array([0, 0])]

/** Every bucket in one database. */
export class SingleKeyspace implements Layout {
  readonly #engine: Engine
  readonly #ctx: PartitionContext
  #partitions = new Map<string, Partition>()
  #lastBucket: string | undefined
  #lastPartition: Partition | undefined

  constructor(engine: Engine, options: { syncWrites: boolean; syncReads: boolean }) {
    this.#engine = engine
    this.#ctx = {
      db: engine.db,
      queue: new WriteQueue(engine.db, { sync: options.syncWrites, copy: engine.inMemory }),
      inMemory: engine.inMemory,
      syncReads: options.syncReads,
    }
  }

  #partition(bucket: string): Partition {
    // Consecutive operations on one bucket are the common case: skip the map lookup.
    if (bucket === this.#lastBucket) return this.#lastPartition!
    let partition = this.#partitions.get(bucket)
    if (partition === undefined) {
      if (this.#partitions.size >= PARTITION_CACHE) this.#partitions = new Map()
      partition = new Partition(this.#ctx, bucket)
      this.#partitions.set(bucket, partition)
    }
    this.#lastBucket = bucket
    this.#lastPartition = partition
    return partition
  }

  get(bucket: string, key: Uint8Array) {
    return this.#partition(bucket).get(key)
  }

  has(bucket: string, key: Uint8Array) {
    return this.#partition(bucket).has(key)
  }

  put(bucket: string, key: Uint8Array, value: Uint8Array): Promise<void> {
    return this.#partition(bucket).put(key, value)
  }

  putMany(bucket: string, entries: readonly Entry[]): Promise<void> {
    return this.#partition(bucket).putMany(entries)
  }

  del(bucket: string, key: Uint8Array): Promise<void> {
    return this.#partition(bucket).del(key)
  }

  /**
   * Deletes the bucket's range, then compacts it so the space is freed. The memtable is flushed
   * first: puts and their tombstones flushed into the same table would stay there (LevelDB only
   * drops a tombstone when it is compacted into the level that holds the data it hides).
   */
  async deleteBucket(bucket: string): Promise<void> {
    const { db, inMemory } = this.#engine
    await this.#partition(bucket).clear(
      inMemory ? undefined : () => db.compactRange(...EMPTY_RANGE),
    )
    await this.compact(bucket)
  }

  mayHold(): boolean {
    return true
  }

  async compact(bucket: string): Promise<Compaction> {
    if (this.#engine.inMemory) return 'compacted' // memory-level frees deleted entries at once
    const { gte, lt } = this.#partition(bucket)
    await this.#engine.db.compactRange(gte, lt!)
    return 'compacted'
  }

  keys(bucket: string, prefix: Uint8Array | undefined, limit: number): AsyncIterable<Uint8Array> {
    return this.#partition(bucket).keys(prefix, limit)
  }

  /**
   * Lists the buckets a page at a time, as `keys()` lists keys: each page read with one iterator
   * ({@link readBuckets}), closed before its names are handed out, so an abandoned listing holds
   * none open, and each page sees the buckets created or emptied before it was read.
   */
  async *buckets(): AsyncGenerator<string> {
    const { db } = this.#engine
    let from: Uint8Array | undefined
    for (let size = FIRST_KEYS_PAGE; ; size = Math.min(size * 2, MAX_KEYS_PAGE)) {
      const { names, done } = await readBuckets(db, from, size)
      yield* names
      if (done || names.length === 0) return
      from = afterBucket(names[names.length - 1]!)
    }
  }

  /** One scan of the whole keyspace, from a snapshot of it (see {@link scanBuckets}). */
  stats(top: TopKeys): Promise<BucketStats[]> {
    return scanBuckets(this.#engine.db, top, !this.#engine.inMemory)
  }

  async close(): Promise<void> {
    await this.#ctx.queue.close()
    await this.#engine.db.close()
  }
}
