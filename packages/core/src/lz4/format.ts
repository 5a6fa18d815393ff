/**
 * Constants of the LZ4 block format and of the Go framework's stored layout (SPEC §4).
 *
 * @module
 */

/** The stored value starts with the uncompressed length as a 4-byte little-endian integer. */
export const HEADER_SIZE = 4

/** The shortest match LZ4 encodes; a token's match nibble counts from here. */
export const MIN_MATCH = 4

/** The last 5 bytes of a block's output are always literals (liblz4's LASTLITERALS). */
export const LAST_LITERALS = 5

/** The last match must start at least 12 bytes before the end of the output (MFLIMIT). */
export const MF_LIMIT = 12

/** The largest input liblz4 and go-lz4 compress (LZ4_MAX_INPUT_SIZE); larger declares are bogus. */
export const MAX_INPUT_SIZE = 0x7e000000

/**
 * The most output one block byte can produce: a length-extension byte of 255 adds 255 bytes,
 * and every other kind of byte adds less. So a block of `k` bytes decodes to at most `255 * k`.
 */
export const MAX_EXPANSION = 255

/** A token's 4-bit length field saturates at 15; longer lengths continue in extension bytes. */
export const RUN_MASK = 15
