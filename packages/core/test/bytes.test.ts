/**
 * The byte helpers that order keys and buckets and bound ranges, against tables written out by
 * hand and, where Node has one, against Node's own implementation (Buffer.compare,
 * Buffer.byteLength): these helpers are the oracles of other tests, so they get their own.
 */
import { describe, expect, it } from 'vitest'
import {
  bytesEqual,
  compareBytes,
  fromUtf8,
  prefixSuccessor,
  startsWith,
  utf8Length,
} from '../src/bytes.js'

const b = (...values: number[]): Uint8Array => Uint8Array.from(values)

/** A view of `values` inside a larger buffer, with other bytes on both sides. */
const view = (...values: number[]): Uint8Array =>
  Uint8Array.from([0x55, ...values, 0xaa]).subarray(1, 1 + values.length)

describe('compareBytes', () => {
  // [a, b, sign of compareBytes(a, b)]
  const table: [Uint8Array, Uint8Array, -1 | 0 | 1][] = [
    [b(), b(), 0],
    [b(), b(0x00), -1],
    [b(0x00), b(0x00, 0x00), -1],
    [b(0x61), b(0x61), 0],
    [b(0x61), b(0x62), -1],
    [b(0x62), b(0x61, 0xff), 1],
    [b(0x61, 0x62), b(0x61), 1],
    // Bytes are unsigned: 0x80 and 0xff sort above 0x7f.
    [b(0x7f), b(0x80), -1],
    [b(0xff), b(0x00), 1],
    [b(0xff), b(0x00, 0x00, 0x00), 1],
    [b(0x01, 0xff), b(0x02), -1],
    [view(0x61, 0x62), b(0x61, 0x62), 0],
    [view(0x61), b(0x61, 0x55), -1],
  ]

  it.each(table)('compares %o with %o as %i', (x, y, sign) => {
    expect(Math.sign(compareBytes(x, y))).toBe(sign)
    expect(Math.sign(compareBytes(y, x))).toBe(sign === 0 ? 0 : -sign)
    expect(Math.sign(Buffer.compare(x, y))).toBe(sign) // the table agrees with Node
  })
})

describe('prefixSuccessor', () => {
  // [prefix, the smallest byte string above every string starting with it, or undefined]
  const table: [Uint8Array, Uint8Array | undefined][] = [
    [b(), undefined],
    [b(0xff), undefined],
    [b(0xff, 0xff, 0xff), undefined],
    [b(0x00), b(0x01)],
    [b(0x61), b(0x62)],
    [b(0xfe), b(0xff)],
    [b(0x61, 0x62), b(0x61, 0x63)],
    [b(0x61, 0xff), b(0x62)],
    [b(0x61, 0xff, 0xff), b(0x62)],
    [b(0x00, 0x01), b(0x00, 0x02)],
    [b(0x61, 0xfe, 0xff), b(0x61, 0xff)],
    [view(0x61, 0xff), b(0x62)],
  ]

  it.each(table)('of %o is %o', (prefix, expected) => {
    const before = [...prefix]
    const next = prefixSuccessor(prefix)
    expect(next === undefined ? undefined : [...next]).toEqual(
      expected === undefined ? undefined : [...expected],
    )
    expect([...prefix]).toEqual(before) // the prefix itself is left alone
  })
})

describe('utf8Length', () => {
  // [text, UTF-8 bytes]; a lone surrogate counts as U+FFFD (3 bytes), as TextEncoder writes it.
  const table: [string, number][] = [
    ['', 0],
    ['a', 1],
    ['\u007f', 1],
    ['\u0080', 2],
    ['é', 2],
    ['\u07ff', 2],
    ['\u0800', 3],
    ['€', 3],
    ['\uffff', 3],
    ['😀', 4],
    ['a😀b', 6],
    ['\ud800', 3],
    ['\udc00', 3],
    ['\ud800a', 4],
    ['a\ud83d', 4],
    ['\ude00\ud83d', 6],
    ['😀\ud83d', 7],
    ['x'.repeat(100), 100],
  ]

  it.each(table)('of %j is %i, as Buffer.byteLength counts it', (text, length) => {
    expect(utf8Length(text)).toBe(length)
    expect(Buffer.byteLength(text, 'utf8')).toBe(length)
  })
})

describe('bytesEqual and startsWith', () => {
  // [a, b, bytesEqual(a, b), startsWith(a, b)]
  const table: [Uint8Array, Uint8Array, boolean, boolean][] = [
    [b(), b(), true, true],
    [b(0x01), b(), false, true],
    [b(), b(0x00), false, false],
    [b(0x01), b(0x01), true, true],
    [b(0x01), b(0x02), false, false],
    [b(0x01, 0x02, 0x03), b(0x01, 0x02), false, true],
    [b(0x01, 0x02), b(0x01, 0x02, 0x03), false, false],
    [b(0x01, 0x02, 0x03), b(0x02, 0x03), false, false],
    [b(0x00), b(0x00, 0x00), false, false],
    [b(0xff, 0x00), b(0xff), false, true],
    [view(0x61, 0x62), b(0x61, 0x62), true, true],
    [view(0x61), b(0x61, 0xaa), false, false],
  ]

  it.each(table)('%o and %o: equal %s, starts with %s', (x, y, equal, prefixed) => {
    expect(bytesEqual(x, y)).toBe(equal)
    expect(bytesEqual(y, x)).toBe(equal)
    expect(startsWith(x, y)).toBe(prefixed)
  })
})

describe('fromUtf8', () => {
  it('keeps a leading U+FEFF (a bucket or key may begin with one)', () => {
    expect(fromUtf8(new Uint8Array([0xef, 0xbb, 0xbf, 0x6b]))).toBe('\ufeffk')
    expect(fromUtf8(Buffer.from('\ufeff\ufeff', 'utf8'))).toBe('\ufeff\ufeff')
  })

  it('throws on bytes that are not UTF-8', () => {
    expect(() => fromUtf8(new Uint8Array([0x61, 0xff]))).toThrow(TypeError)
  })
})
