/**
 * The decoder's strictness, one hand-built malformed value per rule: each throws
 * CorruptValueError (KV_CORRUPT_VALUE) with a message saying what was wrong.
 */
import { describe, expect, it } from 'vitest'
import { CorruptValueError, ErrorCode, InvalidArgumentError, isKVError } from '../../src/errors.js'
import { compress, decompress } from '../../src/lz4/index.js'
import { rawLz4jsBlock, stored } from './support/raw-lz4js.js'

const ascii = (text: string): number[] => [...new TextEncoder().encode(text)]

/** Asserts `value` is rejected as corrupt with a message matching `detail`. */
function expectCorrupt(value: Uint8Array, detail: RegExp | string): void {
  let caught: unknown
  try {
    decompress(value)
  } catch (error) {
    caught = error
  }
  expect(caught).toBeInstanceOf(CorruptValueError)
  expect(isKVError(caught, ErrorCode.CORRUPT_VALUE)).toBe(true)
  expect((caught as CorruptValueError).code).toBe('KV_CORRUPT_VALUE')
  expect((caught as Error).message).toMatch(/^compressed value is corrupt: /)
  expect((caught as Error).message).toMatch(
    /it was not written by addValueCompress or was damaged$/,
  )
  expect((caught as Error).message).toMatch(detail)
}

/** "hello world" as one literal run: a valid block decoding to 11 bytes. */
const HELLO = [0xb0, ...ascii('hello world')]

/** "abcdabcdabcdabcd!!!!!": 4 literals, a 12-byte match at offset 4, then 5 literals. */
const ABCD = [0x48, ...ascii('abcd'), 4, 0, 0x50, ...ascii('!!!!!')]

describe('decompress accepts well-formed values', () => {
  it('decodes the hand-built blocks the malformed ones are made from', () => {
    expect(decompress(stored(11, HELLO))).toEqual(new Uint8Array(ascii('hello world')))
    expect(decompress(stored(21, ABCD))).toEqual(new Uint8Array(ascii('abcdabcdabcdabcd!!!!!')))
    expect(decompress(new Uint8Array(5))).toEqual(new Uint8Array(0))
  })

  it('decodes what lz4js writes unrepaired (an older writer), though liblz4 would not', () => {
    // The end-of-block rules exist for liblz4's fast paths; such a block is still unambiguous,
    // so we read it rather than lose data someone stored.
    const raw = new Uint8Array([...ascii('abcdefghijklmnop'), ...ascii('abcdef'), 1, 2, 3, 4, 5])
    const block = rawLz4jsBlock(raw)!
    expect(decompress(stored(raw.length, block))).toEqual(raw)
  })
})

