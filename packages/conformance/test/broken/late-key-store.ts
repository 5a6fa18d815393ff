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
const aTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/**
 * Broken on purpose: its reads and writes wait a turn before they look at the key, so they act
 * on whatever the buffer holds by then — the caller's next bytes, or the next string key core
 * encoded into the same buffer. Values are copied at once; awaited one at a time, it is correct.
 */
export class LateKeyStore extends AbstractKVStore {
  #entries = new Map<string, Uint8Array>()

  constructor() {
    super('late-key', { maxValueBytes: 64 * 1024 * 1024 })
  }

  protected async _open(): Promise<void> {}
  protected async _close(): Promise<void> {
    this.#entries = new Map()
  }
  protected async _get(bucket: string, key: Uint8Array): Promise<Uint8Array | null> {
    await aTurn()
    return this.#entries.get(id(encodeKey(bucket, key)))?.slice() ?? null
  }
  protected async _put(bucket: string, key: Uint8Array, value: Uint8Array): Promise<void> {
    const copy = value.slice()
    await aTurn()
    this.#entries.set(id(encodeKey(bucket, key)), copy)
  }
  protected async _delete(bucket: string, key: Uint8Array): Promise<void> {
    await aTurn()
    this.#entries.delete(id(encodeKey(bucket, key)))
  }
  protected _deleteBucket(bucket: string): void {
    for (const name of [...this.#entries.keys()])
      if (decodeKey(bytesOf(name)).bucket === bucket) this.#entries.delete(name)
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
