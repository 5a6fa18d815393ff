import { type Entry, MemoryStore } from '@kv/core'
import { entryId } from './encoded-entries.js'

/**
 * Broken on purpose (SPEC §3.6): a persistent store whose `addValues` entries are never made
 * durable — as a batch left in a buffer that is never flushed — so `close()` loses every entry
 * written by `addValues` since the last close that no single write has replaced. Single writes,
 * deletes and everything else are MemoryStore's (with `persistAcrossClose`), and correct.
 */
export class VolatileBatchStore extends MemoryStore {
  /** The entries `close()` will lose: written by `addValues`, not rewritten by `addValue` since. */
  readonly #unflushed = new Map<string, readonly [bucket: string, key: Uint8Array]>()

  constructor() {
    super({ persistAcrossClose: true })
  }

  protected override _putMany(bucket: string, entries: readonly Entry[]): void {
    for (const [key, value] of entries) {
      super._put(bucket, key, value)
      this.#unflushed.set(entryId(bucket, key), [bucket, key.slice()])
    }
  }

  protected override _put(bucket: string, key: Uint8Array, value: Uint8Array): void {
    super._put(bucket, key, value)
    this.#unflushed.delete(entryId(bucket, key))
  }

  protected override async _close(): Promise<void> {
    for (const [bucket, key] of this.#unflushed.values()) super._delete(bucket, key)
    this.#unflushed.clear()
    await super._close()
  }
}
