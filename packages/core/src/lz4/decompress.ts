import { type CorruptValueError, InvalidArgumentError } from '../errors.js'
import { maxDecompressedSize } from './bound.js'
import { corrupt } from './corrupt.js'
import { HEADER_SIZE, MAX_INPUT_SIZE, MIN_MATCH, RUN_MASK } from './format.js'

/**
 * Above this declared size the block is walked before the output is allocated (see
 * {@link checkBlockLength}): a damaged value makes the decoder allocate at most this much more than
 * the block decodes to.
 */
const CHECK_BEFORE_ALLOCATING = 4 * 1024 * 1024

/** Literal runs shorter than this are copied byte by byte: `set` costs a view and a call. */
const SHORT_LITERALS = 32

/** Matches longer than this are copied with `copyWithin`, a memmove, instead of in chunks. */
const LONG_MATCH = 64

/**
 * A chunked match copy may write up to 7 bytes past the match (overwritten later by the next
 * sequences); it is used only when those bytes are still inside the output.
 */
const WILD_COPY_SLACK = 8

/**
 * Decompresses a value stored by {@link compress} (or by the Go framework's go-lz4, or by liblz4
 * with a stored size): a 4-byte little-endian length, then one raw LZ4 block.
 *
 * Decoding is strict. It checks every length against the input before reading and against the
 * declared size before writing, so a damaged value can neither return garbage nor read or write
 * out of bounds. Before it allocates the declared size it bounds it by what a block of that size
 * could produce and, above 4 MiB, walks the block's sequences to check that they produce exactly
 * that size, so a damaged value cannot make it allocate much more than the block decodes to. It always
 * terminates: every step consumes input. It does accept a block that breaks only liblz4's
 * end-of-block parsing rules (a last match under 12 bytes from the end, as raw lz4js writes):
 * such a block still decodes to exactly one output, and rejecting it would lose data an older
 * writer stored.
 *
 * @param stored - The stored value.
 * @returns The original bytes, exactly as long as the header declares.
 * @throws {@link CorruptValueError} (`KV_CORRUPT_VALUE`) saying what was wrong when `stored` is
 * not a valid value: a truncated header or block, a match offset of 0 or before the start of the
 * output, a block ending in a match, or a declared length the block does not produce.
 * @throws {@link InvalidArgumentError} when `stored` is not a `Uint8Array`.
 */
export function decompress(stored: Uint8Array): Uint8Array {
  if (!(stored instanceof Uint8Array)) {
    throw new InvalidArgumentError('stored', 'decompress() takes a Uint8Array')
  }
  const end = stored.length
  if (end < HEADER_SIZE) {
    throw corrupt(`it is ${end} bytes, shorter than the 4-byte length header`)
  }
  if (end === HEADER_SIZE) {
    throw corrupt('the 4-byte length header is not followed by an LZ4 block')
  }
  const declared = (stored[0]! | (stored[1]! << 8) | (stored[2]! << 16) | (stored[3]! << 24)) >>> 0
  const blockSize = end - HEADER_SIZE
  if (declared > MAX_INPUT_SIZE) {
    throw corrupt(`the header declares ${declared} bytes, more than LZ4's ${MAX_INPUT_SIZE}`)
  }
  if (declared > maxDecompressedSize(blockSize)) {
    throw corrupt(
      `the header declares ${declared} bytes, but a ${blockSize}-byte LZ4 block decodes to at most ${maxDecompressedSize(blockSize)}`,
    )
  }
  // A crafted value of 8 MiB may declare 2 GB, which the bound above allows; only the block's
  // own sequences say what it decodes to. Walking them first costs about a quarter of the decode
  // time (measured on JSON), so it is done only where a wrong allocation would hurt.
  if (declared > CHECK_BEFORE_ALLOCATING) checkBlockLength(stored, declared)
  const out = new Uint8Array(declared)
  decodeBlock(stored, out)
  return out
}

/**
 * Walks the block's sequences without writing anything, with every bound check of
 * {@link decodeBlock}, and throws unless they produce exactly `declared` bytes. It reads tokens,
 * length extensions and offsets and skips over literals, so it costs a fraction of decoding.
 */
function checkBlockLength(src: Uint8Array, declared: number): void {
  const srcEnd = src.length
  let ip = HEADER_SIZE
  let op = 0
  for (;;) {
    if (ip >= srcEnd) throw endsWithMatch(src, ip)
    const token = src[ip++]!
    let literals = token >>> 4
    if (literals === RUN_MASK) {
      let b: number
      do {
        if (ip >= srcEnd) throw truncated('a literal length', ip)
        b = src[ip++]!
        literals += b
      } while (b === 255)
    }
    if (literals > srcEnd - ip) throw literalsPastEnd(literals, srcEnd - ip, ip)
    if (literals > declared - op) throw longerThanDeclared(declared)
    ip += literals
    op += literals
    if (ip === srcEnd) {
      if (op !== declared) throw shorterThanDeclared(op, declared)
      return
    }
    if (srcEnd - ip < 2) throw truncated('a match offset', ip)
    const offset = src[ip]! | (src[ip + 1]! << 8)
    if (offset === 0) throw corrupt(`match offset 0 at block byte ${ip - HEADER_SIZE}`)
    if (offset > op) throw offsetBeforeStart(offset, op)
    ip += 2
    let length = token & RUN_MASK
    if (length === RUN_MASK) {
      let b: number
      do {
        if (ip >= srcEnd) throw truncated('a match length', ip)
        b = src[ip++]!
        length += b
      } while (b === 255)
    }
    length += MIN_MATCH
    if (length > declared - op) throw longerThanDeclared(declared)
    op += length
  }
}

