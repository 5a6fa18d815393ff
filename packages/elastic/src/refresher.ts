/**
 * Read-your-writes for listings without a refresh per write. Writes mark the index dirty;
 * keys() and buckets() (which read through search, near-real-time) first refresh the index when
 * it is dirty, or wait for a refresh already under way. deleteBucket() refreshes every time
 * ({@link Refresher.refreshNow}): what it does not see, it does not delete.
 *
 * @module
 */

/** Tracks whether this store wrote since its last refresh. */
export class Refresher {
  readonly #refresh: (timeoutMs?: number) => Promise<void>
  #dirty = false
  #running: Promise<void> | undefined

  /**
   * @param refresh sends one refresh request, bounded by `timeoutMs` when given (else by
   * `request_timeout_ms`).
   */
  constructor(refresh: (timeoutMs?: number) => Promise<void>) {
    this.#refresh = refresh
  }

  /** Records an acknowledged write. */
  markDirty(): void {
    this.#dirty = true
  }

  /**
   * Resolves once every write acknowledged before the call is searchable. `timeoutMs` bounds the
   * refresh it sends, if any, instead of `request_timeout_ms`.
   */
  async ensureFresh(timeoutMs?: number): Promise<void> {
    if (!this.#dirty) {
      // A refresh under way may have started after the last write: wait for it too.
      if (this.#running !== undefined) await this.#running
      return
    }
    await this.refreshNow(timeoutMs)
  }

  /**
   * Sends a refresh whether or not this store wrote: resolves once every write acknowledged
   * before the call, by this store or any other client, is searchable. `timeoutMs` bounds it
   * instead of `request_timeout_ms`.
   */
  async refreshNow(timeoutMs?: number): Promise<void> {
    this.#dirty = false
    const running = this.#refresh(timeoutMs)
    this.#running = running
    try {
      await running
    } catch (error) {
      this.#dirty = true
      throw error
    } finally {
      if (this.#running === running) this.#running = undefined
    }
  }
}
