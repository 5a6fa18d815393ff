/**
 * `copyBytes`: copies a byte range. Short runs (keys, bucket names, small values) are copied by
 * hand, which beats the native call behind `TypedArray.prototype.set` for a few dozen bytes;
 * longer ones use it.
 *
 * @module
 */

const bufferCopy = Buffer.prototype.copy

/** Copies `source[start, start + length)` into `target` at `at`. */
export function copyBytes(
  source: Uint8Array,
  start: number,
  length: number,
  target: Uint8Array,
  at: number,
): void {
  if (length <= 32) {
    for (let i = 0; i < length; i++) target[at + i] = source[start + i]!
  } else if (start === 0 && length === source.length) {
    target.set(source, at)
  } else {
    // Buffer's copy takes a range without the view object `subarray` would allocate (this runs
    // once per write, copying a value out of the WAL batch into the arena).
    bufferCopy.call(source, target, at, start, start + length)
  }
}
