/** Ways to damage a stored value, for fuzzing the decoder. */
import fc from 'fast-check'
import { compress } from '../../../src/lz4/index.js'
import { shapes } from './corpus.js'

/** One kind of damage to a stored value. */
export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'header'; declared: number }
  | { kind: 'resize'; delta: number }

/** Any one {@link Mutation}, at any position. */
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.nat({ max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant('delete' as const),
    at: fc.nat(),
    count: fc.integer({ min: 1, max: 8 }),
  }),
  fc.record({ kind: fc.constant('header' as const), declared: fc.nat({ max: 0xffff_ffff }) }),
  fc.record({ kind: fc.constant('resize' as const), delta: fc.integer({ min: -8, max: 8 }) }),
)

/** Applies `m` to a copy of `value`; positions wrap around the value's length. */
export function mutate(value: Uint8Array, m: Mutation): Uint8Array {
  const bytes = [...value]
  const at = bytes.length === 0 ? 0 : 'at' in m ? m.at % (bytes.length + 1) : 0
  switch (m.kind) {
    case 'flip':
      if (at < bytes.length) bytes[at]! ^= 1 << m.bit
      break
    case 'set':
      if (at < bytes.length) bytes[at] = m.byte
      break
    case 'truncate':
      bytes.length = at
      break
    case 'insert':
      bytes.splice(at, 0, ...m.bytes)
      break
    case 'delete':
      bytes.splice(at, m.count)
      break
    case 'header':
      for (let i = 0; i < 4 && i < bytes.length; i++) bytes[i] = (m.declared >>> (8 * i)) & 0xff
      break
    case 'resize':
      // The declared length off by a little: the mismatch a real bug would cause.
      if (bytes.length >= 4) {
        const declared =
          (bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24)) >>> 0
        const resized = Math.max(0, declared + m.delta)
        for (let i = 0; i < 4; i++) bytes[i] = (resized >>> (8 * i)) & 0xff
      }
      break
  }
  return new Uint8Array(bytes)
}

/** A value as compress() stores it, of 0..3000 bytes of any corpus shape. */
export const storedValue: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.integer({ min: 0, max: 3000 }), fc.constantFrom(...Object.keys(shapes)), fc.nat())
  .map(([n, shape, seed]) => compress(shapes[shape]!(n, seed)))

/** A stored value with 1 to 4 mutations applied. */
export const damagedValue: fc.Arbitrary<Uint8Array> = fc
  .tuple(storedValue, fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([value, mutations]) => mutations.reduce(mutate, value))
