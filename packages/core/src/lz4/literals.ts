import { RUN_MASK } from './format.js'

/**
 * Writes one literal-only sequence (token, length extension, the bytes `src[from, to)`) into
 * `dst` at `at`, and returns the index after it. As the last sequence of a block it is always
 * valid: the format requires exactly this shape at the end.
 */
export function writeLiteralRun(
  src: Uint8Array,
  from: number,
  to: number,
  dst: Uint8Array,
  at: number,
): number {
  let count = to - from
  if (count < RUN_MASK) {
    dst[at++] = count << 4
  } else {
    dst[at++] = RUN_MASK << 4
    for (count -= RUN_MASK; count >= 255; count -= 255) dst[at++] = 255
    dst[at++] = count
  }
  // `set` is a memcpy; a byte loop is faster only for runs far shorter than typical tails.
  dst.set(src.subarray(from, to), at)
  return at + (to - from)
}
