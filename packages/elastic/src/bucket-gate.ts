/**
 * Issue order between `deleteBucket(b)` and this store's writes and deletes of `b`, as in every
 * other backend: those issued before the call are deleted, those issued after it survive.
 *
 * Elasticsearch does not give that order by itself. Writes travel in coalesced `_bulk` requests
 * sent on a later turn of the event loop, while deleteBucket() refreshes and then deletes by
 * query, which deletes whatever the refresh made searchable. A write issued before the call could
 * reach the cluster after the refresh and survive; one issued after it could reach the cluster
 * before the refresh (or before another refresh, periodic or by another client, that precedes the
 * delete-by-query's search), be acknowledged, and then be deleted. So a deleteBucket() waits until
 * this store's writes and deletes of the bucket issued before it have settled, and those issued
 * while it runs wait until it has settled.
 *
 * Under `id_scheme: infini` an entry of another bucket can hold a write's document id (see
 * collision.ts). Such an entry whose bucket a deleteBucket() issued before the write is deleting
 * is, in issue order, already gone: {@link BucketGate.mark} and
 * {@link BucketGate.deletionIssuedBefore} let the write wait for that deletion instead of
 * refusing. The other way round, a write issued before a deleteBucket() meets the entries of the
 * deleted bucket, whatever its own bucket: so under `infini` (the gate made with `acrossBuckets`)
 * a deleteBucket() waits for this store's writes and deletes of every bucket issued before it,
 * not only those of its own bucket. Without that, a deletion could overtake an earlier write of
 * the colliding bucket still queued (behind a deletion of its own bucket, or behind another write
 * of its id), which would then find the id free instead of refused.
 *
 * No wait can close a cycle: a write or delete waits only for a deletion of its bucket issued
 * before it, for the tasks of its id issued before it (IdSequencer), and for a deletion of the
 * colliding bucket issued before it (deletionIssuedBefore); a deletion waits only for writes,
 * deletes and deletions issued before it. Every wait points to an earlier call.
 *
 * @module
 */

interface Deletion {
  /** Its place among the deleteBucket() calls of every bucket, in issue order (from 1). */
  readonly issued: number
  /** Settles, always fulfilled, once the deletion has settled, failed or not. */
  readonly settled: Promise<void>
}

interface BucketState {
  /** Writes and deletes of the bucket not yet settled, those waiting for a deletion included. */
  readonly writes: Set<Promise<unknown>>
  /** The deleteBucket() calls of the bucket not yet settled, in issue order. */
  readonly deletions: Deletion[]
}

/**
 * Orders each bucket's writes and deletes against its deleteBucket() calls; with `acrossBuckets`,
 * every bucket's writes and deletes against every deleteBucket() call.
 */
export class BucketGate {
  readonly #buckets = new Map<string, BucketState>()
  /** How many deleteBucket() calls, of any bucket, have been given so far. */
  #issued = 0
  /**
   * With `acrossBuckets`: the writes and deletes of every bucket given since the last
   * deleteBucket() and not yet settled (those waiting for a deletion or behind others of their id
   * included); undefined without it.
   */
  readonly #sinceBarrier: Set<Promise<unknown>> | undefined
  /**
   * With `acrossBuckets`: settles once every write and delete given before the last
   * deleteBucket() has settled. Each deletion waits for it, and it is chained (the next barrier
   * waits for this one and for the writes given since), so every write is waited for once:
   * copying all pending writes into each deletion cost pending × deletions (10,000 writes and
   * 1,000 deletions: 7.6 s to issue, 1.7 GB).
   */
  #barrier: Promise<unknown> = Promise.resolve()

  /**
   * @param options.acrossBuckets a deleteBucket() also waits for the writes and deletes of every
   *   other bucket issued before it (`id_scheme: infini`, where they can collide with its
   *   entries). Without it, only for those of its own bucket.
   */
  constructor(options: { acrossBuckets?: boolean } = {}) {
    this.#sinceBarrier = options.acrossBuckets === true ? new Set() : undefined
  }

