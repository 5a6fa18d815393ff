/**
 * Test data: byte strings built from literals, and deterministic pseudo-random bytes (a fixed
 * seed, so a failure reproduces exactly).
 *
 * @module
 */
// The suite's expectations are computed with Node's own encoder and byte comparison, never with
// @kv/core's helpers (`utf8`, `compareBytes`, `startsWith`), which backends use: a bug there would
// otherwise be in the expected value as well as in the result.
const encoder = new TextEncoder()

/** Bytes from numbers: `bytes(0x61, 0x00)`. */
export function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values)
}

/** The UTF-8 bytes of `text` (a fresh array, by `TextEncoder`). */
export function text(value: string): Uint8Array {
  return encoder.encode(value)
}

/** Ascending byte order, by Node's `Buffer.compare`: a comparator for `sort`. */
export function byteOrder(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b)
}

/** `names` sorted by their UTF-8 bytes (`Buffer.from` and `Buffer.compare`). */
export function sortedByUtf8(names: readonly string[]): string[] {
  return [...names].sort((x, y) => Buffer.compare(Buffer.from(x, 'utf8'), Buffer.from(y, 'utf8')))
}

/** Whether `value` begins with the bytes of `prefix`. */
export function hasPrefix(value: Uint8Array, prefix: Uint8Array): boolean {
  return Buffer.from(value.buffer, value.byteOffset, value.length)
    .subarray(0, prefix.length)
    .equals(prefix)
}

/** `length` pseudo-random bytes from `seed` (xorshift32): the same every run. */
export function pseudoRandomBytes(length: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(length)
  let state = seed >>> 0 || 1
  for (let i = 0; i < length; i++) {
    state ^= state << 13
    state >>>= 0
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    out[i] = state & 0xff
  }
  return out
}

/** `length` bytes of readable, compressible text (repeating JSON-like records). */
export function compressibleBytes(length: number): Uint8Array {
  const out = new Uint8Array(length)
  let offset = 0
  for (let i = 0; offset < length; i++) {
    const record = text(
      `{"id":${i},"user":"user-${i % 97}","status":"${i % 3 === 0 ? 'idle' : 'active'}"},`,
    )
    out.set(record.subarray(0, length - offset), offset)
    offset += record.length
  }
  return out
}

/** 1 MiB. */
export const MiB = 1024 * 1024

/**
 * The kinds of byte buffers callers pass: a plain `Uint8Array`, and a Node.js `Buffer` from the
 * shared pool, whose `slice()` is a view of the same memory, not a copy. Tests of the rule that
 * a store never shares memory with its caller run once per kind; the suffix names the kind.
 */
export const INPUT_KINDS: readonly (readonly [
  suffix: string,
  input: (value: string) => Uint8Array,
])[] = [
  ['', text],
  [' (Node.js Buffer inputs, whose slice() shares memory)', (value) => Buffer.from(text(value))],
]
