import { expect, test } from 'vitest'
import { xxhash32 } from '../src/xxhash32.js'

const bytes = (text: string) => new TextEncoder().encode(text)

test('gives the published xxHash32 values (seed 0)', () => {
  // Empty input and "abc": the reference implementation's test values; the 39-byte sentence
  // (two 16-byte stripes, one 4-byte lane, three single bytes): python-xxhash's example.
  expect(xxhash32(new Uint8Array(0))).toBe(0x02cc5d05)
  expect(xxhash32(bytes('abc'))).toBe(0x32d153ff)
  expect(xxhash32(bytes('Nobody inspects the spammish repetition'))).toBe(0xe2293b2f)
})

test('hashes a range of a larger buffer as it hashes a copy of the range', () => {
  const data = new Uint8Array(300).map((_, i) => (i * 131 + 7) & 0xff)
  for (const start of [0, 1, 3, 17]) {
    for (const length of [0, 1, 3, 4, 15, 16, 17, 31, 32, 33, 130, 250]) {
      expect(xxhash32(data, start, start + length)).toBe(
        xxhash32(data.slice(start, start + length)),
      )
    }
  }
})

test('changes with every single flipped bit of a record-sized input', () => {
  const data = new Uint8Array(130).map((_, i) => (i * 37) & 0xff)
  const original = xxhash32(data)
  for (let bit = 0; bit < data.length * 8; bit++) {
    data[bit >> 3]! ^= 1 << (bit & 7)
    expect(xxhash32(data)).not.toBe(original)
    data[bit >> 3]! ^= 1 << (bit & 7)
  }
  expect(xxhash32(data)).toBe(original)
})

test('hashes ranges of a buffer larger than it keeps a view of as it hashes copies', () => {
  const large = new Uint8Array(5 * 1024 * 1024 + 3).map((_, i) => (i * 7) & 0xff)
  const small = new Uint8Array(40).map((_, i) => i)
  for (const [data, start] of [
    [large, 5 * 1024 * 1024 - 40],
    [small, 3],
    [large, 1],
    [large, 12345],
  ] as const) {
    expect(xxhash32(data, start, start + 33)).toBe(xxhash32(data.slice(start, start + 33)))
  }
})
