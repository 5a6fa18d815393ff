/**
 * WAL records: how one operation is laid out in a frame's payload, and how it is applied.
 *
 *     0    1  op: 1 put, 2 delete, 3 delete bucket
 *     1    1  bucket length B (1..255)
 *     2    B  bucket name, UTF-8
 *     put and delete:
 *     2+B  4  key length K, u32 LE
 *     6+B  K  key bytes
 *     put:
 *     6+B+K …  value bytes: the rest of the payload (possibly none)
 *
 * Lengths come from the frame, so any byte may appear in a bucket, key or value.
 *
 * From format version 3 on, every batch the writer flushes starts with a *batch frame*: an
 * ordinary frame whose {@link BATCH_PAYLOAD_BYTES}-byte payload is
 *
 *     0    1  op: 4 (batch)
 *     1    8  the batch's number in its segment, u64 LE: 1, 2, 3, …
 *     9    8  bytes of the record frames that follow and belong to the batch, u64 LE
 *
 * Recovery uses it to tell which batch damage lies in (see `wal-replay.ts`). A batch frame giving
 * 0 bytes (an empty batch) is the *seal* `WalWriter.close` appends after the last batch.
 *
 * @module
 */
import { copyBytes } from './copy-bytes.js'
import {
  FRAME_HEADER_BYTES,
  frameIntact,
  frameLength,
  Op,
  readU64,
  writeU32,
  writeU64,
} from './format.js'
import type { MemoryIndex } from './memory-index.js'
import { xxhash32 } from './xxhash32.js'

/** Bytes of a batch frame's payload. */
export const BATCH_PAYLOAD_BYTES = 17
/** Bytes of a whole batch frame, header included. */
export const BATCH_FRAME_BYTES = FRAME_HEADER_BYTES + BATCH_PAYLOAD_BYTES

/** What an intact batch frame says. */
export interface BatchFrame {
  /** The batch's number in its segment (from 1). */
  sequence: number
  /** Bytes of the record frames after it that belong to the batch. */
  recordBytes: number
}

/**
 * Writes the batch frame of batch `sequence`, whose records take `recordBytes`, into `target`
 * at `at` (room for {@link BATCH_FRAME_BYTES} bytes). Once per batch, not per record.
 */
export function writeBatchFrame(
  target: Buffer,
  at: number,
  sequence: number,
  recordBytes: number,
): void {
  const p = at + FRAME_HEADER_BYTES
  target.writeUInt32LE(BATCH_PAYLOAD_BYTES, at)
  target.writeUInt32LE(~BATCH_PAYLOAD_BYTES >>> 0, at + 4)
  target[p] = Op.BATCH
  writeU64(target, p + 1, sequence)
  writeU64(target, p + 9, recordBytes)
  target.writeUInt32LE(xxhash32(target, p, p + BATCH_PAYLOAD_BYTES), at + 8)
}

/**
 * What the batch frame at `source[at, at + BATCH_FRAME_BYTES)` says, or undefined unless those
 * bytes are an intact batch frame (length check, checksum and op all hold).
 */
export function readBatchFrame(source: Buffer, at: number): BatchFrame | undefined {
  const p = at + FRAME_HEADER_BYTES
  if (
    frameLength(source, at) !== BATCH_PAYLOAD_BYTES ||
    source[p] !== Op.BATCH ||
    !frameIntact(source, at, BATCH_PAYLOAD_BYTES, xxhash32)
  )
    return undefined
  return { sequence: readU64(source, p + 1), recordBytes: readU64(source, p + 9) }
}

/** Largest record for a key and value of these lengths (a bucket takes at most 255 bytes). */
export function recordBound(keyLength: number, valueLength: number): number {
  return FRAME_HEADER_BYTES + 2 + 255 + 4 + keyLength + valueLength
}

// The UTF-8 bytes of the last bucket written: writes come in runs to one bucket.
let lastName = ''
let lastNameBytes = Buffer.alloc(0)

