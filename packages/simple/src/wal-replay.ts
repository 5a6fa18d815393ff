/**
 * Replays one WAL segment into an index, telling a torn tail from corruption.
 *
 * The records end at the end of the file or where zeros begin (space preallocated for records
 * to come). A *torn tail* is what a process that died in the middle of an append leaves: a last
 * frame that is incomplete (its header or payload runs past the end of the file, or stops where
 * the zeros begin) or that fails its checksum with nothing but zeros after it. Only the segment
 * that was being appended to can have one. Any other damage — a length check or checksum failing
 * with records after it, a malformed record — is corruption: the caller gets `KV_CORRUPT_STORE`
 * with the offset.
 *
 * @module
 */
import { type FileCursor, readCheckedFile } from './file-cursor.js'
import {
  corrupt,
  FILE_HEADER_BYTES,
  FileKind,
  FRAME_HEADER_BYTES,
  frameChecksum,
  frameIntact,
  frameLength,
} from './format.js'
import type { MemoryIndex } from './memory-index.js'
import { applyRecord } from './wal-record.js'

/** What replaying a segment found. */
export interface ReplayResult {
  /** Offset just after the last good record: where the next record goes. */
  end: number
  /** The file's size (larger than `end` when the tail was torn or space is preallocated). */
  size: number
  /** Records applied. */
  records: number
  /** Why the record at `end` was not replayed, when the tail was torn. */
  torn: string | undefined
  /** The segment's format version. */
  version: number
}

/**
 * Replays the segment at `path` (number `sequence`) into `index`. With `mayBeTorn` false a torn
 * tail counts as corruption (the segment was not the one being appended to).
 */
export async function replaySegment(
  path: string,
  sequence: number,
  index: MemoryIndex,
  mayBeTorn: boolean,
): Promise<ReplayResult> {
  return readCheckedFile(
    path,
    FileKind.WAL,
    sequence,
    (found) => `the header says segment ${found}, the file name says ${sequence}`,
    async (cursor, version) => {
      const { size } = cursor
      const checksum = frameChecksum(FileKind.WAL, version)
      let offset = FILE_HEADER_BYTES
      let records = 0
      const torn = (reason: string): ReplayResult => {
        if (!mayBeTorn)
          throw corrupt(
            path,
            offset,
            `the last record is torn (${reason}), but later segments hold records`,
          )
        return { end: offset, size, records, torn: reason, version }
      }
      while (offset < size) {
        if (size - offset < FRAME_HEADER_BYTES) {
          if (await zerosFrom(cursor, offset)) break
          return torn('its header is cut off')
        }
        let i = cursor.view(offset, FRAME_HEADER_BYTES)
        if (i < 0) i = await cursor.load(offset, FRAME_HEADER_BYTES)
        const length = frameLength(cursor.buffer, i)
        if (length < 0) {
          // Zeros: the end of the records (the rest is preallocated space).
          if (await zerosFrom(cursor, offset)) break
          if (await zerosFrom(cursor, offset + FRAME_HEADER_BYTES))
            return torn('its header is incomplete')
          throw corrupt(path, offset, 'a record header is damaged (its length check fails)')
        }
        const end = offset + FRAME_HEADER_BYTES + length
        if (end > size) return torn('its payload is cut off')
        i = cursor.view(offset, FRAME_HEADER_BYTES + length)
        if (i < 0) i = await cursor.load(offset, FRAME_HEADER_BYTES + length)
        if (!frameIntact(cursor.buffer, i, length, checksum)) {
          if (await zerosFrom(cursor, end)) return torn('it fails its checksum')
          throw corrupt(path, offset, 'a record fails its checksum')
        }
        const start = i + FRAME_HEADER_BYTES
        if (!applyRecord(index, cursor.buffer, start, start + length)) {
          throw corrupt(path, offset, 'a record is malformed although its checksum holds')
        }
        records++
        offset = end
      }
      return { end: offset, size, records, torn: undefined, version }
    },
  )
}

/** True when every byte of the file from `offset` on is zero (or `offset` is at the end). */
async function zerosFrom(cursor: FileCursor, offset: number): Promise<boolean> {
  for (let at = offset; at < cursor.size; ) {
    const length = Math.min(cursor.size - at, 1024 * 1024)
    const i = await cursor.load(at, length)
    for (let j = i; j < i + length; j++) if (cursor.buffer[j] !== 0) return false
    at += length
  }
  return true
}
