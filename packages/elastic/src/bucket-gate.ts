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
 * @module
 */

interface BucketState {
  /** Writes and deletes of the bucket not yet settled, those waiting for a deletion included. */
  readonly writes: Set<Promise<unknown>>
  /** The deleteBucket() of the bucket issued last, until it settles. */
  deleting: Promise<unknown> | undefined
}

/** Orders each bucket's writes and deletes against its deleteBucket() calls. */
export class BucketGate {
  readonly #buckets = new Map<string, BucketState>()

  /**
   * Runs `task`, a write or delete of `bucket`: at once (so that writes issued together are still
   * coalesced), or, while a deleteBucket() of the bucket is under way, once it has settled,
   * whether it failed or not.
   */
  write<T>(bucket: string, task: () => Promise<T>): Promise<T> {
    const state = this.#state(bucket)
    const result = state.deleting === undefined ? task() : state.deleting.then(task, task)
    state.writes.add(result)
    const settled = () => {
      state.writes.delete(result)
      this.#forget(bucket, state)
    }
    result.then(settled, settled)
    return result
  }

  /**
   * Runs `task`, the deletion of `bucket`, once every write and delete of the bucket given before
   * (and a deleteBucket() of it before this one) has settled, whether they failed or not; writes
   * and deletes given meanwhile wait for it (see {@link write}).
   */
  deleteBucket(bucket: string, task: () => Promise<void>): Promise<void> {
    const state = this.#state(bucket)
    const before: Promise<unknown>[] = [...state.writes]
    if (state.deleting !== undefined) before.push(state.deleting)
    const result = before.length === 0 ? task() : Promise.allSettled(before).then(task)
    state.deleting = result
    const settled = () => {
      if (state.deleting === result) state.deleting = undefined
      this.#forget(bucket, state)
    }
    result.then(settled, settled)
    return result
  }

  #state(bucket: string): BucketState {
    let state = this.#buckets.get(bucket)
    if (state === undefined) {
      state = { writes: new Set(), deleting: undefined }
      this.#buckets.set(bucket, state)
    }
    return state
  }

  /** Drops a bucket with nothing under way, so that the map holds only busy buckets. */
  #forget(bucket: string, state: BucketState): void {
    if (
      state.writes.size === 0 &&
      state.deleting === undefined &&
      this.#buckets.get(bucket) === state
    ) {
      this.#buckets.delete(bucket)
    }
  }
}
