/** lz4js's `compressBlock` used raw, as the codec must not: to show what the codec repairs. */
import lz4js from 'lz4js'

/** The block lz4js writes for `raw` with a zeroed table, or undefined when it returns 0. */
export function rawLz4jsBlock(raw: Uint8Array): Uint8Array | undefined {
  const block = new Uint8Array(lz4js.compressBound(raw.length))
  const size = lz4js.compressBlock(raw, block, 0, raw.length, new Uint32Array(1 << 16))
  return size === 0 ? undefined : block.subarray(0, size)
}

/** `block` in the stored layout: the 4-byte little-endian length `declared`, then the block. */
export function stored(declared: number, block: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(4 + block.length)
  new DataView(out.buffer).setUint32(0, declared, true)
  out.set(block, 4)
  return out
}
