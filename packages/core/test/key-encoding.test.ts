import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareBytes, startsWith, utf8 } from '../src/bytes.js'
import {
  afterBucket,
  bucketPrefix,
  decodeBucket,
  decodeKey,
  encodeKey,
  keyRange,
} from '../src/key-encoding.js'

const bucketArb = fc.string({
  unit: fc.constantFrom('a', 'b', ',', '_', '\0', '\u0001', 'ÿ', '\u00ff', 'é'),
  minLength: 1,
  maxLength: 6,
})
const keyArb = fc
  .uint8Array({ maxLength: 6 })
  .map((bytes) => bytes.map((b) => [0, 1, 0xff, 0x2c, 0x61][b % 5]!))
const inRange = (composite: Uint8Array, range: { gte: Uint8Array; lt: Uint8Array }) =>
  compareBytes(composite, range.gte) >= 0 && compareBytes(composite, range.lt) < 0

describe('composite (bucket, key) encoding', () => {
  it("keeps the Go framework's colliding pairs apart", () => {
    for (const sep of [',', '_', '/', '!', '\0', ':']) {
      const a = encodeKey(`a${sep}b`, utf8('c'))
      const b = encodeKey('a', utf8(`b${sep}c`))
      expect(compareBytes(a, b)).not.toBe(0)
    }
  })

  it('round-trips every (bucket, key)', () => {
    fc.assert(
      fc.property(bucketArb, keyArb, (bucket, key) => {
        const decoded = decodeKey(encodeKey(bucket, key))
        expect(decoded.bucket).toBe(bucket)
        expect([...decoded.key]).toEqual([...key])
        expect(decodeBucket(encodeKey(bucket, key))).toBe(bucket)
      }),
      { numRuns: 2000 },
    )
  })

  it('is injective: different pairs never share an encoding', () => {
    fc.assert(
      fc.property(bucketArb, keyArb, bucketArb, keyArb, (b1, k1, b2, k2) => {
        const same = b1 === b2 && compareBytes(k1, k2) === 0
        expect(compareBytes(encodeKey(b1, k1), encodeKey(b2, k2)) === 0).toBe(same)
      }),
      { numRuns: 5000 },
    )
  })

  it('orders keys of one bucket by their bytes, and buckets by theirs', () => {
    fc.assert(
      fc.property(bucketArb, keyArb, keyArb, (bucket, k1, k2) => {
        expect(Math.sign(compareBytes(encodeKey(bucket, k1), encodeKey(bucket, k2)))).toBe(
          Math.sign(compareBytes(k1, k2)),
        )
      }),
      { numRuns: 3000 },
    )
    fc.assert(
      fc.property(bucketArb, keyArb, bucketArb, keyArb, (b1, k1, b2, k2) => {
        fc.pre(b1 !== b2)
        expect(Math.sign(compareBytes(encodeKey(b1, k1), encodeKey(b2, k2)))).toBe(
          Math.sign(compareBytes(utf8(b1), utf8(b2))),
        )
      }),
      { numRuns: 3000 },
    )
  })

  it('keyRange holds exactly the keys of the bucket with the prefix', () => {
    fc.assert(
      fc.property(bucketArb, keyArb, bucketArb, keyArb, (bucket, prefix, otherBucket, key) => {
        const range = keyRange(bucket, prefix)
        const expected = otherBucket === bucket && startsWith(key, prefix)
        expect(inRange(encodeKey(otherBucket, key), range)).toBe(expected)
      }),
      { numRuns: 5000 },
    )
  })

  it('afterBucket is above every key of the bucket and at or below every later bucket', () => {
    fc.assert(
      fc.property(bucketArb, keyArb, bucketArb, (bucket, key, other) => {
        const after = afterBucket(bucket)
        expect(compareBytes(encodeKey(bucket, key), after)).toBeLessThan(0)
        if (compareBytes(utf8(other), utf8(bucket)) > 0) {
          expect(compareBytes(bucketPrefix(other), after)).toBeGreaterThanOrEqual(0)
        }
      }),
      { numRuns: 3000 },
    )
  })

  it('rejects a composite key without a terminator as corrupt', () => {
    expect(() => decodeKey(new Uint8Array([0x61, 0x00, 0x02]))).toThrow(
      expect.objectContaining({ code: 'KV_CORRUPT_STORE' }),
    )
    expect(() => decodeKey(new Uint8Array([0x61]))).toThrow(
      expect.objectContaining({ code: 'KV_CORRUPT_STORE' }),
    )
  })
})
