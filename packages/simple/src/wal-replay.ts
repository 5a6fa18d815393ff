/**
 * Replays one WAL segment into an index, telling a torn tail from corruption.
 *
 * The records end at the end of the file or where zeros begin (space preallocated for records
 * to come). Only the segment that was being appended to can end in a *torn tail*; any damage in
 * a segment after which later segments hold records is corruption: the caller gets
 * `KV_CORRUPT_STORE` with the offset. What counts as a torn tail depends on the format version.
 *
 * Versions 1 and 2 (no batch frames): a last frame that is incomplete (its header or payload runs
 * past the end of the file, or stops where the zeros begin) or that fails its checksum with
 * nothing but zeros after it — what a process that died in the middle of an append leaves.
 * Damage with anything but zeros after it is corruption.
 *
 * Version 3: each batch starts with a batch frame numbering it and giving its length. A power
 * cut or kernel crash during a batch's write may leave any subset of its pages on disk (the
 * others read back as they were: zeros, in preallocated space, or past the end of the file), so
 * damage in the last batch can be followed by intact records of that batch — but never by
 * anything past the end its frame gives, which the write did not touch. So damage at offset P is
 * a torn tail when
 * - P lies inside a batch whose frame is intact (P is before the end the frame gives), and
 *   every byte from that end on is zero (or there is none); or
 * - P is where a batch frame must start (the frame is damaged, so where its batch ends is not
 *   known), and no intact batch frame numbered after the last good batch starts anywhere after P.
 * The damage then lies in the WAL's last batch; the file is cut at P, keeping the batch's records
 * before P. A batch whose records stop (at zeros or at the end of the file) before the length its
 * frame gives is torn in the same way. Any other damage is corruption: bytes after the damaged
 * batch mean a later batch was written, which starts only after this one was acknowledged.
 *
 * The last batch is not always unacknowledged: `close()` appends an empty batch (a *seal*, see
 * `WalWriter.close`), so damage in a batch written before a clean close is followed by the seal
 * and is corruption; what can be cut is damage in the last batch written since the store was last
 * closed cleanly — the batch being written when the process or the machine stopped, or one
 * acknowledged before it stopped and damaged since — or in a seal, which holds no records.
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
  Op,
  readU64,
} from './format.js'
import type { MemoryIndex } from './memory-index.js'
import {
  applyRecord,
  BATCH_FRAME_BYTES,
  BATCH_PAYLOAD_BYTES,
  readBatchFrame,
  writeBatchFrame,
} from './wal-record.js'

/** The first format version whose WAL batches start with a batch frame. */
const BATCH_FRAMES_VERSION = 3

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
  /** The number of the last batch kept (version 3; 0 when none, or for older versions). */
  batches: number
  /** Whether the last batch kept holds records (version 3): no seal follows it. */
  unsealed: boolean
  /**
   * When the tail was cut inside a batch (version 3): the batch frame rewritten to give the
   * length of the records kept, and its offset. Written with the cut, so that the batches
   * appended after the cut follow a batch of the right length.
   */
  rewrite: { at: number; bytes: Buffer } | undefined
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
    (cursor, version) =>
      version >= BATCH_FRAMES_VERSION
        ? replayBatches(cursor, path, index, mayBeTorn, version)
        : replayRecords(cursor, path, index, mayBeTorn, version),
  )
}

/** Replays a segment of version 1 or 2: records without batch frames. */
async function replayRecords(
  cursor: FileCursor,
  path: string,
  index: MemoryIndex,
  mayBeTorn: boolean,
  version: number,
): Promise<ReplayResult> {
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
    return {
      end: offset,
      size,
      records,
      torn: reason,
      version,
      batches: 0,
      unsealed: false,
      rewrite: undefined,
    }
  }
  while (offset < size) {
    if (cursor.due(offset)) await cursor.turn(offset)
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
  return {
    end: offset,
    size,
    records,
    torn: undefined,
    version,
    batches: 0,
    unsealed: false,
    rewrite: undefined,
  }
}

