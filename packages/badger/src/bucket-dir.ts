/**
 * The directory name of a bucket in per-bucket mode (`single_bucket_mode: false`).
 *
 * A bucket name may be anything of up to 255 bytes of UTF-8: `..`, `a/b`, NUL, control
 * characters, names that differ only in case or in Unicode normalisation. The directory name is
 * derived so that it is
 * - a single path component of lowercase ASCII letters, digits and `-` only: it cannot leave the
 *   parent directory, and means the same on a case-insensitive or normalising file system;
 * - injective: two different names (compared as UTF-8 bytes) never share a directory;
 * - at most 255 bytes, the limit of common file systems.
 *
 * Names of up to {@link MAX_HEX_NAME_BYTES} bytes become `b-` and the lowercase hex of their
 * UTF-8 (reversible); longer names become `h-` and the SHA-256 of their UTF-8 in hex. The real
 * name is also written to a file in the directory, which is how `buckets()` lists buckets; a
 * name file that does not derive back to its directory's name is ignored.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { utf8 } from '@kv/core'

/** Names up to this many UTF-8 bytes are spelled out in hex (2 + 2 × 120 = 242 characters). */
export const MAX_HEX_NAME_BYTES = 120

const HEX_PREFIX = 'b-'
const HASH_PREFIX = 'h-'

/** The directory name of `bucket` (see the module comment). */
export function bucketDirName(bucket: string): string {
  const bytes = utf8(bucket)
  if (bytes.length <= MAX_HEX_NAME_BYTES) return HEX_PREFIX + Buffer.from(bytes).toString('hex')
  return HASH_PREFIX + createHash('sha256').update(bytes).digest('hex')
}

/** True when `name` has the shape of a directory {@link bucketDirName} produces. */
export function isBucketDirName(name: string): boolean {
  return /^b-(?:[0-9a-f]{2})+$/.test(name) || /^h-[0-9a-f]{64}$/.test(name)
}
