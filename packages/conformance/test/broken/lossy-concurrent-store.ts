import {
  AbstractKVStore,
  compareBytes,
  decodeKey,
  encodeKey,
  keyRange,
  type NormalizedKeysOptions,
  utf8,
} from '@kv/core'

const id = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1')
const bytesOf = (name: string): Uint8Array => new Uint8Array(Buffer.from(name, 'latin1'))

/**
 * Broken on purpose (SPEC §3.6): each write copies the whole map, waits (as if for I/O), then
 * installs its copy — so of two writes in flight, the later one discards the earlier one's
 * change. Sequential use is correct.
 */
export class LossyConcurrentStore extends AbstractKVStore {
  #entries = new Map<string, Uint8Array>()

  constructor() {
    super('lossy', { maxValueBytes: 64 * 1024 * 1024 })
  }

  async #update(change: (snapshot: Map<string, Uint8Array>) => void): Promise<void> {
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
    return this.#entries.get(id(encodeKey(bucket, key)))?.slice() ?? null
  }
  protected _put(bucket: string, key: Uint8Array, value: Uint8Array): Promise<void> {
    const copy = value.slice()
    const name = id(encodeKey(bucket, key))
    return this.#update((snapshot) => snapshot.set(name, copy))
  }
  protected _delete(bucket: string, key: Uint8Array): Promise<void> {
    const name = id(encodeKey(bucket, key))
    return this.#update((snapshot) => snapshot.delete(name))
  }
  protected _deleteBucket(bucket: string): Promise<void> {
    return this.#update((snapshot) => {
      for (const name of [...snapshot.keys()])
        if (decodeKey(bytesOf(name)).bucket === bucket) snapshot.delete(name)
    })
  }
  protected *_keys(bucket: string, { prefix }: NormalizedKeysOptions): Iterable<Uint8Array> {
    const { gte, lt } = keyRange(bucket, prefix)
    const names = [...this.#entries.keys()]
      .map(bytesOf)
      .filter(
        (name) => compareBytes(name, gte) >= 0 && (lt === undefined || compareBytes(name, lt) < 0),
      )
      .sort(compareBytes)
    for (const name of names) yield decodeKey(name).key.slice()
  }
  protected *_buckets(): Iterable<string> {
    const names = new Set([...this.#entries.keys()].map((name) => decodeKey(bytesOf(name)).bucket))
    yield* [...names].sort((a, b) => compareBytes(utf8(a), utf8(b)))
  }
}