/**
 * Decodes the block at `src[HEADER_SIZE, src.length)` into exactly `out.length` bytes of `out`.
 * One function with local variables only, so V8 keeps everything in registers. Before any byte
 * is read or written its bounds are checked (again: {@link checkBlockLength} has passed, but
 * these checks are what keeps every access in bounds, and cost little); bytes a chunked copy writes past a match are inside
 * `out` and are overwritten by later sequences, or the block is rejected and `out` dropped.
 */
function decodeBlock(src: Uint8Array, out: Uint8Array): void {
  const srcEnd = src.length
  const outEnd = out.length
  const view = new DataView(out.buffer, out.byteOffset, outEnd)
  const wildEnd = outEnd - WILD_COPY_SLACK
  let ip = HEADER_SIZE
  let op = 0

  for (;;) {
    // The previous sequence ended with a match: a block must end with literals, so a missing
    // token here means the block was cut short.
    if (ip >= srcEnd) throw endsWithMatch(src, ip)
    const token = src[ip++]!

    let literals = token >>> 4
    if (literals === RUN_MASK) {
      let b: number
      do {
        if (ip >= srcEnd) throw truncated('a literal length', ip)
        b = src[ip++]!
        literals += b
      } while (b === 255)
    }
    if (literals > srcEnd - ip) throw literalsPastEnd(literals, srcEnd - ip, ip)
    if (literals > outEnd - op) throw longerThanDeclared(outEnd)
    if (literals < SHORT_LITERALS) {
      for (const stop = ip + literals; ip < stop; ) out[op++] = src[ip++]!
    } else {
      out.set(src.subarray(ip, ip + literals), op)
      ip += literals
      op += literals
    }

    // The only valid end of a block: the last sequence is literals only.
    if (ip === srcEnd) {
      if (op !== outEnd) throw shorterThanDeclared(op, outEnd)
      return
    }

    if (srcEnd - ip < 2) throw truncated('a match offset', ip)
    const offset = src[ip]! | (src[ip + 1]! << 8)
    if (offset === 0) throw corrupt(`match offset 0 at block byte ${ip - HEADER_SIZE}`)
    if (offset > op) throw offsetBeforeStart(offset, op)
    ip += 2

    let length = token & RUN_MASK
    if (length === RUN_MASK) {
      let b: number
      do {
        if (ip >= srcEnd) throw truncated('a match length', ip)
        b = src[ip++]!
        length += b
      } while (b === 255)
    }
    length += MIN_MATCH
    if (length > outEnd - op) throw longerThanDeclared(outEnd)

    let ref = op - offset
    const stop = op + length
    if (length > LONG_MATCH) {
      // copyWithin reads the source as it was before the call, so an overlapping match (offset <
      // length, a repeating pattern) is copied in chunks of `op - ref` bytes, all already
      // written; that distance doubles with every chunk.
      while (op < stop) {
        const chunk = Math.min(op - ref, stop - op)
        out.copyWithin(op, ref, ref + chunk)
        op += chunk
      }
    } else if (offset >= 4 && stop <= wildEnd) {
      // Unaligned 4-byte loads and stores through a DataView, two a step. With offset >= 4 each
      // load reads only bytes already written (the previous store included), so a repeating
      // pattern comes out right. Most matches in real data are short and this is the path that
      // makes the strict decoder faster than lz4js's byte loop.
      do {
        view.setUint32(op, view.getUint32(ref, true), true)
        view.setUint32(op + 4, view.getUint32(ref + 4, true), true)
        op += 8
        ref += 8
      } while (op < stop)
      op = stop
    } else {
      // Near the end of the output, or a pattern of 1 to 3 bytes repeating.
      while (op < stop) out[op++] = out[ref++]!
    }
  }
}

function truncated(what: string, ip: number): CorruptValueError {
  return corrupt(`the block ends inside ${what} at block byte ${ip - HEADER_SIZE}`)
}

function endsWithMatch(src: Uint8Array, ip: number): CorruptValueError {
  return corrupt(
    `the block ends after a match at block byte ${ip - HEADER_SIZE} of ${src.length - HEADER_SIZE}; the last sequence must be literals only (truncated?)`,
  )
}

function literalsPastEnd(literals: number, left: number, ip: number): CorruptValueError {
  return corrupt(
    `${literals} literals at block byte ${ip - HEADER_SIZE} run past the end of the block, which has ${left} bytes left`,
  )
}

function offsetBeforeStart(offset: number, op: number): CorruptValueError {
  return corrupt(`match offset ${offset} points before the start of the output at byte ${op}`)
}

function longerThanDeclared(declared: number): CorruptValueError {
  return corrupt(`the block decodes to more than the ${declared} bytes the header declares`)
}

function shorterThanDeclared(produced: number, declared: number): CorruptValueError {
  return corrupt(`the block decodes to ${produced} bytes but the header declares ${declared}`)
}
