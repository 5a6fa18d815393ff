/**
 * `FileCursor`: reads a file front to back in large chunks, so that recovery parses records
 * straight out of one buffer and awaits only when it runs off the end of a chunk.
 *
 * @module
 */
import { promises as fs } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { corrupt, FILE_HEADER_BYTES, type FileKind, readFileHeader } from './format.js'

/** Where a file header's sequence number starts (see format.ts). */
const SEQUENCE_FIELD_OFFSET = 12

const CHUNK_BYTES = 8 * 1024 * 1024
/**
 * Bytes parsed between two turns of the event loop (see {@link FileCursor.due}). Parsing a chunk
 * of 8 MiB without one held the loop 120–130 ms while a store of 1,000,000 entries opened; a
 * turn per mebibyte costs an `open()` nothing measurable.
 */
const TURN_BYTES = 1024 * 1024

/** A window of a file in memory. */
export class FileCursor {
  /** The bytes of the window; file offset `base` is at index 0. */
  buffer = Buffer.allocUnsafeSlow(CHUNK_BYTES)
  #base = 0
  #filled = 0
  #turnAt = TURN_BYTES

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
   * Whether parsing has reached `offset` a mebibyte or more past the last {@link turn}: a loop
   * over the file's records checks it (synchronously: an await per record would cost one) and
   * then awaits {@link turn}, so that opening a large store leaves timers and I/O their turns.
   */
  due(offset: number): boolean {
    return offset >= this.#turnAt
  }

  /** Gives the event loop a turn (see {@link due}). */
  async turn(offset: number): Promise<void> {
    this.#turnAt = offset + TURN_BYTES
    await new Promise<void>((resolve) => setImmediate(resolve))
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

/**
 * Opens the file at `path`, checks that its header is a valid header of `kind` naming
 * `sequence` — else `KV_CORRUPT_STORE` at the header's sequence field, with `mismatch(found)`
 * saying what differs — and runs `read` with a cursor over the file and the file's format
 * version. The file is closed after.
 */
export async function readCheckedFile<T>(
  path: string,
  kind: FileKind,
  sequence: number,
  mismatch: (found: number) => string,
  read: (cursor: FileCursor, version: number) => Promise<T>,
): Promise<T> {
  const handle = await fs.open(path, 'r')
  try {
    const { size } = await handle.stat()
    const cursor = new FileCursor(handle, size)
    const headerLength = Math.min(size, FILE_HEADER_BYTES)
    const at = await cursor.load(0, headerLength)
    const header = readFileHeader(cursor.buffer.subarray(at, at + headerLength), kind, path)
    if (header.sequence !== sequence) {
      throw corrupt(path, SEQUENCE_FIELD_OFFSET, mismatch(header.sequence))
    }
    return await read(cursor, header.version)
  } finally {
    await handle.close()
  }
}
