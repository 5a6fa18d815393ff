/**
 * The decoder's copy paths (byte loop, 4- and 8-byte chunks that write past the match, and
 * copyWithin) against lz4js's plain byte-by-byte decoder, for every offset and length near the
 * start and the end of the output, where the chunked paths must hand over to the safe ones.
 */
import lz4js from 'lz4js'
import { describe, expect, it } from 'vitest'
import { decompress } from '../../src/lz4/index.js'
import { random } from './support/corpus.js'
import { stored } from './support/raw-lz4js.js'

/** Appends a token's length extension for `length` (already minus 15) to `block`. */
function pushLength(block: number[], length: number): void {
  for (; length >= 255; length -= 255) block.push(255)
  block.push(length)
}

/** A block: `prefix` random literals, one match (offset, length), then `tail` literals. */
function block(prefix: number, offset: number, length: number, tail: number): number[] {
  const literals = [...random(prefix, prefix * 31 + offset)]
  const out: number[] = []
  const matchCode = length - 4
  out.push((Math.min(prefix, 15) << 4) | Math.min(matchCode, 15))
  if (prefix >= 15) pushLength(out, prefix - 15)
  out.push(...literals, offset & 0xff, offset >>> 8)
  if (matchCode >= 15) pushLength(out, matchCode - 15)
  out.push(tail << 4, ...random(tail, tail))
  return out
}

describe('decoder copy paths', () => {
  it('match every offset 1..40 at every length 4..140, near both ends, as lz4js does', () => {
    let checked = 0
    for (const prefix of [1, 7, 8, 40]) {
      for (let offset = 1; offset <= Math.min(40, prefix); offset++) {
        for (let length = 4; length <= 140; length++) {
          for (const tail of [5, 6, 9, 12, 14]) {
            const b = block(prefix, offset, length, tail)
            const size = prefix + length + tail
            const expected = new Uint8Array(size)
            lz4js.decompressBlock(new Uint8Array(b), expected, 0, b.length, 0)
            expect(decompress(stored(size, b)), `${prefix}/${offset}/${length}/${tail}`).toEqual(
              expected,
            )
            checked++
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(10_000)
  }, 30_000)

  it('copies long overlapping runs (offset 1..9) over 64 KiB', () => {
    for (let offset = 1; offset <= 9; offset++) {
      const b = block(offset, offset, 70_000, 5)
      const size = offset + 70_000 + 5
      const expected = new Uint8Array(size)
      lz4js.decompressBlock(new Uint8Array(b), expected, 0, b.length, 0)
      expect(decompress(stored(size, b))).toEqual(expected)
    }
  })

  it('rejects a wild-copy-sized match that would overrun a short output by one byte', () => {
    // The chunked copy writes up to 7 bytes past a match; here the match itself is 1 byte too
    // long, so the check must come before any chunk is written.
    const b = block(8, 8, 20, 5)
    expect(() => decompress(stored(8 + 20 + 5 - 1, b))).toThrow(
      expect.objectContaining({
        code: 'KV_CORRUPT_VALUE',
        message: expect.stringContaining('decodes to more than the 32 bytes the header declares'),
      }),
    )
  })
})
