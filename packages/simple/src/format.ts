/**
 * The on-disk format (version 3; versions 1 and 2 are read too), shared by the writers and the
 * readers.
 * The package README ("On-disk format") describes the same layout for people.
 *
 * Every file starts with a 24-byte header:
 *
 *     0   8  magic "KVSIMPLE"
 *     8   1  kind: 'W' (a WAL segment) or 'S' (a snapshot)
 *     9   1  0
 *     10  2  format version, u16 LE
 *     12  8  sequence, u64 LE: a segment's number, or the last segment a snapshot covers
 *     20  4  CRC-32 of bytes 0..19
 *
 * and continues with frames: a 12-byte frame header (payload length L u32 LE, ~L u32 LE,
 * checksum of the payload u32 LE) followed by L payload bytes. A WAL frame holds one record; a
 * snapshot frame holds a block of items. The complemented length makes a damaged length field
 * detectable before it is trusted to find the end of the frame.
 *
 * The checksum is xxHash32 in WAL segments from version 2 on and CRC-32 everywhere else
 * (snapshots of every version, WAL segments of version 1). Version 3 adds a *batch frame* before
 * the records of each WAL batch (see `wal-record.ts`), so that recovery can tell damage in the
 * batch that was being written when the machine stopped from damage in an earlier one.
 * Snapshots are the same in every version.
 *
 * @module
 */
import { CorruptStoreError, NotSupportedError } from '@kv/core'
import { crc32 } from './crc32.js'
import { xxhash32 } from './xxhash32.js'

/** The format version this package writes. */
export const FORMAT_VERSION = 3
/** The oldest format version this package reads. */
export const OLDEST_READABLE_VERSION = 1

/** A checksum of `data[start, end)`. */
export type Checksum = (data: Uint8Array, start: number, end: number) => number

/** The checksum of the frames of a file of `kind` and format `version`. */
export function frameChecksum(kind: FileKind, version: number): Checksum {
  return kind === FileKind.WAL && version >= 2 ? xxhash32 : crc32
}

/** What a file header says. */
export interface FileHeader {
  sequence: number
  version: number
}

/** Bytes in every file header. */
export const FILE_HEADER_BYTES = 24

/** Bytes in every frame header. */
export const FRAME_HEADER_BYTES = 12

/** The largest value the store accepts (64 MiB). */
export const MAX_VALUE_BYTES = 64 * 1024 * 1024

/** No frame is longer than this: the largest value plus the largest key and bucket, with room. */
export const MAX_FRAME_PAYLOAD = MAX_VALUE_BYTES + 2 * 1024 * 1024

const MAGIC = Buffer.from('KVSIMPLE', 'latin1')

/** What a file holds. */
export const FileKind = { WAL: 0x57, SNAPSHOT: 0x53 } as const
/** One of {@link FileKind}. */
export type FileKind = (typeof FileKind)[keyof typeof FileKind]

/**
 * Operations of WAL records. `BATCH` is not an operation: it marks the frame that starts each
 * batch (format version 3).
 */
export const Op = { PUT: 1, DELETE: 2, DELETE_BUCKET: 3, BATCH: 4 } as const

/** Item tags inside snapshot blocks. */
export const Item = { BUCKET: 0x01, ENTRY: 0x02, END: 0xff } as const

/** Writes a file header for `kind` and `sequence` into `target` at 0. */
export function writeFileHeader(target: Buffer, kind: FileKind, sequence: number): void {
  MAGIC.copy(target, 0)
  target[8] = kind
  target[9] = 0
  target.writeUInt16LE(FORMAT_VERSION, 10)
  writeU64(target, 12, sequence)
  target.writeUInt32LE(crc32(target, 0, 20), 20)
}

/** A new buffer holding the header of a file. */
export function fileHeader(kind: FileKind, sequence: number): Buffer {
  const header = Buffer.alloc(FILE_HEADER_BYTES)
  writeFileHeader(header, kind, sequence)
  return header
}

