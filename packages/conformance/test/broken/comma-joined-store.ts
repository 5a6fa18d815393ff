import {
  AbstractKVStore,
  compareBytes,
  type NormalizedKeysOptions,
  startsWith,
  utf8,
} from '@kv/core'

const COMMA = 0x2c
const id = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1')
const joined = (bucket: string, key: Uint8Array): string =>
  id(Uint8Array.from([...utf8(bucket), COMMA, ...key]))

/**
 * Broken on purpose (SPEC §3.4): keeps every entry in one map under `bucket + "," + key`, as the
 * Go framework does, so bucket `a,b` key `c` and bucket `a` key `b,c` are the same entry.
 */
export class CommaJoinedStore extends AbstractKVStore {
  #entries = new Map<string, Uint8Array>()
  /** In memory: nothing outlives close() (the suite checks that stores say so). */
  readonly persistent = false

  constructor() {
    super('comma-joined', { maxValueBytes: 64 * 1024 * 1024 })
  }

  protected async _open(): Promise<void> {}
  protected async _close(): Promise<void> {
    this.#entries = new Map()
  }
  protected _get(bucket: string, key: Uint8Array): Uint8Array | null {
    const stored = this.#entries.get(joined(bucket, key))
    return stored === undefined ? null : new Uint8Array(stored)
  }
  protected _put(bucket: string, key: Uint8Array, value: Uint8Array): void {
    this.#entries.set(joined(bucket, key), new Uint8Array(value))
  }
  protected _delete(bucket: string, key: Uint8Array): void {
    this.#entries.delete(joined(bucket, key))
  }
  protected _deleteBucket(bucket: string): void {
    for (const name of [...this.#entries.keys()])
      if (name.startsWith(joined(bucket, new Uint8Array()))) this.#entries.delete(name)
  }
  protected *_keys(bucket: string, { prefix }: NormalizedKeysOptions): Iterable<Uint8Array> {
    const start = joined(bucket, new Uint8Array()).length
    const keys = [...this.#entries.keys()]
      .filter((name) => name.startsWith(joined(bucket, new Uint8Array())))
      .map((name) => new Uint8Array(Buffer.from(name.slice(start), 'latin1')))
      .filter((key) => prefix === undefined || startsWith(key, prefix))
    yield* keys.sort(compareBytes)
  }
  protected *_buckets(): Iterable<string> {
    const names = new Set<string>()
    for (const name of this.#entries.keys()) {
      const bytes = Buffer.from(name, 'latin1')
      names.add(bytes.subarray(0, bytes.indexOf(COMMA)).toString('utf8'))
    }
    yield* [...names].sort((a, b) => compareBytes(utf8(a), utf8(b)))
  }
}
