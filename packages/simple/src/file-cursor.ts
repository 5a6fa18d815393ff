/**
 * `FileCursor`: reads a file front to back in large chunks, so that recovery parses records
 * straight out of one buffer and awaits only when it runs off the end of a chunk.
 *
 * @module
 */
import type { FileHandle } from 'node:fs/promises'

const CHUNK_BYTES = 8 * 1024 * 1024

/** A window of a file in memory. */
export class FileCursor {
  /** The bytes of the window; file offset `base` is at index 0. */
  buffer = Buffer.allocUnsafeSlow(CHUNK_BYTES)
  #base = 0
  #filled = 0

  constructor(
    readonly handle: FileHandle,
    readonly size: number,
  ) {}

  /** Index in {@link buffer} of file offset `offset` when `length` bytes from it are loaded, else -1. */
  view(offset: number, length: number): number {
    const index = offset - this.#base
    return index >= 0 && index + length <= this.#filled ? index : -1
  }

  /**
   * Loads `length` bytes from `offset` (which must lie inside the file, as must the range) and
   * returns their index in {@link buffer}. Reads ahead as far as the buffer allows.
   */
  async load(offset: number, length: number): Promise<number> {
    const ready = this.view(offset, length)
    if (ready >= 0) return ready
    // Keep what is already loaded from `offset` on, at the front.
    let kept = 0
    const index = offset - this.#base
    if (index >= 0 && index < this.#filled) {
      kept = this.#filled - index
      this.buffer.copy(this.buffer, 0, index, this.#filled)
    }
    if (length > this.buffer.length) {
      const bigger = Buffer.allocUnsafeSlow(length)
      this.buffer.copy(bigger, 0, 0, kept)
      this.buffer = bigger
    }
    this.#base = offset
    this.#filled = kept
    const want = Math.min(this.buffer.length, this.size - offset)
    while (this.#filled < want) {
      const { bytesRead } = await this.handle.read(
        this.buffer,
        this.#filled,
        want - this.#filled,
        offset + this.#filled,
      )
      if (bytesRead === 0) break
      this.#filled += bytesRead
    }
    if (this.#filled < length)
      throw new Error(`${length} bytes at offset ${offset} are past the end of the file`)
    return 0
  }
}
