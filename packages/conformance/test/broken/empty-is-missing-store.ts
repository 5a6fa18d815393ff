import { MemoryStore } from '@kv/core'

/** Broken on purpose (SPEC §3.2): writing an empty value deletes the key instead. */
export class EmptyIsMissingStore extends MemoryStore {
  protected override _put(bucket: string, key: Uint8Array, value: Uint8Array): void {
    if (value.length === 0) this._delete(bucket, key)
    else super._put(bucket, key, value)
  }
}
