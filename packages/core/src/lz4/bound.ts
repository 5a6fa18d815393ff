import { HEADER_SIZE, MAX_EXPANSION } from './format.js'

/**
 * The largest stored value {@link compress} can return for an input of `n` bytes: the header plus
 * a literal-only block (one token, one extension byte per 255 literals, the literals).
 *
 * @param n - The uncompressed length in bytes.
 * @returns An upper bound on `compress(value).length` for any `value` of length `n`.
 */
export function maxCompressedSize(n: number): number {
  return HEADER_SIZE + literalBlockSize(n)
}

/** The size of a block that holds `n` bytes as a single literal run. */
export function literalBlockSize(n: number): number {
  return 1 + lengthExtensionSize(n) + n
}

/** How many extension bytes a token needs to encode a length of `n` in its 4-bit field. */
export function lengthExtensionSize(n: number): number {
  return n < 15 ? 0 : Math.floor((n - 15) / 255) + 1
}

/**
 * The most bytes an LZ4 block of `blockSize` bytes can decode to. The decoder checks a declared
 * length against this before it allocates, so a damaged header cannot make it allocate gigabytes.
 */
export function maxDecompressedSize(blockSize: number): number {
  return blockSize * MAX_EXPANSION
}
