/**
 * The hash table lz4js's `compressBlock` uses, shared by every call so that compressing a small
 * value does not allocate 256 KiB.
 *
 * lz4js stores absolute input positions (plus one) in it and trusts every non-zero entry, so an
 * entry left over from another input can make it emit a match of a position with itself (offset
 * 0), which no decoder accepts, and makes the output depend on what was compressed before. So the
 * table is zeroed before every use. (Zeroing only the entries a small input wrote, by re-hashing
 * its positions, was measured and is no faster below 1.5 KB: a whole-table fill is a 6 µs memset.)
 *
 * @module
 */

/** lz4js hashes to 16 bits, so its table always has 65,536 entries. */
const HASH_TABLE_ENTRIES = 1 << 16

const table = new Uint32Array(HASH_TABLE_ENTRIES)

/** Returns the shared table, zeroed. Compression is synchronous, so no two calls overlap. */
export function freshHashTable(): Uint32Array {
  table.fill(0)
  return table
}
