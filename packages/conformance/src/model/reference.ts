/**
 * The reference model: plain maps of what a correct store holds, and what each read must return.
 * Orders and prefixes are Node's (harness/data.ts), not @kv/core's helpers that backends use.
 *
 * @module
 */
import { decompress } from '@kv/core'
import { hex } from '../harness/assertions.js'
import { byteOrder, hasPrefix, sortedByUtf8 } from '../harness/data.js'

interface Entry {
  key: Uint8Array
  /** The bytes `getValue` returns. */
  stored: Uint8Array
}

/** What `getCompressedValue` must do: return these bytes, or reject as corrupt. */
export type CompressedRead = { value: Uint8Array | null } | { corrupt: true }

/** A correct store, in memory: bucket → hex(key) → entry. */
export class ReferenceModel {
  readonly #buckets = new Map<string, Map<string, Entry>>()

  put(bucket: string, key: Uint8Array, stored: Uint8Array): void {
    let entries = this.#buckets.get(bucket)
    if (entries === undefined) this.#buckets.set(bucket, (entries = new Map()))
    entries.set(hex(key), { key, stored })
  }

  get(bucket: string, key: Uint8Array): Uint8Array | null {
    return this.#buckets.get(bucket)?.get(hex(key))?.stored ?? null
  }

  /** `getCompressedValue`: the decoded bytes, null, or corrupt (decided by @kv/core's decoder). */
  getCompressed(bucket: string, key: Uint8Array): CompressedRead {
    const stored = this.get(bucket, key)
    if (stored === null) return { value: null }
    try {
      return { value: decompress(stored) }
    } catch {
      return { corrupt: true }
    }
  }

  delete(bucket: string, key: Uint8Array): void {
    const entries = this.#buckets.get(bucket)
    entries?.delete(hex(key))
    if (entries?.size === 0) this.#buckets.delete(bucket)
  }

  deleteBucket(bucket: string): void {
    this.#buckets.delete(bucket)
  }

  keys(bucket: string, prefix: Uint8Array | undefined, limit: number | undefined): Uint8Array[] {
    const keys = [...(this.#buckets.get(bucket)?.values() ?? [])]
      .map((entry) => entry.key)
      .filter((key) => prefix === undefined || hasPrefix(key, prefix))
      .sort(byteOrder)
    return limit === undefined ? keys : keys.slice(0, limit)
  }

  buckets(): string[] {
    return sortedByUtf8([...this.#buckets.keys()])
  }
}
