import { uint8ArrayOf } from '../bytes.js'
import { type CorruptValueError, InvalidArgumentError } from '../errors.js'
import { maxDecompressedSize } from './bound.js'
import { corrupt } from './corrupt.js'
import { HEADER_SIZE, MAX_INPUT_SIZE, MIN_MATCH, RUN_MASK } from './format.js'

/**
 * A value declaring at most this many bytes is decoded into {@link scratch} and copied out once
 * it has decoded to exactly that size; a larger one has its block walked first (see
 * {@link checkBlockLength}). Either way the declared size is allocated only for a good value
 * (SPEC §4). The copy out costs a memcpy (about 5 % of decoding 100 KB of JSON); the walk, which
 * visits every sequence, 35–70 % (measured with `pnpm bench`), so it is left to large values.
 */
const SCRATCH_MAX_BYTES = 1024 * 1024
/**
 * Reused by every decode up to {@link SCRATCH_MAX_BYTES}; it grows (by powers of two, from
 * 64 KiB) to the largest size declared so far, so a damaged value can make it grow once, not
 * allocate per value.
 */
let scratch = new Uint8Array(0)

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
 * out of bounds. It allocates the declared size only for a value that decodes to it: it bounds
 * that size by what a block of that size could produce, then decodes a value of up to 1 MiB into
 * a reused scratch buffer before copying it out, and walks a larger one's sequences to check that they
 * produce exactly that size before it allocates and decodes. It always
 * terminates: every step consumes input. It does accept a block that breaks only liblz4's
 * end-of-block parsing rules (a last match under 12 bytes from the end, as raw lz4js writes):
 * such a block still decodes to exactly one output, and rejecting it would lose data an older
 * writer stored.
 *
 * @param input - The stored value (a `Uint8Array` of any realm).
 * @returns The original bytes, exactly as long as the header declares.
 * @throws {@link CorruptValueError} (`KV_CORRUPT_VALUE`) saying what was wrong when `stored` is
 * not a valid value: a truncated header or block, a match offset of 0 or before the start of the
 * output, a block ending in a match, or a declared length the block does not produce.
 * @throws {@link InvalidArgumentError} when `stored` is not a `Uint8Array`.
 */
export function decompress(input: Uint8Array): Uint8Array {
  const stored = uint8ArrayOf(input)
  if (stored === undefined) {
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
  // A crafted value of 16 KiB may declare 4 MiB, and one of 8 MiB 2 GB, which the bound above
  // allows; only the block's own sequences say what it decodes to.
  if (declared <= SCRATCH_MAX_BYTES) {
    if (declared > scratch.length) {
      scratch = new Uint8Array(Math.max(64 * 1024, 2 ** Math.ceil(Math.log2(declared))))
    }
    const decoded = scratch.subarray(0, declared)
    decodeBlock(stored, decoded)
    return decoded.slice()
  }
  checkBlockLength(stored, declared)
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