  /**
   * Runs `task`, a write or delete of `bucket`: at once (so that writes issued together are still
   * coalesced), or, while a deleteBucket() of the bucket is under way, once it has settled,
   * whether it failed or not.
   *
   * `queue` is called at once with the task as it must start (after that deletion); it returns
   * the task's result, for a caller that queues the task behind others of its own. It is called
   * now rather than once the deletion has settled so that the task's place in that queue is its
   * place in issue order.
   */
  write<T>(
    bucket: string,
    task: () => Promise<T>,
    queue: (start: () => Promise<T>) => Promise<T> = (start) => start(),
  ): Promise<T> {
    const state = this.#state(bucket)
    const deleting = state.deletions.at(-1)?.settled
    const result = queue(deleting === undefined ? task : () => deleting.then(task))
    state.writes.add(result)
    const since = this.#sinceBarrier
    since?.add(result)
    const settled = () => {
      state.writes.delete(result)
      since?.delete(result)
      this.#forget(bucket, state)
    }
    result.then(settled, settled)
    return result
  }

  /**
   * Runs `task`, the deletion of `bucket`, once every write and delete of the bucket given before
   * (of every bucket, with `acrossBuckets`), and a deleteBucket() of it before this one, has
   * settled, whether they failed or not; writes and deletes of the bucket given meanwhile wait
   * for it (see {@link write}); those of other buckets do not here (a write of the colliding
   * bucket may, through {@link deletionIssuedBefore}).
   */
  deleteBucket(bucket: string, task: () => Promise<void>): Promise<void> {
    const state = this.#state(bucket)
    // Only what is given before now: a write given later never makes this deletion wait.
    const barrier = this.#nextBarrier()
    const before: Promise<unknown>[] = barrier === undefined ? [...state.writes] : [barrier]
    const previous = state.deletions.at(-1)
    if (previous !== undefined) before.push(previous.settled)
    const result = before.length === 0 ? task() : Promise.allSettled(before).then(task)
    const deletion: Deletion = {
      issued: ++this.#issued,
      settled: result.then(
        () => {},
        () => {},
      ),
    }
    state.deletions.push(deletion)
    void deletion.settled.then(() => {
      state.deletions.splice(state.deletions.indexOf(deletion), 1)
      this.#forget(bucket, state)
    })
    return result
  }

  /**
   * With `acrossBuckets`, the barrier of a deleteBucket() given now: every write and delete given
   * before it, of any bucket (see {@link #barrier}); undefined without `acrossBuckets`.
   */
  #nextBarrier(): Promise<unknown> | undefined {
    const since = this.#sinceBarrier
    if (since === undefined) return undefined
    if (since.size > 0) {
      // Settled with nothing: the writes' results (and the barriers before) are not kept alive.
      this.#barrier = Promise.allSettled([this.#barrier, ...since]).then(() => {})
      since.clear()
    }
    return this.#barrier
  }

  /** A mark of the deleteBucket() calls given so far, for {@link deletionIssuedBefore}. */
  mark(): number {
    return this.#issued
  }

  /**
   * Settles once every deleteBucket() of `bucket` given before `mark` was taken has settled,
   * failed or not; undefined when none of them is still under way. (Deletions of one bucket run
   * one after another, so the last of them given before the mark is the one to wait for.)
   */
  deletionIssuedBefore(bucket: string, mark: number): Promise<void> | undefined {
    const deletions = this.#buckets.get(bucket)?.deletions ?? []
    return deletions.findLast((deletion) => deletion.issued <= mark)?.settled
  }

  #state(bucket: string): BucketState {
    let state = this.#buckets.get(bucket)
    if (state === undefined) {
      state = { writes: new Set(), deletions: [] }
      this.#buckets.set(bucket, state)
    }
    return state
  }

  /** Drops a bucket with nothing under way, so that the map holds only busy buckets. */
  #forget(bucket: string, state: BucketState): void {
    if (
      state.writes.size === 0 &&
      state.deletions.length === 0 &&
      this.#buckets.get(bucket) === state
    ) {
      this.#buckets.delete(bucket)
    }
  }
}
