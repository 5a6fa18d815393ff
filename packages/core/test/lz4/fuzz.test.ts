/**
 * Damaged values: decoding either returns exactly the declared number of bytes or throws
 * CorruptValueError (KV_CORRUPT_VALUE); never another error, never out-of-bounds or a hang.
 */
import fc from 'fast-check'
import { beforeEach, describe, expect, it } from 'vitest'
import { CorruptValueError } from '../../src/errors.js'
import { decompress } from '../../src/lz4/index.js'
import { damagedValue } from './support/mutations.js'

/** How often each allowed outcome happened, to show the fuzzing reaches both. */
const outcomes = { decoded: 0, rejected: 0 }

/** Decodes `value`; fails the property unless the outcome is one of the two allowed ones. */
function decodesOrRejects(value: Uint8Array): void {
  let out: Uint8Array
  try {
    out = decompress(value)
  } catch (error) {
    if (!(error instanceof CorruptValueError) || error.code !== 'KV_CORRUPT_VALUE') throw error
    outcomes.rejected++
    return
  }
  const declared = new DataView(value.buffer, value.byteOffset).getUint32(0, true)
  expect(out.length).toBe(declared)
  outcomes.decoded++
}

describe('decompress on damaged values', () => {
  beforeEach(() => {
    outcomes.decoded = 0
    outcomes.rejected = 0
  })

  it('returns the declared length or throws CorruptValueError, for 1 to 4 mutations', () => {
    fc.assert(
      fc.property(damagedValue, (value) => decodesOrRejects(value)),
      { numRuns: 5000 },
    )
    // Both outcomes are common, so each kind of damage reaches deep into the decoder.
    expect(outcomes.decoded).toBeGreaterThan(100)
    expect(outcomes.rejected).toBeGreaterThan(2000)
  }, 120_000)

  it('returns the declared length or throws CorruptValueError, for random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (value) => decodesOrRejects(value)),
      { numRuns: 5000 },
    )
  }, 60_000)

  it('returns the declared length or throws CorruptValueError, for random blocks with a plausible header', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 4000 }),
        fc.uint8Array({ minLength: 1, maxLength: 400 }),
        (declared, block) => {
          const value = new Uint8Array(4 + block.length)
          new DataView(value.buffer).setUint32(0, declared, true)
          value.set(block, 4)
          decodesOrRejects(value)
        },
      ),
      { numRuns: 5000 },
    )
  }, 60_000)
})
