/**
 * How buckets are laid out on the engine: {@link SingleKeyspace} (one database, buckets under a
 * prefix; also memory mode) or {@link PerBucket} (one database per bucket directory). The store
 * delegates every operation to its layout.
 *
 * @module
 */
import type { Entry, MaybePromise } from '@kv/core'
import type { BucketStats, TopKeys } from './stats.js'

/** What a `value_log_gc` pass did ({@link Layout.gc}). */
export interface GcOutcome {
  /** The buckets compacted (per-bucket mode: or removed, found empty). */
  compacted: string[]
  /** Due again at the next pass (their compaction failed or was put off); `all`: everything. */
  again: string[] | 'all'
  /** The errors of the compactions that failed, in the order met. */
  errors: unknown[]
}

/** What the store needs from a layout. Arguments are already validated by @kv/core. */
export interface Layout {
  get(bucket: string, key: Uint8Array): MaybePromise<Uint8Array | null>
  has(bucket: string, key: Uint8Array): MaybePromise<boolean>
  put(bucket: string, key: Uint8Array, value: Uint8Array): Promise<void>
  /** Stores the entries of one bucket as one LevelDB batch. */
  putMany(bucket: string, entries: readonly Entry[]): Promise<void>
  del(bucket: string, key: Uint8Array): Promise<void>
  /**
   * False when the bucket certainly has nothing on disk, so that a delete in it leaves nothing
   * for a `value_log_gc` pass to compact (per-bucket mode: no such bucket; a delete there writes
   * nothing). Single-bucket mode: always true (a delete writes a tombstone in the bucket's range
   * whether or not the bucket holds keys).
   */
  mayHold(bucket: string): boolean
  /** Removes the bucket's keys and gives their space back to the file system. */
  deleteBucket(bucket: string): Promise<void>
  /** The bucket's keys with `prefix`, ascending; `limit` is a hint (the caller stops there). */
  keys(bucket: string, prefix: Uint8Array | undefined, limit: number): AsyncIterable<Uint8Array>
  buckets(): AsyncIterable<string>
  /**
   * One `value_log_gc` pass: compacts the ranges of `due` (`all`: of every bucket) so that deleted
   * entries leave the files. A compaction that fails does not stop the others. With `list`, a
   * whole-keyspace pass lists the buckets it compacted (without, `compacted` may be left empty).
   */
  gc(due: readonly string[] | 'all', list: boolean): Promise<GcOutcome>
  /** Scans every bucket for `stats()`. */
  stats(top: TopKeys): Promise<BucketStats[]>
  /** Writes what is queued and closes every database. */
  close(): Promise<void>
}
