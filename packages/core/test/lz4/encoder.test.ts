import { describe, expect, it } from 'vitest'
import { InvalidArgumentError } from '../../src/errors.js'
import { compress, decompress, maxCompressedSize } from '../../src/lz4/index.js'
import { blockViolation } from './support/block-rules.js'
import { json, random, shapes, tailTrap } from './support/corpus.js'
import { rawLz4jsBlock } from './support/raw-lz4js.js'

const header = (stored: Uint8Array): number =>
  new DataView(stored.buffer, stored.byteOffset, stored.length).getUint32(0, true)

describe('compress', () => {
  it('stores the empty value as 00 00 00 00 00', () => {
    expect([...compress(new Uint8Array(0))]).toEqual([0, 0, 0, 0, 0])
  })

  it('stores short values as one literal run, like go-lz4 and liblz4', () => {
    // From the go-lz4 vectors: "hello world" is 0B 00 00 00, token B0, then the 11 bytes.
    const raw = new TextEncoder().encode('hello world')
    expect([...compress(raw)]).toEqual([11, 0, 0, 0, 0xb0, ...raw])
  })

  it('writes the uncompressed length little-endian in the header', () => {
    for (const n of [1, 255, 256, 65_536, 70_001]) expect(header(compress(json(n, 1)))).toBe(n)
  })

  it('compresses repetitive data and keeps incompressible data within maxCompressedSize', () => {
    expect(compress(new Uint8Array(65_536)).length).toBeLessThan(300)
    for (const n of [0, 1, 14, 15, 16, 269, 270, 271, 1000, 70_000]) {
      const stored = compress(random(n, n))
      expect(stored.length).toBeLessThanOrEqual(maxCompressedSize(n))
      expect(decompress(stored)).toEqual(random(n, n))
    }
  })

  it('gives maxCompressedSize as the header plus a literal-only block', () => {
    expect(maxCompressedSize(0)).toBe(5)
    expect(maxCompressedSize(14)).toBe(19)
    expect(maxCompressedSize(15)).toBe(21)
    expect(maxCompressedSize(270)).toBe(277)
  })

  it('does not depend on what was compressed before (the shared hash table is zeroed)', () => {
    const a = json(5000, 1)
    const b = json(5000, 1).reverse()
    const first = [...compress(a)]
    compress(b)
    compress(new Uint8Array(70_000))
    expect([...compress(a)]).toEqual(first)
    // Same bytes twice in a row: a stale table would hand lz4js a match of each position with
    // itself (offset 0).
    expect(blockViolation(compress(a).subarray(4), a.length)).toBeUndefined()
  })

  it('repairs the blocks where lz4js puts the last match too near the end', () => {
    let repaired = 0
    for (let n = 13; n <= 300; n++) {
      const raw = tailTrap(n, n + 1)
      const lz4jsBlock = rawLz4jsBlock(raw)
      if (lz4jsBlock && blockViolation(lz4jsBlock, n)) repaired++
      expect(blockViolation(compress(raw).subarray(4), n), `tailTrap(${n})`).toBeUndefined()
      expect(decompress(compress(raw))).toEqual(raw)
    }
    // The inputs really do trip lz4js, so the repair path ran.
    expect(repaired).toBeGreaterThan(100)
  })

  it('writes only blocks that follow every format rule, for every shape and size 0..300', () => {
    for (const [name, make] of Object.entries(shapes)) {
      for (let n = 0; n <= 300; n++) {
        const stored = compress(make(n, n))
        expect(blockViolation(stored.subarray(4), n), `${name}(${n})`).toBeUndefined()
      }
    }
  })

  it('accepts a Buffer', () => {
    const raw = Buffer.from('a Buffer is a Uint8Array '.repeat(10))
    expect(Buffer.from(decompress(compress(raw)))).toEqual(raw)
  })

  it('rejects what is not a Uint8Array with InvalidArgumentError naming the argument', () => {
    for (const notBytes of ['text', [1, 2, 3], undefined]) {
      expect(() => compress(notBytes as unknown as Uint8Array)).toThrow(InvalidArgumentError)
      expect(() => compress(notBytes as unknown as Uint8Array)).toThrow(
        expect.objectContaining({ code: 'KV_INVALID_ARGUMENT', argument: 'value' }),
      )
    }
  })
})
