/**
 * `MemoryStore`: a small in-memory backend. Useful in application tests, and the reference the
 * conformance suite is checked against. Nothing survives `close()` unless `persistAcrossClose`
 * is set (then the data lives as long as the object, which lets the suite's persistence tests
 * run against it).
 *
 * @module
 */
import { compareBytes, copyBytes, latin1Id } from './bytes.js'
import { InvalidArgumentError } from './errors.js'
import { AbstractKVStore, type BaseConfig } from './store.js'
import { type NormalizedKeysOptions, shown } from './validate.js'

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions extends BaseConfig {
  /** Largest value in bytes (default 64 MiB). */
  maxValueBytes?: number
  /** Keep the data when the store is closed and opened again (default false). */
  persistAcrossClose?: boolean
}

/** The default of {@link MemoryStoreOptions.maxValueBytes}: 64 MiB. */
const DEFAULT_MAX_VALUE_BYTES = 64 * 1024 * 1024

/** The name {@link MemoryStore} uses when registered. */
export const MEMORY_STORE_NAME = 'memory'

// Keys are held as latin1 strings (`latin1Id`): one character per byte, so string order is byte
// order and a Map lookup needs no custom hashing.
const fromId = (id: string): Uint8Array => new Uint8Array(Buffer.from(id, 'latin1'))

/** An in-memory store: buckets of keys in maps, values copied in and out. */
export class MemoryStore extends AbstractKVStore<MemoryStoreOptions> {
  #buckets = new Map<string, Map<string, Uint8Array>>()
  readonly #persist: boolean
  /** Always false: the data lives in this process only (with `persistAcrossClose`, across `close()` but never beyond the process). */
  readonly persistent = false

  /** Throws `KV_INVALID_ARGUMENT` for an option of the wrong kind; nothing else is checked. */
  constructor(options: MemoryStoreOptions = {}) {
    const { maxValueBytes = DEFAULT_MAX_VALUE_BYTES, persistAcrossClose = false } = options
    if (!Number.isSafeInteger(maxValueBytes) || maxValueBytes < 0) {
      throw new InvalidArgumentError(
        'maxValueBytes',
        `MemoryStore's maxValueBytes must be a whole number of bytes, 0 or more; got ${shown(maxValueBytes)}.`,
      )
    }
    if (typeof persistAcrossClose !== 'boolean') {
      throw new InvalidArgumentError(
        'persistAcrossClose',
        `MemoryStore's persistAcrossClose must be true or false; got ${shown(persistAcrossClose)}.`,
      )
    }
    super(MEMORY_STORE_NAME, { options, maxValueBytes })
    this.#persist = persistAcrossClose
  }

  protected async _open(): Promise<void> {}

  protected async _close(): Promise<void> {
    if (!this.#persist) this.#buckets = new Map()
  }

  protected _get(bucket: string, key: Uint8Array): Uint8Array | null {
    const stored = this.#buckets.get(bucket)?.get(latin1Id(key))
    return stored === undefined ? null : copyBytes(stored)
  }

  protected override _has(bucket: string, key: Uint8Array): boolean {
    return this.#buckets.get(bucket)?.has(latin1Id(key)) ?? false
  }

  protected _put(bucket: string, key: Uint8Array, value: Uint8Array): void {
    let entries = this.#buckets.get(bucket)
    if (entries === undefined) this.#buckets.set(bucket, (entries = new Map()))
    entries.set(latin1Id(key), copyBytes(value))
  }

  protected _delete(bucket: string, key: Uint8Array): void {
    const entries = this.#buckets.get(bucket)
    if (entries === undefined) return
    entries.delete(latin1Id(key))
    if (entries.size === 0) this.#buckets.delete(bucket)
  }

  protected _deleteBucket(bucket: string): void {
    this.#buckets.delete(bucket)
  }

  protected *_keys(bucket: string, { prefix }: NormalizedKeysOptions): Iterable<Uint8Array> {
    const entries = this.#buckets.get(bucket)
    if (entries === undefined) return
    const wanted = prefix === undefined ? '' : latin1Id(prefix)
    const ids = [...entries.keys()].filter((id) => id.startsWith(wanted)).sort()
    for (const id of ids) yield fromId(id)
  }

  protected *_buckets(): Iterable<string> {
    const encoder = new TextEncoder()
    const names = [...this.#buckets.keys()].map((name) => ({ name, bytes: encoder.encode(name) }))
    names.sort((a, b) => compareBytes(a.bytes, b.bytes))
    for (const { name } of names) yield name
  }
}
