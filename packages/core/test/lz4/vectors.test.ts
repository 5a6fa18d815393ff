import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { compress, decompress } from '../../src/lz4/index.js'
import { blockViolation } from './support/block-rules.js'

interface Vector {
  name: string
  raw: string
  go: string
  ref: string
}

const vectors: Vector[] = readFileSync(
  new URL('../fixtures/go-lz4-v1.jsonl', import.meta.url),
  'utf8',
)
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as Vector)

const bytes = (base64: string): Uint8Array => new Uint8Array(Buffer.from(base64, 'base64'))

describe('go-lz4 v1.0.0 and liblz4 1.9.4 vectors (test/fixtures/go-lz4-v1.jsonl)', () => {
  it('has the vectors the fixture promises', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(16)
    expect(vectors.map((v) => v.name)).toContain('empty')
  })

  describe.each(vectors)('$name', (vector) => {
    const raw = bytes(vector.raw)

    it('decodes what go-lz4 stored', () => {
      expect(decompress(bytes(vector.go))).toEqual(raw)
    })

    it('decodes what liblz4 stored', () => {
      expect(decompress(bytes(vector.ref))).toEqual(raw)
    })

    it('round-trips through our encoder with the same header, in a valid block', () => {
      const stored = compress(raw)
      expect(stored.subarray(0, 4)).toEqual(bytes(vector.go).subarray(0, 4))
      expect(blockViolation(stored.subarray(4), raw.length)).toBeUndefined()
      expect(decompress(stored)).toEqual(raw)
    })
  })

  it('stores the empty value exactly as go-lz4 does: 00 00 00 00 00', () => {
    const empty = vectors.find((v) => v.name === 'empty')!
    expect(compress(new Uint8Array(0))).toEqual(bytes(empty.go))
    expect(compress(new Uint8Array(0))).toEqual(new Uint8Array(5))
  })
})