describe('decompress rejects', () => {
  it('a truncated header', () => {
    expectCorrupt(new Uint8Array(0), 'it is 0 bytes, shorter than the 4-byte length header')
    expectCorrupt(new Uint8Array([5, 0, 0]), 'it is 3 bytes, shorter than the 4-byte length header')
  })

  it('a header with no block after it', () => {
    expectCorrupt(new Uint8Array([0, 0, 0, 0]), 'not followed by an LZ4 block')
    expectCorrupt(new Uint8Array([11, 0, 0, 0]), 'not followed by an LZ4 block')
  })

  it('truncated literals', () => {
    expectCorrupt(stored(11, HELLO.slice(0, 6)), '11 literals at block byte 1 run past the end')
  })

  it('a truncated literal length', () => {
    expectCorrupt(stored(300, [0xf0, 255]), 'ends inside a literal length')
  })

  it('a long run of 255s in a literal length, without allocating or hanging', () => {
    // 100,000 length bytes claim 25.5 MB of literals the block does not have.
    const lengths = new Array(100_000).fill(255)
    expectCorrupt(stored(1_000_000, [0xf0, ...lengths]), 'ends inside a literal length')
    expectCorrupt(
      stored(1_000_000, [0xf0, ...lengths, 7, 1, 2]),
      /literals at block byte .* run past/,
    )
  })

  it('a truncated match offset', () => {
    expectCorrupt(stored(21, ABCD.slice(0, 6)), 'ends inside a match offset at block byte 5')
  })

  it('a truncated match length', () => {
    expectCorrupt(stored(40, [0x4f, ...ascii('abcd'), 4, 0, 255]), 'ends inside a match length')
  })

  it('a match offset of 0', () => {
    expectCorrupt(
      stored(21, [0x48, ...ascii('abcd'), 0, 0, 0x50, ...ascii('!!!!!')]),
      'match offset 0',
    )
  })

  it('a match offset before the start of the output', () => {
    const block = [0xc4, ...ascii('0123456789ab'), 70, 0, 0x50, ...ascii('!!!!!')]
    expectCorrupt(
      stored(25, block),
      'compressed value is corrupt: match offset 70 points before the start of the output at ' +
        'byte 12; it was not written by addValueCompress or was damaged',
    )
    expectCorrupt(
      stored(21, [0x48, ...ascii('abcd'), 5, 0, 0x50, ...ascii('!!!!!')]),
      'match offset 5',
    )
  })

  it('a block that ends with a match', () => {
    expectCorrupt(stored(16, ABCD.slice(0, 7)), 'ends after a match')
  })

  it('a declared length shorter than the block produces', () => {
    expectCorrupt(stored(5, HELLO), 'decodes to more than the 5 bytes the header declares')
    expectCorrupt(stored(10, ABCD), 'decodes to more than the 10 bytes the header declares')
    expectCorrupt(stored(0, HELLO), 'decodes to more than the 0 bytes')
  })

  it('a declared length longer than the block produces', () => {
    expectCorrupt(stored(12, HELLO), 'decodes to 11 bytes but the header declares 12')
    expectCorrupt(stored(2000, ABCD), 'decodes to 21 bytes but the header declares 2000')
    expectCorrupt(stored(1, [0]), 'decodes to 0 bytes but the header declares 1')
  })

  it('a declared length no block of its size could produce, before allocating it', () => {
    const before = process.memoryUsage().arrayBuffers
    // These messages come only from the checks made before the output is allocated: decoding
    // into an output of the declared size would fail instead with "decodes to 11 bytes but the
    // header declares …".
    expectCorrupt(stored(0xffff_ffff, HELLO), 'declares 4294967295 bytes, more than LZ4')
    expectCorrupt(stored(0x7e00_0000, HELLO), /a 12-byte LZ4 block decodes to at most 3060/)
    expectCorrupt(stored(12 * 255 + 1, HELLO), 'declares 3061 bytes, but a 12-byte')
    // Allocating 2-4 GB first would show here (array buffers are counted when allocated).
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024)
  })

  it('a declared length within the bound that the block does not produce, before allocating it', () => {
    // One literal, one match of offset 1 whose length runs on 65,536 extension bytes of 255,
    // then a final literal: 16,711,442 bytes from a 65,542-byte block, whose bound (255 bytes a
    // byte) allows a header of up to 16,713,210. A header declaring that much passes the bound
    // but not the walk over the block's sequences.
    const extension = 65_536
    const block = [0x1f, 0x41, 1, 0, ...new Array<number>(extension - 1).fill(255), 0, 0x10, 0x42]
    const produced = 1 + (15 + 255 * (extension - 1) + 4) + 1
    const declared = block.length * 255
    expect(declared).toBeGreaterThan(produced)
    const before = process.memoryUsage().arrayBuffers
    expectCorrupt(
      stored(declared, block),
      `decodes to ${produced} bytes but the header declares ${declared}`,
    )
    // Decoding into an output of the declared size first would show here.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(declared / 4)
    // The same block with the true length decodes.
    expect(decompress(stored(produced, block)).length).toBe(produced)
  })

  it('a damaged value of any size, without allocating what it declares', () => {
    // 16 KiB of block claiming 4,000,000 literals (within the bound of 255 bytes a byte), and
    // declaring that much: a literal run past the end of the block.
    const extension = 16_000
    const claimed = 15 + 255 * extension
    const block = [0xf0, ...new Array<number>(extension).fill(255), 0, 0x41]
    const before = process.memoryUsage().arrayBuffers
    expectCorrupt(stored(claimed, block), 'run past the end of the block')
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(claimed / 4)
    // And one declaring less than 64 KiB, decoded without an output of its own: the same value
    // declaring one byte more than it decodes to is refused; the true length decodes.
    const small = [0x1f, 0x41, 1, 0, ...new Array<number>(200).fill(255), 0, 0x10, 0x42]
    const produced = 1 + (15 + 255 * 200 + 4) + 1
    expectCorrupt(
      stored(produced + 1, small),
      `decodes to ${produced} bytes but the header declares`,
    )
    const good = decompress(stored(produced, small))
    expect(good.length).toBe(produced)
    expect(good.buffer.byteLength).toBe(produced)
    // Each value decoded is the caller's own: a later decode does not change it.
    const copy = good.slice()
    decompress(stored(11, HELLO))
    expect(good).toEqual(copy)
  })

  it('what is not a Uint8Array, with InvalidArgumentError naming the argument', () => {
    for (const notBytes of ['\u0000\u0000\u0000\u0000\u0000', [0, 0, 0, 0, 0], undefined]) {
      expect(() => decompress(notBytes as unknown as Uint8Array)).toThrow(InvalidArgumentError)
      expect(() => decompress(notBytes as unknown as Uint8Array)).toThrow(
        expect.objectContaining({ code: 'KV_INVALID_ARGUMENT', argument: 'stored' }),
      )
    }
  })

  it('allows the largest expansion a block can really have (255 bytes a byte)', () => {
    // zeros compress to about 1/255 of their size, which the bound must not reject.
    const zeros = new Uint8Array(1_000_000)
    expect(decompress(compress(zeros))).toEqual(zeros)
  })
})
