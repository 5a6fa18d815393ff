/**
 * Types for the parts of `lz4js` 0.2.0 that the codec uses; the package ships none.
 *
 * `lz4js` is CommonJS (`exports.compressBlock = …`), so it is declared as `export =` and
 * imported as a default import.
 */
declare module 'lz4js' {
  /** Something `lz4js` can index byte by byte. */
  type Bytes = Uint8Array

  interface Lz4js {
    /**
     * Compresses `src[sIndex, sIndex + sLength)` into `dst` from index 0 and returns the number
     * of bytes written, or 0 when it found no match (the caller must then emit literals itself).
     * `hashTable` must be all zeros on entry: it holds absolute positions plus one, so a stale
     * entry can produce a match with offset 0 or one pointing at another input.
     */
    compressBlock(
      src: Bytes,
      dst: Bytes,
      sIndex: number,
      sLength: number,
      hashTable: Uint32Array,
    ): number

    /**
     * Decodes a raw block `src[sIndex, sIndex + sLength)` into `dst` from `dIndex` and returns the
     * end index. It checks nothing: used only as the benchmark baseline and in tests.
     */
    decompressBlock(src: Bytes, dst: Bytes, sIndex: number, sLength: number, dIndex: number): number

    /** lz4js's worst-case compressed size for `n` input bytes. */
    compressBound(n: number): number
  }

  const lz4js: Lz4js
  export = lz4js
}
