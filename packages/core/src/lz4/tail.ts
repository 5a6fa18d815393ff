import { LAST_LITERALS, MF_LIMIT, MIN_MATCH, RUN_MASK } from './format.js'
import { writeLiteralRun } from './literals.js'

/**
 * Makes an lz4js block obey the format's end-of-block rules, which lz4js 0.2.0 does not:
 * it looks for matches while `pos + 4 < end - 5`, so its last match can start 10 or 11 bytes
 * before the end, where liblz4 requires at least 12 (MFLIMIT) and rejects the block.
 *
 * lz4js already stops extending matches 5 bytes before the end and always ends with a literal
 * run, so the only repair needed is for that last match: it and the final literals become one
 * literal run. That costs a few bytes of ratio on the rare input that triggers it.
 *
 * @param src - The whole input that was compressed (from index 0).
 * @param block - The block lz4js wrote, from index 0.
 * @param size - The block's length as lz4js returned it (non-zero).
 * @returns The block's length after repair (unchanged when it was already valid).
 */
export function repairBlockTail(src: Uint8Array, block: Uint8Array, size: number): number {
  if (!mayEndWithLateMatch(block, size)) return size

  // Walk the sequences (skipping literal bytes, so this costs per sequence, not per byte) to find
  // where the last sequence with a match begins in the block and in the output.
  const end = src.length
  let ip = 0
  let op = 0
  let lastToken = -1
  let lastLiteralStart = 0
  let lastMatchStart = 0
  for (;;) {
    const tokenAt = ip
    const literalStart = op
    const token = block[ip++]!
    let literals = token >>> 4
    if (literals === RUN_MASK) {
      let b: number
      do {
        b = block[ip++]!
        literals += b
      } while (b === 255)
    }
    ip += literals
    op += literals
    if (ip >= size) break
    ip += 2
    let matchLength = token & RUN_MASK
    if (matchLength === RUN_MASK) {
      let b: number
      do {
        b = block[ip++]!
        matchLength += b
      } while (b === 255)
    }
    lastToken = tokenAt
    lastLiteralStart = literalStart
    lastMatchStart = op
    op += matchLength + MIN_MATCH
  }

  if (lastToken < 0 || end - lastMatchStart >= MF_LIMIT) return size
  return writeLiteralRun(src, lastLiteralStart, end, block, lastToken)
}

/**
 * A cheap test that rules out a late match for almost every block without walking it.
 *
 * A match starting 10 or 11 bytes before the end is at least 4 long and ends at most 5 bytes
 * before the end, so the final literal run is 5, 6 or 7 bytes: a one-byte token `L << 4`
 * followed by those `L` bytes. If no such token sits where it would, no repair is needed.
 */
function mayEndWithLateMatch(block: Uint8Array, size: number): boolean {
  for (let count = LAST_LITERALS; count <= MF_LIMIT - 1 - MIN_MATCH; count++) {
    if (block[size - count - 1] === count << 4) return true
  }
  return false
}
