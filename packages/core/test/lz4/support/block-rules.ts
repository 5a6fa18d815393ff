/**
 * An independent checker of the LZ4 block format's rules, including the end-of-block rules
 * liblz4 enforces, for testing what the encoder writes without needing liblz4.
 */

/**
 * Returns why `block` is not a valid LZ4 block decoding to exactly `size` bytes, or undefined
 * when it is valid.
 */
export function blockViolation(block: Uint8Array, size: number): string | undefined {
  let ip = 0
  let op = 0
  let lastMatchStart = -1
  const readLength = (start: number): number | undefined => {
    let length = start
    let b: number
    do {
      if (ip >= block.length) return undefined
      b = block[ip++]!
      length += b
    } while (b === 255)
    return length
  }
  for (;;) {
    if (ip >= block.length) return 'the block ends after a match (or is empty)'
    const token = block[ip++]!
    const literals = token >>> 4 === 15 ? readLength(15) : token >>> 4
    if (literals === undefined) return 'truncated literal length'
    if (ip + literals > block.length) return 'truncated literals'
    ip += literals
    op += literals
    if (ip === block.length) break
    if (ip + 2 > block.length) return 'truncated offset'
    const offset = block[ip]! | (block[ip + 1]! << 8)
    ip += 2
    if (offset === 0 || offset > op) return `bad offset ${offset} at output ${op}`
    const length = (token & 15) === 15 ? readLength(15) : token & 15
    if (length === undefined) return 'truncated match length'
    lastMatchStart = op
    op += length + 4
    if (op > size - 5) return `a match ends at ${op}, inside the last 5 bytes of ${size}`
  }
  if (op !== size) return `decodes to ${op} bytes, not ${size}`
  if (lastMatchStart >= 0 && size - lastMatchStart < 12) {
    return `the last match starts at ${lastMatchStart}, under 12 bytes before the end (${size})`
  }
  return undefined
}
