/**
 * The LZ4 codec of `@kv/core` (SPEC §4): the Go framework's stored layout, a 4-byte
 * little-endian uncompressed length followed by one raw LZ4 block, encoded with lz4js and
 * decoded by a strict decoder of our own.
 *
 * @module
 */

export { maxCompressedSize } from './bound.js'
export { compress } from './compress.js'
export { decompress } from './decompress.js'
