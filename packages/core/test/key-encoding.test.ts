import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
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
// The oracles are Node's, not core's own byte helpers, so a bug there cannot hide one here.
const compare = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b)
const hasPrefix = (bytes: Uint8Array, prefix: Uint8Array): boolean =>
  Buffer.from(bytes).subarray(0, prefix.length).equals(prefix)
const utf8Of = (text: string): Uint8Array => Buffer.from(text, 'utf8')
const inRange = (composite: Uint8Array, range: { gte: Uint8Array; lt: Uint8Array }) =>
  compare(composite, range.gte) >= 0 && compare(composite, range.lt) < 0
/** Hex with a space between bytes, as the layout is documented: `61 00 01`. */
const spaced = (bytes: Uint8Array): string =>
  [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join(' ')

describe('composite (bucket, key) encoding: the documented on-disk bytes', () => {
  // The layout is stored by backends (badger's single-bucket mode, simple_kv's WAL): these bytes
  // are written out from the documentation, not computed, so any change to them shows here.
  it('writes the bucket as UTF-8, then the terminator 00 01', () => {
    expect(spaced(bucketPrefix('a'))).toBe('61 00 01')
    expect(spaced(bucketPrefix('a,b'))).toBe('61 2c 62 00 01')
    expect(spaced(bucketPrefix('ü'))).toBe('c3 bc 00 01')
    expect(spaced(bucketPrefix('😀'))).toBe('f0 9f 98 80 00 01')
  })

  it('escapes every 00 of the bucket as 00 ff', () => {
    expect(spaced(bucketPrefix('\0'))).toBe('00 ff 00 01')
    expect(spaced(bucketPrefix('a\0'))).toBe('61 00 ff 00 01')
    expect(spaced(bucketPrefix('a\0\0b'))).toBe('61 00 ff 00 ff 62 00 01')
    // Only 00 is escaped: 01 and ff in a name stay as they are.
    expect(spaced(bucketPrefix('\u0001\u00ff'))).toBe('01 c3 bf 00 01')
  })

  it('appends the key unchanged, 00 and ff bytes included', () => {
    expect(spaced(encodeKey('a', new Uint8Array([0x6b])))).toBe('61 00 01 6b')
    expect(spaced(encodeKey('a', new Uint8Array([0x00, 0x01, 0xff])))).toBe('61 00 01 00 01 ff')
    expect(spaced(encodeKey('a\0', new Uint8Array([0x00])))).toBe('61 00 ff 00 01 00')
    expect(spaced(encodeKey('a', new Uint8Array(0)))).toBe('61 00 01')
  })

  it('decodes those bytes back, the first 00 01 ending the bucket', () => {
    const decoded = decodeKey(new Uint8Array([0x61, 0x00, 0xff, 0x62, 0x00, 0x01, 0x00, 0x01]))
    expect(decoded.bucket).toBe('a\0b')
    expect(spaced(decoded.key)).toBe('00 01')
    expect(decodeBucket(new Uint8Array([0xc3, 0xbc, 0x00, 0x01, 0x6b]))).toBe('ü')
  })

  it('ranges: afterBucket is the bucket part with 00 02 for its terminator; keyRange is [prefix, successor)', () => {
    expect(spaced(afterBucket('a'))).toBe('61 00 02')
    expect(spaced(afterBucket('a\0'))).toBe('61 00 ff 00 02')
    const whole = keyRange('a')
    expect([spaced(whole.gte), spaced(whole.lt)]).toEqual(['61 00 01', '61 00 02'])
    const empty = keyRange('a', new Uint8Array(0))
    expect([spaced(empty.gte), spaced(empty.lt)]).toEqual(['61 00 01', '61 00 02'])
    const prefixed = keyRange('a', new Uint8Array([0x6b, 0x31]))
    expect([spaced(prefixed.gte), spaced(prefixed.lt)]).toEqual([
      '61 00 01 6b 31',
      '61 00 01 6b 32',
    ])
    // A key prefix of ff bytes has no successor of its own: the range ends with the bucket.
    const high = keyRange('a', new Uint8Array([0xff, 0xff]))
    expect([spaced(high.gte), spaced(high.lt)]).toEqual(['61 00 01 ff ff', '61 00 02'])
    const carry = keyRange('a', new Uint8Array([0x6b, 0xff]))
    expect([spaced(carry.gte), spaced(carry.lt)]).toEqual(['61 00 01 6b ff', '61 00 01 6c'])
  })
})

describe('composite (bucket, key) encoding', () => {
  it("keeps the Go framework's colliding pairs apart", () => {
    for (const sep of [',', '_', '/', '!', '\0', ':']) {
      const a = encodeKey(`a${sep}b`, utf8Of('c'))
      const b = encodeKey('a', utf8Of(`b${sep}c`))
      expect(compare(a, b)).not.toBe(0)
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
        const same = b1 === b2 && compare(k1, k2) === 0
        expect(compare(encodeKey(b1, k1), encodeKey(b2, k2)) === 0).toBe(same)
      }),
      { numRuns: 5000 },
    )
  })

  it('orders keys of one bucket by their bytes, and buckets by theirs', () => {
    fc.assert(
      fc.property(bucketArb, keyArb, keyArb, (bucket, k1, k2) => {
        expect(Math.sign(compare(encodeKey(bucket, k1), encodeKey(bucket, k2)))).toBe(
          Math.sign(compare(k1, k2)),
        )
      }),
      { numRuns: 3000 },
    )
    fc.assert(
      fc.property(bucketArb, keyArb, bucketArb, keyArb, (b1, k1, b2, k2) => {
        fc.pre(b1 !== b2)
        expect(Math.sign(compare(encodeKey(b1, k1), encodeKey(b2, k2)))).toBe(
          Math.sign(compare(utf8Of(b1), utf8Of(b2))),
        )
      }),
      { numRuns: 3000 },
    )
  })

  it('keyRange holds exactly the keys of the bucket with the prefix', () => {
    fc.assert(
      fc.property(bucketArb, keyArb, bucketArb, keyArb, (bucket, prefix, otherBucket, key) => {
        const range = keyRange(bucket, prefix)
        const expected = otherBucket === bucket && hasPrefix(key, prefix)
        expect(inRange(encodeKey(otherBucket, key), range)).toBe(expected)
      }),
      { numRuns: 5000 },
    )
  })

  it('afterBucket is above every key of the bucket and at or below every later bucket', () => {
    fc.assert(
      fc.property(bucketArb, keyArb, bucketArb, (bucket, key, other) => {
        const after = afterBucket(bucket)
        expect(compare(encodeKey(bucket, key), after)).toBeLessThan(0)
        if (compare(utf8Of(other), utf8Of(bucket)) > 0) {
          expect(compare(bucketPrefix(other), after)).toBeGreaterThanOrEqual(0)
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

describe('bucket names that begin with U+FEFF (a byte-order mark)', () => {
  // TextDecoder drops a leading BOM unless told not to: the name must come back whole.
  it('decodes the bucket with its leading U+FEFF', () => {
    for (const bucket of ['\ufeff', '\ufeffbom', '\ufeff\ufeffx']) {
      const composite = encodeKey(bucket, new Uint8Array([0x6b]))
      expect(decodeBucket(composite)).toBe(bucket)
      expect(decodeKey(composite).bucket).toBe(bucket)
    }
  })

  it('reports a stored bucket name that is not UTF-8 as KV_CORRUPT_STORE', () => {
    // 0xFF then the terminator 00 01, then the key.
    expect(() => decodeBucket(new Uint8Array([0xff, 0x00, 0x01, 0x6b]))).toThrow(
      expect.objectContaining({ code: 'KV_CORRUPT_STORE' }),
    )
  })
})