/** Replays a segment of version 3: batches, each a batch frame and the records it counts. */
async function replayBatches(
  cursor: FileCursor,
  path: string,
  index: MemoryIndex,
  mayBeTorn: boolean,
  version: number,
): Promise<ReplayResult> {
  const { size } = cursor
  const checksum = frameChecksum(FileKind.WAL, version)
  let offset = FILE_HEADER_BYTES
  let records = 0
  // The last good batch: its number, where its frame starts, where its records end (where the
  // next batch frame must start; a segment starts with one), and their bytes.
  let batches = 0
  let batchAt = -1
  let batchEnd = FILE_HEADER_BYTES
  let batchBytes = 0

  /** Damage at `offset` (`what` it is): a torn tail, or corruption. */
  const damaged = async (what: string): Promise<ReplayResult> => {
    if (!mayBeTorn) throw corrupt(path, offset, `${what}, and later segments hold records`)
    let rewrite: ReplayResult['rewrite']
    let kept = batchBytes
    if (offset < batchEnd) {
      // Inside a batch: its write touched nothing past its end, so bytes there are a later
      // batch's, written only once this one was acknowledged.
      if (!(await zerosFrom(cursor, batchEnd))) {
        throw corrupt(
          path,
          offset,
          `${what}, and its batch, which ends at byte ${batchEnd}, is not the last: non-zero bytes follow`,
        )
      }
      // Cut inside the last batch: its frame must give the length of the records kept.
      kept = offset - batchAt - BATCH_FRAME_BYTES
      const bytes = Buffer.alloc(BATCH_FRAME_BYTES)
      writeBatchFrame(bytes, 0, batches, kept)
      rewrite = { at: batchAt, bytes }
    } else {
      // A batch frame is damaged: where its batch ends is unknown, but a later one would show.
      const later = await batchFrameAfter(cursor, offset + 1, batches)
      if (later >= 0) {
        throw corrupt(path, offset, `${what}, and an intact later batch starts at byte ${later}`)
      }
    }
    return {
      end: offset,
      size,
      records,
      torn: what,
      version,
      batches,
      unsealed: kept > 0,
      rewrite,
    }
  }

  for (;;) {
    if (cursor.due(offset)) await cursor.turn(offset)
    const inBatch = offset < batchEnd
    const kind = inBatch ? 'a record' : 'a batch frame'
    if (offset >= size) {
      if (!inBatch) break
      return damaged(`the batch's records stop at the end of the file, before byte ${batchEnd}`)
    }
    if (size - offset < FRAME_HEADER_BYTES) {
      if (!inBatch && (await zerosFrom(cursor, offset))) break
      return damaged(`the header of ${kind} is cut off`)
    }
    let i = cursor.view(offset, FRAME_HEADER_BYTES)
    if (i < 0) i = await cursor.load(offset, FRAME_HEADER_BYTES)
    const length = frameLength(cursor.buffer, i)
    if (length < 0) {
      const zeros = await zerosFrom(cursor, offset)
      // Zeros where a batch would start: the end of the records (the rest is preallocated).
      if (zeros && !inBatch) break
      return damaged(
        zeros
          ? `the batch's records stop before byte ${batchEnd}, where its frame says they end`
          : `the header of ${kind} is damaged (its length check fails)`,
      )
    }
    const end = offset + FRAME_HEADER_BYTES + length
    if (inBatch && end > batchEnd) {
      throw corrupt(path, offset, `a record runs past the end of its batch (byte ${batchEnd})`)
    }
    if (end > size) return damaged(`the payload of ${kind} is cut off`)
    i = cursor.view(offset, FRAME_HEADER_BYTES + length)
    if (i < 0) i = await cursor.load(offset, FRAME_HEADER_BYTES + length)
    if (!frameIntact(cursor.buffer, i, length, checksum)) {
      return damaged(`${kind} fails its checksum`)
    }
    if (!inBatch) {
      // The frame's checksum holds (frameIntact): read its fields, without hashing it again — a
      // store written by one awaited writer has a batch frame for every record.
      const p = i + FRAME_HEADER_BYTES
      if (length !== BATCH_PAYLOAD_BYTES || cursor.buffer[p] !== Op.BATCH) {
        throw corrupt(path, offset, 'a record stands where a batch frame must start')
      }
      const sequence = readU64(cursor.buffer, p + 1)
      if (sequence !== batches + 1) {
        throw corrupt(path, offset, `batch ${sequence} follows batch ${batches}`)
      }
      batches = sequence
      batchAt = offset
      batchBytes = readU64(cursor.buffer, p + 9)
      batchEnd = end + batchBytes
      offset = end
      continue
    }
    const start = i + FRAME_HEADER_BYTES
    if (!applyRecord(index, cursor.buffer, start, start + length)) {
      throw corrupt(path, offset, 'a record is malformed although its checksum holds')
    }
    records++
    offset = end
  }
  return {
    end: offset,
    size,
    records,
    torn: undefined,
    version,
    batches,
    unsealed: batchBytes > 0,
    rewrite: undefined,
  }
}

/**
 * The offset of the first intact batch frame numbered after `batches` that starts at `from` or
 * later, or -1 when there is none: whether damage before `from` lies in the last batch.
 *
 * Any offset is tried, not only where a frame could start, since the damage may have hidden
 * where the frames are. A value whose bytes happen to hold such a batch frame is taken for a later
 * batch: that can only turn a torn tail into KV_CORRUPT_STORE — a refusal, never a record
 * dropped that an acknowledged batch holds. (Used only for a damaged batch frame: damage inside a
 * batch is judged by the bytes after the batch's end.)
 */
async function batchFrameAfter(cursor: FileCursor, from: number, batches: number): Promise<number> {
  const last = cursor.size - BATCH_FRAME_BYTES
  for (let at = from; at <= last; ) {
    const length = Math.min(cursor.size - at, SCAN_BYTES)
    const i = await cursor.load(at, length)
    const { buffer } = cursor
    const stop = i + length - BATCH_FRAME_BYTES
    for (let j = i; j <= stop; j++) {
      // Cheap tests first: the low byte of the length and the op.
      if (buffer[j] !== BATCH_PAYLOAD_BYTES || buffer[j + FRAME_HEADER_BYTES] !== Op.BATCH) continue
      const frame = readBatchFrame(buffer, j)
      if (frame !== undefined && frame.sequence > batches) return at + (j - i)
    }
    // The next window overlaps this one by a frame less one byte: no frame straddles unseen.
    at += length - BATCH_FRAME_BYTES + 1
  }
  return -1
}

/** Bytes of the file {@link batchFrameAfter} looks at in one window. */
const SCAN_BYTES = 1024 * 1024

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