function bucketBytes(bucket: string): Buffer {
  if (bucket !== lastName) {
    lastNameBytes = Buffer.from(bucket)
    lastName = bucket
  }
  return lastNameBytes
}

/**
 * Encodes one framed record into `target` at `at` (which has room for {@link recordBound}
 * bytes) and returns the offset just after it.
 */
export function encodeRecord(
  target: Buffer,
  at: number,
  op: number,
  bucket: string,
  key: Uint8Array | undefined,
  value: Uint8Array | undefined,
): number {
  // Plain byte stores (writeU32) rather than Buffer's writeUInt32LE: see format.ts.
  let p = at + FRAME_HEADER_BYTES
  target[p] = op
  const name = bucketBytes(bucket)
  const nameLength = name.length
  target[p + 1] = nameLength
  p += 2
  for (let i = 0; i < nameLength; i++) target[p + i] = name[i]!
  p += nameLength
  if (key !== undefined) {
    const keyLength = key.length
    writeU32(target, p, keyLength)
    copyBytes(key, 0, keyLength, target, p + 4)
    p += 4 + keyLength
  }
  if (value !== undefined) {
    copyBytes(value, 0, value.length, target, p)
    p += value.length
  }
  const length = p - at - FRAME_HEADER_BYTES
  const inverted = ~length
  const checksum = xxhash32(target, at + FRAME_HEADER_BYTES, p)
  writeU32(target, at, length)
  writeU32(target, at + 4, inverted)
  writeU32(target, at + 8, checksum)
  return p
}

/**
 * Applies the record whose payload is `source[start, end)` to `index`. Returns false when the
 * payload is not a well-formed record (its checksum held, so this is damage or a bug, never a
 * torn write).
 */
export function applyRecord(
  index: MemoryIndex,
  source: Buffer,
  start: number,
  end: number,
): boolean {
  if (end - start < 2) return false
  const op = source[start]!
  const bucketLength = source[start + 1]!
  const bucketEnd = start + 2 + bucketLength
  if (bucketLength === 0 || bucketEnd > end) return false
  const bucket = bucketAt(source, start + 2, bucketEnd)
  if (op === Op.DELETE_BUCKET) {
    if (bucketEnd !== end) return false
    index.deleteBucket(bucket)
    return true
  }
  if (bucketEnd + 4 > end) return false
  const keyStart = bucketEnd + 4
  const keyLength = source.readUInt32LE(bucketEnd)
  const keyEnd = keyStart + keyLength
  if (keyEnd > end) return false
  if (op === Op.PUT) {
    index.put(index.bucket(bucket), source, keyStart, keyLength, keyEnd, end - keyEnd)
    return true
  }
  if (op === Op.DELETE && keyEnd === end) {
    index.delete(bucket, source, keyStart, keyLength)
    return true
  }
  return false
}

// Records of one bucket usually come in runs: decoding its name once per run, not once per
// record, saves a string allocation per write.
let lastBucket = ''
let lastLength = -1
const lastBytes = Buffer.alloc(255)

/** The bucket name in `source[start, end)` (at most 255 bytes). */
function bucketAt(source: Buffer, start: number, end: number): string {
  const length = end - start
  if (length === lastLength) {
    let i = 0
    while (i < length && source[start + i] === lastBytes[i]) i++
    if (i === length) return lastBucket
  }
  lastBucket = source.toString('utf8', start, end)
  source.copy(lastBytes, 0, start, end)
  lastLength = length
  return lastBucket
}

/**
 * Applies every framed record in `source[start, end)` — a batch that was just written, after its
 * batch frame (they are known good).
 */
export function applyBatch(index: MemoryIndex, source: Buffer, start: number, end: number): void {
  let at = start
  while (at < end) {
    const length = frameLength(source, at)
    const start = at + FRAME_HEADER_BYTES
    applyRecord(index, source, start, start + length)
    at = start + length
  }
}
