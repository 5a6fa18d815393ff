/**
 * Test data: byte strings built from literals, and deterministic pseudo-random bytes (a fixed
 * seed, so a failure reproduces exactly).
 *
 * @module
 */
import { utf8 } from '@kv/core'

/** Bytes from numbers: `bytes(0x61, 0x00)`. */
export function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values)
}

/** The UTF-8 bytes of `text`. */
export const text = utf8

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
    const record = utf8(
      `{"id":${i},"user":"user-${i % 97}","status":"${i % 3 === 0 ? 'idle' : 'active'}"},`,
    )
    out.set(record.subarray(0, length - offset), offset)
    offset += record.length
  }
  return out
}

/** 1 MiB. */
export const MiB = 1024 * 1024
