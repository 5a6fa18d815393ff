import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compress, decompress } from '../../src/lz4/index.js'
import { blockViolation } from './support/block-rules.js'
import { shapes } from './support/corpus.js'

const shapeNames = Object.keys(shapes)

/** Inputs up to 70,000 bytes: raw random bytes, or one of the corpus shapes from a seed. */
const input = fc.oneof(
  fc.uint8Array({ minLength: 0, maxLength: 70_000 }),
  fc
    .tuple(fc.integer({ min: 0, max: 70_000 }), fc.constantFrom(...shapeNames), fc.nat())
    .map(([n, shape, seed]) => shapes[shape]!(n, seed)),
  // Runs of a few distinct bytes: long matches and long literal-length extensions.
  fc
    .array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 600 })), {
      maxLength: 200,
    })
    .map((runs) => new Uint8Array(runs.flatMap(([byte, count]) => Array(count).fill(byte)))),
)

describe('round trip', () => {
  it('decompress(compress(x)) is x, in a valid block, for inputs up to 70,000 bytes', () => {
    fc.assert(
      fc.property(input, (raw) => {
        const stored = compress(raw)
        expect(blockViolation(stored.subarray(4), raw.length)).toBeUndefined()
        expect(decompress(stored)).toEqual(raw)
      }),
      { numRuns: 300 },
    )
  }, 120_000)

  it.each(shapeNames)('every size 0..300 of %s, with several seeds', (shape) => {
    for (let n = 0; n <= 300; n++) {
      for (const seed of [0, 1, 2, 3, 1234]) {
        const raw = shapes[shape]!(n, seed)
        expect(decompress(compress(raw)), `${shape}(${n}, ${seed})`).toEqual(raw)
      }
    }
  })

  it('every size 0..300 of random fast-check bytes', () => {
    for (let n = 0; n <= 300; n++) {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: n, maxLength: n }), (raw) => {
          expect(decompress(compress(raw))).toEqual(raw)
        }),
        { numRuns: 5 },
      )
    }
  })
})
