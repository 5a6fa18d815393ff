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

interface Counts {
  writes: number
  deletes: number
}

/** Counts writes and deletes per bucket between two passes. */
export class GcTracker {
  #counts = new Map<string, Counts>()
  /** Buckets due at the next pass whatever their counts: a pass failed or put them off. */
  #again = new Set<string>()

  /** Records `count` puts (`deleted` false) or deletes (`deleted` true) in `bucket`. */
  record(bucket: string, deleted: boolean, count = 1): void {
    let counts = this.#counts.get(bucket)
    if (counts === undefined) this.#counts.set(bucket, (counts = { writes: 0, deletes: 0 }))
    counts.writes += count
    if (deleted) counts.deletes += count
  }

  /** Forgets a bucket (it was deleted and compacted). */
  forget(bucket: string): void {
    this.#counts.delete(bucket)
    this.#again.delete(bucket)
  }

  /** Makes `bucket` due at the next {@link take}, whatever is written meanwhile (its compaction failed or was put off). */
  retry(bucket: string): void {
    this.#again.add(bucket)
  }

  /** The buckets due for compaction, and starts counting afresh. */
  take(discardRatio: number): string[] {
    const due = new Set(this.#again)
    for (const [bucket, { writes, deletes }] of this.#counts) {
      if (deletes > 0 && deletes / writes >= discardRatio) due.add(bucket)
    }
    this.#counts = new Map()
    this.#again = new Set()
    return [...due]
  }
}
