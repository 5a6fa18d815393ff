import { compareBytes, decodeKey, encodeKey, keyRange, utf8 } from '@kv/core'

/**
 * The map some of the broken stores keep their entries in: core's composite key (bucket and key,
 * unambiguous and in byte order), as latin1 text, to the value. Only what each store breaks is
 * its own; listing and dropping buckets are done here, correctly.
 */
export type EncodedEntries = Map<string, Uint8Array>

const bytesOf = (name: string): Uint8Array => new Uint8Array(Buffer.from(name, 'latin1'))

/** The map key of (`bucket`, `key`). */
export function entryId(bucket: string, key: Uint8Array): string {
  return Buffer.from(encodeKey(bucket, key)).toString('latin1')
}

/** The keys of `bucket` that start with `prefix`, in byte order, as copies. */
export function keysIn(
  entries: EncodedEntries,
  bucket: string,
  prefix: Uint8Array | undefined,
): Uint8Array[] {
  const { gte, lt } = keyRange(bucket, prefix)
  return [...entries.keys()]
    .map(bytesOf)
    .filter(
      (name) => compareBytes(name, gte) >= 0 && (lt === undefined || compareBytes(name, lt) < 0),
    )
    .sort(compareBytes)
    .map((name) => decodeKey(name).key.slice())
}

/** The buckets that hold an entry, in the order of their UTF-8 bytes. */
export function bucketsIn(entries: EncodedEntries): string[] {
  const names = new Set([...entries.keys()].map((name) => decodeKey(bytesOf(name)).bucket))
  return [...names].sort((a, b) => compareBytes(utf8(a), utf8(b)))
}

/** Removes every entry of `bucket`. */
export function deleteBucketIn(entries: EncodedEntries, bucket: string): void {
  for (const name of [...entries.keys()])
    if (decodeKey(bytesOf(name)).bucket === bucket) entries.delete(name)
}
