/**
 * Counting entries per bucket by walking the keys (no values are read). Used for progress
 * totals, `kv stats` and migrate's verification.
 *
 * @module
 */
import type { KVStore } from '@kv/core'

/** Entries per bucket, in the store's bucket order. */
export type BucketCounts = Map<string, number>

/** Counts the keys of every bucket of `store`; stops early (returning what it has) when `stop()` says so. */
export async function countEntries(
  store: KVStore,
  stop: () => boolean = () => false,
): Promise<BucketCounts> {
  const counts: BucketCounts = new Map()
  for await (const bucket of store.buckets()) {
    counts.set(bucket, await countBucket(store, bucket, stop))
    if (stop()) break
  }
  return counts
}

/** Counts the keys of one bucket. */
export async function countBucket(
  store: KVStore,
  bucket: string,
  stop: () => boolean = () => false,
): Promise<number> {
  let n = 0
  for await (const _ of store.keys(bucket)) {
    n++
    // Checking every key would cost more than the count itself.
    if ((n & 0xfff) === 0 && stop()) break
  }
  return n
}

/** The sum of the counts. */
export function total(counts: BucketCounts): number {
  let sum = 0
  for (const n of counts.values()) sum += n
  return sum
}
