/**
 * Single-bucket mode (and memory mode): one database, every key stored under its bucket's
 * prefix in @kv/core's composite encoding, which no bucket or key can make ambiguous.
 *
 * @module
 */
import { afterBucket, compareBytes, type Entry, type KeyRange, keyRange } from '@kv/core'
import type { Engine } from './engine.js'
import { readBuckets, scanBuckets } from './keyspace-scan.js'
import type { GcOutcome, Layout } from './layout.js'
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

/**
 * Every key: from the empty key to `FF`, above every composite key (its first byte is the
 * bucket's first UTF-8 byte, or `00` for a name that starts with NUL; UTF-8 has no `FF` byte).
 */
const EVERY_KEY: [Uint8Array, Uint8Array] = [new Uint8Array(0), new Uint8Array([0xff])]

/**
 * A `value_log_gc` pass compacts at most this many ranges. Each LevelDB CompactRange flushes the
 * memtable and syncs the manifest however small its range (3–4 ms here), so one call per due
 * bucket made a pass over 8,000 buckets take 32 s; a range that takes in the keys between two
 * due buckets costs little more, since LevelDB rewrites whole table files (2 MiB) anyway.
 */
export const MAX_GC_SPANS = 16

/** A range of composite keys that one compaction covers, and the due buckets inside it. */
export interface GcSpan extends KeyRange {
  buckets: string[]
}

/**
 * The ranges of `buckets`, in key order, merged into at most `max` spans: the spans are cut at the
 * `max - 1` widest gaps between neighbouring ranges, a gap being the wider the shorter the prefix
 * its two ends share (`session-1…` and `session-2…` are close, `a…` and `z…` far apart): a
 * measure that needs no read of the database.
 */
export function gcSpans(buckets: readonly string[], max: number): GcSpan[] {
  const ranges = buckets
    .map((bucket) => ({ bucket, ...keyRange(bucket) }))
    .sort((a, b) => compareBytes(a.gte, b.gte))
  let cuts: number[] // a span ends after ranges[i] for each i here
  if (ranges.length <= max) cuts = ranges.map((_, i) => i)
  else {
    const shared = ranges.slice(1).map((r, i) => sharedPrefix(ranges[i]!.lt, r.gte))
    cuts = shared
      .map((_, i) => i)
      .sort((a, b) => shared[a]! - shared[b]! || a - b)
      .slice(0, max - 1)
      .sort((a, b) => a - b)
    cuts.push(ranges.length - 1)
  }
  const spans: GcSpan[] = []
  let first = 0
  for (const last of cuts) {
    spans.push({
      gte: ranges[first]!.gte,
      lt: ranges[last]!.lt,
      buckets: ranges.slice(first, last + 1).map((r) => r.bucket),
    })
    first = last + 1
  }
  return spans
}

function sharedPrefix(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  let i = 0
  while (i < n && a[i] === b[i]) i++
  return i
}

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
    await this.#compact(bucket)
  }

  mayHold(): boolean {
    return true
  }

  /** Compacts the bucket's range so that its deleted entries leave the files. */
  async #compact(bucket: string): Promise<void> {
    if (this.#engine.inMemory) return // memory-level frees deleted entries at once
    const { gte, lt } = this.#partition(bucket)
    await this.#engine.db.compactRange(gte, lt!)
  }

  /**
   * Compacts the due buckets' ranges merged into at most {@link MAX_GC_SPANS} spans
   * ({@link gcSpans}), or the whole keyspace with one compaction. The buckets of a span whose
   * compaction fails are due again. (Not through {@link #partition}: a pass over thousands of
   * buckets would empty its cache of the buckets in use.)
   */
  async gc(due: readonly string[] | 'all', list: boolean): Promise<GcOutcome> {
    const { db, inMemory } = this.#engine
    if (inMemory) return { compacted: due === 'all' ? [] : [...due], again: [], errors: [] }
    if (due === 'all') {
      try {
        await db.compactRange(...EVERY_KEY)
      } catch (error) {
        return { compacted: [], again: 'all', errors: [error] }
      }
      const compacted: string[] = []
      if (list) {
        try {
          for await (const bucket of this.buckets()) compacted.push(bucket)
        } catch (error) {
          return { compacted, again: [], errors: [error] }
        }
      }
      return { compacted, again: [], errors: [] }
    }
    const compacted: string[] = []
    const again: string[] = []
    const errors: unknown[] = []
    for (const span of gcSpans(due, MAX_GC_SPANS)) {
      let into = compacted
      try {
        await db.compactRange(span.gte, span.lt)
      } catch (error) {
        errors.push(error)
        into = again
      }
      // Not push(...): a span may hold more buckets than a call takes arguments.
      for (const bucket of span.buckets) into.push(bucket)
    }
    return { compacted, again, errors }
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
