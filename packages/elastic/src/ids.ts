/**
 * Document ids (SPEC §6).
 *
 * - `default`: lowercase hex SHA-256 of core's composite key `encodeKey(bucket, key)` (the bucket's
 *   UTF-8 bytes with NUL escaped, a `00 01` terminator, then the key). That encoding is
 *   unambiguous, so distinct (bucket, key) pairs give distinct inputs, and a fixed 64-character
 *   id is well under Elasticsearch's 512-byte limit whatever the key's length.
 * - `infini`: lowercase hex MD5 of the bytes of `bucket + "_" + key`, exactly as the Go INFINI
 *   framework computes it, so both can share an index. It collides: bucket `a_b` key `c` and
 *   bucket `a` key `b_c` get the same id (see the README for what the backend does then).
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { encodeKey, utf8 } from '@kv/core'

/** The id schemes of the `id_scheme` option. */
export type IdScheme = 'default' | 'infini'

const UNDERSCORE = new Uint8Array([0x5f])

/** The `_id` of (`bucket`, `key`) under `scheme`. */
export function documentId(scheme: IdScheme, bucket: string, key: Uint8Array): string {
  if (scheme === 'infini') {
    return createHash('md5').update(utf8(bucket)).update(UNDERSCORE).update(key).digest('hex')
  }
  return createHash('sha256').update(encodeKey(bucket, key)).digest('hex')
}
