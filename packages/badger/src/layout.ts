/**
 * How buckets are laid out on the engine: {@link SingleKeyspace} (one database, buckets under a
 * prefix; also memory mode) or {@link PerBucket} (one database per bucket directory). The store
 * delegates every operation to its layout.
 *
 * @module
 */
import type { Entry, MaybePromise } from '@kv/core'
import type { BucketStats, TopKeys } from './stats.js'

/** What the store needs from a layout. Arguments are already validated by @kv/core. */
export interface Layout {
  get(bucket: string, key: Uint8Array): MaybePromise<Uint8Array | null>
  has(bucket: string, key: Uint8Array): MaybePromise<boolean>
  put(bucket: string, key: Uint8Array, value: Uint8Array): Promise<void>
  /** Stores the entries of one bucket as one LevelDB batch. */
  putMany(bucket: string, entries: readonly Entry[]): Promise<void>
  del(bucket: string, key: Uint8Array): Promise<void>
  /** Removes the bucket's keys and gives their space back to the file system. */
  deleteBucket(bucket: string): Promise<void>
  /** The bucket's keys with `prefix`, ascending; `limit` is a hint (the caller stops there). */
  keys(bucket: string, prefix: Uint8Array | undefined, limit: number): AsyncIterable<Uint8Array>
  buckets(): AsyncIterable<string>
  /**
   * Compacts the bucket's range so that deleted entries leave the files. Resolves false when it
   * did not, to be tried again by a later pass (per-bucket mode: the bucket is being opened,
   * created or deleted).
   */
  compact(bucket: string): Promise<boolean>
  /** Scans every bucket for `stats()`. */
  stats(top: TopKeys): Promise<BucketStats[]>
  /** Writes what is queued and closes every database. */
  close(): Promise<void>
}
