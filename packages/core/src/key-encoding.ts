/**
 * One key space for (bucket, key) pairs (SPEC §3.4), for backends that keep every bucket in one
 * sorted store (LevelDB in single-bucket mode, a WAL, …).
 *
 * Layout: the bucket's UTF-8 bytes with every 0x00 written as `00 FF`, then the terminator
 * `00 01`, then the key's bytes unchanged.
 *
 * - Unambiguous: inside the bucket part a 0x00 is always followed by 0xFF (an escaped NUL) or
 *   0x01 (the end), so the first `00 01` ends the bucket whatever the key holds. Joining with a
 *   separator such as `,` (as the Go framework does) is not: bucket `a,b` key `c` and bucket `a`
 *   key `b,c` would meet.
 * - Order-preserving: all keys of one bucket share one prefix and sort by their own bytes, so a
 *   range scan over the prefix yields `keys()` in ascending byte order; and buckets sort by their
 *   own bytes too, because the terminator `00 01` sorts below any other continuation.
 *
 * @module
 */
import { fromUtf8, prefixSuccessor, utf8 } from './bytes.js'
import { CorruptStoreError } from './errors.js'

const ESCAPE = 0xff
const TERMINATOR = 0x01

/** The encoded bucket part: every key of `bucket` starts with these bytes. */
export function bucketPrefix(bucket: string): Uint8Array {
  const name = utf8(bucket)
  let zeros = 0
  for (const byte of name) if (byte === 0) zeros++
  const out = new Uint8Array(name.length + zeros + 2)
  let j = 0
  for (const byte of name) {
    out[j++] = byte
    if (byte === 0) out[j++] = ESCAPE
  }
  out[j++] = 0
  out[j] = TERMINATOR
  return out
}

/** The composite key of (`bucket`, `key`). */
export function encodeKey(bucket: string | Uint8Array, key: Uint8Array): Uint8Array {
  const prefix = typeof bucket === 'string' ? bucketPrefix(bucket) : bucket
  const out = new Uint8Array(prefix.length + key.length)
  out.set(prefix, 0)
  out.set(key, prefix.length)
  return out
}

/** Where the bucket part of `composite` ends (the index just after the terminator). */
function bucketEnd(composite: Uint8Array): number {
  for (let i = 0; i < composite.length - 1; i++) {
    if (composite[i] !== 0) continue
    const next = composite[i + 1]
    if (next === TERMINATOR) return i + 2
    if (next !== ESCAPE) break
    i++
  }
  throw new CorruptStoreError('a stored composite key has no valid bucket terminator')
}

/** Splits a composite key back into its bucket name and key. */
export function decodeKey(composite: Uint8Array): { bucket: string; key: Uint8Array } {
  const end = bucketEnd(composite)
  return { bucket: decodeBucketPrefix(composite.subarray(0, end)), key: composite.subarray(end) }
}

/** The bucket name of an encoded bucket part (with or without a key after it). */
export function decodeBucket(composite: Uint8Array): string {
  return decodeBucketPrefix(composite.subarray(0, bucketEnd(composite)))
}

function decodeBucketPrefix(prefix: Uint8Array): string {
  const name = new Uint8Array(prefix.length - 2)
  let j = 0
  for (let i = 0; i < prefix.length - 2; i++) {
    name[j++] = prefix[i]!
    if (prefix[i] === 0) i++ // skip the escape byte
  }
  try {
    return fromUtf8(name.subarray(0, j))
  } catch (error) {
    throw new CorruptStoreError(
      'a stored composite key has a bucket name that is not valid UTF-8',
      {
        cause: error,
      },
    )
  }
}

/** A half-open range `[gte, lt)` of composite keys. */
export interface KeyRange {
  gte: Uint8Array
  lt: Uint8Array
}

/**
 * The range holding every key of `bucket` that starts with `keyPrefix` (all keys of the bucket
 * when it is absent or empty).
 */
export function keyRange(bucket: string, keyPrefix?: Uint8Array): KeyRange {
  const prefix = bucketPrefix(bucket)
  const gte = keyPrefix && keyPrefix.length > 0 ? encodeKey(prefix, keyPrefix) : prefix
  // `gte` contains the terminator 00 01, so it is never all 0xFF and has a successor; for a key
  // prefix of 0xFF bytes that successor is the end of the bucket.
  return { gte, lt: prefixSuccessor(gte)! }
}

/** The first composite key after every key of `bucket`: where the next bucket can start. */
export function afterBucket(bucket: string): Uint8Array {
  // bucketPrefix ends with 00 01, so its successor (00 02) always exists.
  return prefixSuccessor(bucketPrefix(bucket))!
}
