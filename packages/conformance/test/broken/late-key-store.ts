import { AbstractKVStore, type NormalizedKeysOptions } from '@kv/core'
import {
  bucketsIn,
  deleteBucketIn,
  type EncodedEntries,
  entryId,
  keysIn,
} from './encoded-entries.js'

const aTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/**
 * Broken on purpose: its reads and writes wait a turn before they look at the key, so they act
 * on whatever the buffer holds by then — the caller's next bytes, or the next string key core
 * encoded into the same buffer. Values are copied at once; awaited one at a time, it is correct.
 */
export class LateKeyStore extends AbstractKVStore {
  #entries: EncodedEntries = new Map()
  /** In memory: nothing outlives close() (the suite checks that stores say so). */
  readonly persistent = false

  constructor() {
    super('late-key', { maxValueBytes: 64 * 1024 * 1024 })
  }

  protected async _open(): Promise<void> {}
  protected async _close(): Promise<void> {
    this.#entries = new Map()
  }
  protected async _get(bucket: string, key: Uint8Array): Promise<Uint8Array | null> {
    await aTurn()
    const stored = this.#entries.get(entryId(bucket, key))
    return stored === undefined ? null : new Uint8Array(stored)
  }
  protected async _put(bucket: string, key: Uint8Array, value: Uint8Array): Promise<void> {
    const copy = new Uint8Array(value)
    await aTurn()
    this.#entries.set(entryId(bucket, key), copy)
  }
  protected async _delete(bucket: string, key: Uint8Array): Promise<void> {
    await aTurn()
    this.#entries.delete(entryId(bucket, key))
  }
  protected _deleteBucket(bucket: string): void {
    deleteBucketIn(this.#entries, bucket)
  }
  protected _keys(bucket: string, { prefix }: NormalizedKeysOptions): Iterable<Uint8Array> {
    return keysIn(this.#entries, bucket, prefix)
  }
  protected _buckets(): Iterable<string> {
    return bucketsIn(this.#entries)
  }
}
