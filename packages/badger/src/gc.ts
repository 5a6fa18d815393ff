/**
 * What `value_log_gc_*` does on LevelDB. Badger rewrites a value-log file once at least
 * `value_log_gc_discard_ratio` of it is garbage; LevelDB has no value log, but deletes leave
 * tombstones (and the deleted values) in its tables until a compaction reaches them, which for a
 * range that is no longer written to may be never. So every `value_log_gc_interval_in_seconds`
 * a pass compacts the range of each bucket in which at least `value_log_gc_discard_ratio` of the
 * writes since the previous pass were deletes. (`deleteBucket` compacts at once and needs no pass.)
 *
 * @module
 */

/**
 * At most this many buckets are counted between two passes. The counts live as long as nothing
 * takes them, which with `value_log_gc_enabled: false` is until a `runGc()` that may never come:
 * without a bound every bucket name ever written would stay in memory.
 */
export const GC_MAX_TRACKED = 100_000

interface Counts {
  writes: number
  deletes: number
}

/** What a pass is to compact: the buckets due, or (`all`) the whole keyspace. */
export type GcDue = { all: false; buckets: string[] } | { all: true }

/** Counts writes and deletes per bucket between two passes, for at most `limit` buckets. */
export class GcTracker {
  readonly #limit: number
  #counts = new Map<string, Counts>()
  /** Buckets due at the next pass whatever their counts: a pass failed or put them off. */
  #again = new Set<string>()
  /**
   * The counts overflowed (or a whole-keyspace pass failed): the next pass compacts everything,
   * so nothing is counted until then.
   */
  #all = false

  constructor(limit = GC_MAX_TRACKED) {
    this.#limit = limit
  }

  /** How many buckets are held (counted, or due again): what the bound applies to. */
  get size(): number {
    return this.#counts.size + this.#again.size
  }

  /** Records `count` puts (`deleted` false) or deletes (`deleted` true) in `bucket`. */
  record(bucket: string, deleted: boolean, count = 1): void {
    if (this.#all) return
    let counts = this.#counts.get(bucket)
    if (counts === undefined) {
      if (this.size >= this.#limit && !this.#makeRoom()) return
      this.#counts.set(bucket, (counts = { writes: 0, deletes: 0 }))
    }
    counts.writes += count
    if (deleted) counts.deletes += count
  }

  /**
   * Drops the buckets with no delete (a bucket is due only for its deletes, and writing it again
   * counts it afresh). When that leaves more than half of the limit, many buckets took deletes:
   * counting stops and the next pass compacts the whole keyspace. Half, so that each sweep frees
   * at least half the limit and sweeping costs O(1) per bucket recorded.
   */
  #makeRoom(): boolean {
    for (const [bucket, { deletes }] of this.#counts) if (deletes === 0) this.#counts.delete(bucket)
    if (this.size <= this.#limit / 2) return true
    this.#everything()
    return false
  }

  #everything(): void {
    this.#all = true
    this.#counts = new Map()
    this.#again = new Set()
  }

  /** Forgets a bucket (it was deleted and compacted). */
  forget(bucket: string): void {
    this.#counts.delete(bucket)
    this.#again.delete(bucket)
  }

  /** Makes `bucket` due at the next {@link take}, whatever is written meanwhile (its compaction failed or was put off). */
  retry(bucket: string): void {
    if (this.#all || this.#again.has(bucket)) return
    if (this.size >= this.#limit) this.#everything()
    else this.#again.add(bucket)
  }

  /** Makes the whole keyspace due at the next {@link take} (a whole-keyspace pass failed). */
  retryAll(): void {
    this.#everything()
  }

  /** What is due for compaction, and starts counting afresh. */
  take(discardRatio: number): GcDue {
    if (this.#all) {
      this.#all = false
      return { all: true }
    }
    const due = new Set(this.#again)
    for (const [bucket, { writes, deletes }] of this.#counts) {
      if (deletes > 0 && deletes / writes >= discardRatio) due.add(bucket)
    }
    this.#counts = new Map()
    this.#again = new Set()
    return { all: false, buckets: [...due] }
  }
}
