import { AbstractKVStore, type NormalizedKeysOptions } from '@kv/core'
import {
  bucketsIn,
  deleteBucketIn,
  type EncodedEntries,
  entryId,
  keysIn,
} from './encoded-entries.js'

/**
 * Broken on purpose (SPEC §3.6): each write copies the whole map, waits (as if for I/O), then
 * installs its copy — so of two writes in flight, the later one discards the earlier one's
 * change. Sequential use is correct.
 */
export class LossyConcurrentStore extends AbstractKVStore {
  #entries: EncodedEntries = new Map()
  /** In memory: nothing outlives close() (the suite checks that stores say so). */
  readonly persistent = false

  constructor() {
    super('lossy', { maxValueBytes: 64 * 1024 * 1024 })
  }

  async #update(change: (snapshot: EncodedEntries) => void): Promise<void> {
    const snapshot = new Map(this.#entries)
    await new Promise<void>((resolve) => setImmediate(resolve))
    change(snapshot)
    this.#entries = snapshot
  }

  protected async _open(): Promise<void> {}
  protected async _close(): Promise<void> {
    this.#entries = new Map()
  }
  protected _get(bucket: string, key: Uint8Array): Uint8Array | null {
    const stored = this.#entries.get(entryId(bucket, key))
    return stored === undefined ? null : new Uint8Array(stored)
  }
  protected _put(bucket: string, key: Uint8Array, value: Uint8Array): Promise<void> {
    const copy = new Uint8Array(value)
    const name = entryId(bucket, key)
    return this.#update((snapshot) => snapshot.set(name, copy))
  }
  protected _delete(bucket: string, key: Uint8Array): Promise<void> {
    const name = entryId(bucket, key)
    return this.#update((snapshot) => snapshot.delete(name))
  }
  protected _deleteBucket(bucket: string): Promise<void> {
    return this.#update((snapshot) => deleteBucketIn(snapshot, bucket))
  }
  protected _keys(bucket: string, { prefix }: NormalizedKeysOptions): Iterable<Uint8Array> {
    return keysIn(this.#entries, bucket, prefix)
  }
  protected _buckets(): Iterable<string> {
    return bucketsIn(this.#entries)
  }
}
