/// <reference path="./lz4js.d.ts" />
import lz4js from 'lz4js'
import { uint8ArrayOf } from '../bytes.js'
import { InvalidArgumentError } from '../errors.js'
import { literalBlockSize } from './bound.js'
import { HEADER_SIZE, MAX_INPUT_SIZE, MF_LIMIT } from './format.js'
import { freshHashTable } from './hash-table.js'
import { writeLiteralRun } from './literals.js'
import { repairBlockTail } from './tail.js'

const { compressBlock, compressBound } = lz4js

/**
 * Compresses `value` into the Go framework's stored layout (SPEC §4): the uncompressed length as
 * a 4-byte little-endian integer, then one raw LZ4 block. The block always satisfies liblz4's
 * rules, and the empty value is stored as `00 00 00 00 00`.
 *
 * @param input - The bytes to compress (a `Uint8Array` of any realm), at most 2,113,929,216 (LZ4's maximum input).
 * @returns The stored form; it may be a view on a buffer up to twice its length.
 * @throws {@link InvalidArgumentError} when `value` is not a `Uint8Array` or is too large.
 */
export function compress(input: Uint8Array): Uint8Array {
  const value = uint8ArrayOf(input)
  if (value === undefined) {
    throw new InvalidArgumentError('value', 'compress() takes a Uint8Array')
  }
  const n = value.length
  if (n > MAX_INPUT_SIZE) {
    throw new InvalidArgumentError(
      'value',
      `cannot compress ${n} bytes: LZ4 takes at most ${MAX_INPUT_SIZE} bytes`,
    )
  }

  // lz4js writes into typed arrays without checking, and writes past the end are silently
  // dropped, so the buffer must hold its worst case, which exceeds a literal-only block.
  const out = new Uint8Array(HEADER_SIZE + compressBound(n))
  out[0] = n & 0xff
  out[1] = (n >>> 8) & 0xff
  out[2] = (n >>> 16) & 0xff
  out[3] = n >>> 24

  const block = out.subarray(HEADER_SIZE)
  // A block under 13 bytes cannot hold a match (it must start 12 bytes before the end), and
  // lz4js would return 0 anyway: skip it and the 256 KiB table zeroing, the bulk of the cost.
  let size = n > MF_LIMIT ? compressBlock(value, block, 0, n, freshHashTable()) : 0
  if (size !== 0) size = repairBlockTail(value, block, size)
  // 0 means lz4js found no match and wrote nothing; and when it compressed no better than
  // storing the bytes, a literal run is smaller (so maxCompressedSize holds) and surely valid.
  if (size === 0 || size >= literalBlockSize(n)) size = writeLiteralRun(value, 0, n, block, 0)

  const length = HEADER_SIZE + size
  // A view keeps its whole buffer alive. When that would more than double what the caller holds
  // on to (compressible values: 100 KB of JSON becomes 36 KB), a copy is worth its ~1% of the
  // compression time; otherwise the view is returned as is.
  return length < out.length / 2 ? out.slice(0, length) : out.subarray(0, length)
}
