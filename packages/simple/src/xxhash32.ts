/**
 * xxHash32 (seed 0): the checksum of WAL records from format version 2 on.
 *
 * Every write computes one over its record (about 130 bytes for a 16-byte key and a 100-byte
 * value). In JavaScript, CRC-32 by slicing-by-8 took 240–300 ns for 127 bytes and Node's native
 * `zlib.crc32` about as long (the call dominates); this takes 72–94 ns, reading four bytes at a
 * time through a `DataView`. Like CRC-32 it changes with any single flipped bit, which is what
 * the WAL needs from it: to tell a torn or damaged record from a good one. Snapshot blocks
 * (a mebibyte each, checksummed natively) keep CRC-32.
 *
 * Specification: https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md
 *
 * @module
 */

const P1 = 0x9e3779b1
const P2 = 0x85ebca77
const P3 = 0xc2b2ae3d
const P4 = 0x27d4eb2f
const P5 = 0x165667b1

const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r))

// The view of the buffer hashed last: records are hashed one after another in the same batch
// or file buffer, so one view serves them all without an allocation per record. A buffer larger
// than a WAL batch is kept (4 MiB) is not held on to: the view would keep it alive.
const CACHE_MAX_BYTES = 4 * 1024 * 1024
let viewed: Uint8Array | undefined
let view: DataView = new DataView(new ArrayBuffer(0))

function viewOf(data: Uint8Array): DataView {
  if (data === viewed) return view
  const fresh = new DataView(data.buffer, data.byteOffset, data.byteLength)
  if (data.byteLength <= CACHE_MAX_BYTES) {
    view = fresh
    viewed = data
  }
  return fresh
}

/** The xxHash32 (seed 0) of `data[start, end)`, an unsigned 32-bit integer. */
export function xxhash32(data: Uint8Array, start = 0, end = data.length): number {
  const v = viewOf(data)
  const length = end - start
  let i = start
  let h: number
  if (length >= 16) {
    let v1 = (P1 + P2) | 0
    let v2 = P2
    let v3 = 0
    let v4 = -P1 | 0
    for (const limit = end - 16; i <= limit; i += 16) {
      v1 = Math.imul(rotl((v1 + Math.imul(v.getUint32(i, true), P2)) | 0, 13), P1)
      v2 = Math.imul(rotl((v2 + Math.imul(v.getUint32(i + 4, true), P2)) | 0, 13), P1)
      v3 = Math.imul(rotl((v3 + Math.imul(v.getUint32(i + 8, true), P2)) | 0, 13), P1)
      v4 = Math.imul(rotl((v4 + Math.imul(v.getUint32(i + 12, true), P2)) | 0, 13), P1)
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0
  } else {
    h = P5
  }
  h = (h + length) | 0
  for (; i + 4 <= end; i += 4) {
    h = Math.imul(rotl((h + Math.imul(v.getUint32(i, true), P3)) | 0, 17), P4)
  }
  for (; i < end; i++) h = Math.imul(rotl((h + Math.imul(data[i]!, P5)) | 0, 11), P1)
  h ^= h >>> 15
  h = Math.imul(h, P2)
  h ^= h >>> 13
  h = Math.imul(h, P3)
  h ^= h >>> 16
  return h >>> 0
}
