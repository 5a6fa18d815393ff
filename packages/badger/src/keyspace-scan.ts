/**
 * Reads of a whole single keyspace (single-bucket and memory mode) split by bucket: the bucket
 * listing and the `stats()` scan. Each reads many buckets with one iterator: a LevelDB iterator
 * costs several round trips to the thread pool (create, read, close), which an iterator per
 * bucket paid for every bucket (1e5 buckets of one key: 19 s for `buckets()`, 38 s for `stats()`).
 *
 * A bucket's keys are one contiguous range that starts with its prefix (@kv/core's composite
 * encoding), and no other bucket's key starts with that prefix: a key that does not is the first
 * of the next bucket.
 *
 * @module
 */
import { afterBucket, bucketPrefix, decodeBucket, startsWith } from '@kv/core'
import { type LevelDb, runtimeError } from './engine.js'
import { type BucketStats, eachEntry, type TopKeys } from './stats.js'

/** The most keys the listing reads in one round trip while it looks for the next bucket. */
const MAX_BATCH = 256

/** One page of the bucket listing: the names found, and whether the keyspace ends after them. */
export interface BucketPage {
  names: string[]
  done: boolean
}

/**
 * The buckets from `from` on (from the first when undefined), in order, read with one iterator:
 * at least `count` of them unless the keyspace ends first. Keys are read a batch at a time; after
 * each batch the iterator seeks past the last bucket found, skipping the rest of its keys. The
 * batch grows while batches hold many buckets (small buckets: a few round trips for many) and
 * shrinks while they hold one (large buckets: no more keys read than needed to find the next).
 */
export async function readBuckets(
  db: LevelDb,
  from: Uint8Array | undefined,
  count: number,
): Promise<BucketPage> {
  const iterator = db.keys(from === undefined ? {} : { gte: from })
  const names: string[] = []
  let batch = Math.min(count, MAX_BATCH)
  try {
    while (names.length < count) {
      const keys = await iterator.nextv(batch).then(undefined, (error: unknown) => {
        throw runtimeError(error, db, 'read')
      })
      // nextv may return fewer than asked before the end; only an empty batch is the end.
      if (keys.length === 0) return { names, done: true }
      let prefix: Uint8Array | undefined
      let found = 0
      for (const key of keys) {
        if (prefix !== undefined && startsWith(key, prefix)) continue
        const name = decodeBucket(key)
        names.push(name)
        prefix = bucketPrefix(name)
        found++
      }
      iterator.seek(afterBucket(names[names.length - 1]!))
      batch = found * 2 > batch ? Math.min(batch * 2, MAX_BATCH) : Math.max(batch >> 1, 1)
    }
    return { names, done: false }
  } finally {
    await iterator.close()
  }
}

/** One bucket's figures as scanned, with its prefix and what it takes in the database. */
interface Scanned extends Omit<BucketStats, 'approximateDiskBytes'> {
  prefix: Uint8Array
  /** Bytes of its entries as stored (composite keys and values): its weight in a shared estimate. */
  stored: number
}

/**
 * Every bucket's figures, from one scan of the keyspace with one iterator (without filling
 * LevelDB's cache), which reads a snapshot of the database as it was when the scan began. The
 * largest values are offered to `top`. `sized`: with LevelDB's estimates of the file space
 * (see {@link estimateSizes}); otherwise `approximateDiskBytes` is undefined (memory mode).
 */
export async function scanBuckets(
  db: LevelDb,
  top: TopKeys,
  sized: boolean,
): Promise<BucketStats[]> {
  const scanned: Scanned[] = []
  let current: Scanned | undefined
  await eachEntry(db, {}, (key, value) => {
    if (current === undefined || !startsWith(key, current.prefix)) {
      const bucket = decodeBucket(key)
      current = {
        bucket,
        prefix: bucketPrefix(bucket),
        keys: 0,
        keyBytes: 0,
        valueBytes: 0,
        stored: 0,
      }
      scanned.push(current)
    }
    const strip = current.prefix.length
    current.keys++
    current.keyBytes += key.length - strip
    current.valueBytes += value.length
    current.stored += key.length + value.length
    if (value.length >= top.threshold) top.offer(current.bucket, key.subarray(strip), value.length)
  })
  const sizes = sized ? await estimateSizes(db, scanned) : undefined
  return scanned.map(({ bucket, keys, keyBytes, valueBytes }, i) => ({
    bucket,
    keys,
    keyBytes,
    valueBytes,
    approximateDiskBytes: sizes?.[i],
  }))
}

/**
 * A bucket storing less than this shares one LevelDB estimate with its neighbours (see
 * {@link estimateSizes}). LevelDB estimates a range from the positions of its ends in the table
 * files, to the block (4 KiB before compression): it cannot tell apart buckets much smaller.
 */
const SHARED_ESTIMATE_BYTES = 256 * 1024

/**
 * LevelDB's estimate of the file space of each bucket's range. A bucket of at least
 * {@link SHARED_ESTIMATE_BYTES} gets the estimate of its own range, as before. Smaller consecutive
 * buckets are grouped into runs of about that many bytes, and each run's estimate is shared among
 * its buckets in proportion to the bytes each stores, so that 1e5 small buckets cost a few dozen
 * estimates rather than 1e5 round trips; the estimates of all the buckets still add up to
 * LevelDB's estimate of the ranges they span.
 */
async function estimateSizes(db: LevelDb, scanned: readonly Scanned[]): Promise<number[]> {
  const sizes = new Array<number>(scanned.length).fill(0)
  let first = 0
  let runBytes = 0
  const share = async (end: number): Promise<void> => {
    if (end === first) return
    const total = await db.approximateSize(
      scanned[first]!.prefix,
      afterBucket(scanned[end - 1]!.bucket),
    )
    // Cumulative rounding: the shares add up to the total exactly.
    let given = 0
    let weight = 0
    for (let i = first; i < end; i++) {
      weight += scanned[i]!.stored
      const upTo = runBytes === 0 ? total : Math.round((total * weight) / runBytes)
      sizes[i] = upTo - given
      given = upTo
    }
  }
  for (let i = 0; i < scanned.length; i++) {
    const { stored } = scanned[i]!
    if (stored >= SHARED_ESTIMATE_BYTES) {
      await share(i)
      sizes[i] = await db.approximateSize(scanned[i]!.prefix, afterBucket(scanned[i]!.bucket))
      first = i + 1
      runBytes = 0
      continue
    }
    runBytes += stored
    if (runBytes >= SHARED_ESTIMATE_BYTES) {
      await share(i + 1)
      first = i + 1
      runBytes = 0
    }
  }
  await share(scanned.length)
  return sizes
}