/** The error for damage at `offset` of `file`, worded the same way everywhere. */
export function corrupt(file: string, offset: number, what: string): CorruptStoreError {
  return new CorruptStoreError(
    `The simple_kv file ${file} is damaged at byte ${offset}: ${what}. Nothing was dropped; restore the file from a backup, or move it away if losing its contents is acceptable.`,
    { file, offset },
  )
}

/**
 * Checks a file header and returns its sequence number and format version. `header` holds the
 * first bytes of the file (fewer than {@link FILE_HEADER_BYTES} when the file is that short).
 */
export function readFileHeader(header: Buffer, kind: FileKind, file: string): FileHeader {
  const kindName = kind === FileKind.WAL ? 'WAL segment' : 'snapshot'
  if (header.length < FILE_HEADER_BYTES) {
    throw corrupt(
      file,
      header.length,
      `the ${kindName} header is incomplete (${header.length} of ${FILE_HEADER_BYTES} bytes)`,
    )
  }
  if (!header.subarray(0, 8).equals(MAGIC)) {
    throw corrupt(file, 0, `not a simple_kv ${kindName} (wrong magic bytes)`)
  }
  if (crc32(header, 0, 20) !== header.readUInt32LE(20)) {
    throw corrupt(file, 0, `the ${kindName} header fails its checksum`)
  }
  if (header[8] !== kind) {
    throw corrupt(file, 8, `expected a ${kindName}, found file kind 0x${header[8]!.toString(16)}`)
  }
  const version = header.readUInt16LE(10)
  if (version < OLDEST_READABLE_VERSION || version > FORMAT_VERSION) {
    throw new NotSupportedError(
      `The simple_kv file ${file} has format version ${version}; this version of @kv/simple reads versions ${OLDEST_READABLE_VERSION} to ${FORMAT_VERSION}. Upgrade @kv/simple to open it.`,
    )
  }
  return { sequence: readU64(header, 12), version }
}

/**
 * Writes the header of a snapshot frame (CRC-32) for the payload already in place after it into
 * `target` at `at`. WAL records are framed as they are encoded (`encodeRecord`).
 */
export function writeFrameHeader(target: Buffer, at: number, payloadLength: number): void {
  target.writeUInt32LE(payloadLength, at)
  target.writeUInt32LE(~payloadLength >>> 0, at + 4)
  const start = at + FRAME_HEADER_BYTES
  target.writeUInt32LE(crc32(target, start, start + payloadLength), at + 8)
}

/** The payload length a frame header declares, or -1 when the header is damaged. */
export function frameLength(source: Buffer, at: number): number {
  const length = source.readUInt32LE(at)
  if ((length ^ source.readUInt32LE(at + 4)) !== -1 || length > MAX_FRAME_PAYLOAD) return -1
  return length
}

/** True when the payload after the frame header at `at` matches its checksum. */
export function frameIntact(
  source: Buffer,
  at: number,
  length: number,
  checksum: Checksum,
): boolean {
  const start = at + FRAME_HEADER_BYTES
  return checksum(source, start, start + length) === source.readUInt32LE(at + 8)
}

/**
 * Writes `n` (an unsigned 32-bit integer) as a u32 LE field at `at`, with plain byte stores:
 * Buffer's checked `writeUInt32LE` showed up in profiles of the paths that run once per write
 * (a WAL record's frame) or once per entry (a snapshot's items: about 30 ms of a 400 ms snapshot
 * of a million entries).
 */
export function writeU32(target: Uint8Array, at: number, n: number): void {
  target[at] = n
  target[at + 1] = n >>> 8
  target[at + 2] = n >>> 16
  target[at + 3] = n >>> 24
}

/** Writes `n` (below 2^53, as every count and length here) as a u64 LE field at `at`. */
export function writeU64(target: Buffer, at: number, n: number): void {
  target.writeUInt32LE(n % 0x1_0000_0000, at)
  target.writeUInt32LE(Math.floor(n / 0x1_0000_0000), at + 4)
}

/** A u64 LE field (below 2^53, as every count and length here). */
export function readU64(source: Buffer, at: number): number {
  return source.readUInt32LE(at) + source.readUInt32LE(at + 4) * 0x1_0000_0000
}
