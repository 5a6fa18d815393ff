/**
 * Loads a snapshot into an index. A snapshot is only ever renamed into place once complete and
 * fsynced, so any damage at all — a failed checksum, a truncated file, a missing end marker —
 * is corruption, reported with the file and the offset, and never skipped.
 *
 * @module
 */
import { readCheckedFile } from './file-cursor.js'
import {
  corrupt,
  FILE_HEADER_BYTES,
  FileKind,
  FRAME_HEADER_BYTES,
  frameChecksum,
  frameIntact,
  frameLength,
  Item,
} from './format.js'
import type { Bucket, MemoryIndex } from './memory-index.js'
import type { SnapshotResult } from './snapshot-writer.js'

/**
 * Reads the snapshot at `path`, which must cover segments up to `sequence`, into `index`.
 * Returns how many entries it held and its size in bytes.
 */
export async function loadSnapshot(
  path: string,
  sequence: number,
  index: MemoryIndex,
): Promise<SnapshotResult> {
  return readCheckedFile(
    path,
    FileKind.SNAPSHOT,
    sequence,
    (found) => `the header says it covers segment ${found}, its name says ${sequence}`,
    async (cursor, version) => {
      const { size } = cursor
      const checksum = frameChecksum(FileKind.SNAPSHOT, version)
      let offset = FILE_HEADER_BYTES
      let entries = 0
      for (;;) {
        if (cursor.due(offset)) await cursor.turn(offset)
        if (size - offset < FRAME_HEADER_BYTES) {
          throw corrupt(path, offset, 'the snapshot ends before its end marker (it is truncated)')
        }
        let i = cursor.view(offset, FRAME_HEADER_BYTES)
        if (i < 0) i = await cursor.load(offset, FRAME_HEADER_BYTES)
        const length = frameLength(cursor.buffer, i)
        if (length < 0)
          throw corrupt(path, offset, 'a block header is damaged (its length check fails)')
        const end = offset + FRAME_HEADER_BYTES + length
        if (end > size)
          throw corrupt(path, offset, 'the snapshot ends inside a block (it is truncated)')
        i = cursor.view(offset, FRAME_HEADER_BYTES + length)
        if (i < 0) i = await cursor.load(offset, FRAME_HEADER_BYTES + length)
        if (!frameIntact(cursor.buffer, i, length, checksum))
          throw corrupt(path, offset, 'a block fails its checksum')
        const block = readBlock(
          cursor.buffer,
          i + FRAME_HEADER_BYTES,
          i + FRAME_HEADER_BYTES + length,
          index,
          path,
          offset - i,
        )
        entries += block.entries
        if (block.declared !== undefined) {
          if (block.declared !== entries) {
            throw corrupt(
              path,
              offset,
              `the end marker counts ${block.declared} entries, the blocks hold ${entries}`,
            )
          }
          if (end !== size) throw corrupt(path, end, 'bytes follow the end marker')
          index.dropEmptyBuckets()
          return { entries, bytes: size }
        }
        offset = end
      }
    },
  )
}

/** What one block held: its entries, and the snapshot's entry count if it holds the end marker. */
interface BlockContents {
  entries: number
  declared: number | undefined
}

/**
 * Applies the items of the block payload `buffer[start, end)` to `index`. `shift` turns buffer
 * indexes into file offsets for errors.
 */
function readBlock(
  buffer: Buffer,
  start: number,
  end: number,
  index: MemoryIndex,
  path: string,
  shift: number,
): BlockContents {
  let p = start
  let bucket: Bucket | undefined
  let entries = 0
  const damaged = (what: string): Error => corrupt(path, p + shift, what)
  while (p < end) {
    const tag = buffer[p]!
    if (tag === Item.ENTRY) {
      if (bucket === undefined) throw damaged('an entry comes before any bucket')
      if (p + 5 > end) throw damaged('an entry is cut off')
      const keyStart = p + 5
      const keyEnd = keyStart + buffer.readUInt32LE(p + 1)
      if (keyEnd + 4 > end) throw damaged('an entry is cut off')
      const valueStart = keyEnd + 4
      const valueLength = buffer.readUInt32LE(keyEnd)
      if (valueStart + valueLength > end) throw damaged('an entry is cut off')
      index.put(bucket, buffer, keyStart, keyEnd - keyStart, valueStart, valueLength)
      entries++
      p = valueStart + valueLength
    } else if (tag === Item.BUCKET) {
      const length = buffer[p + 1] ?? 0
      if (length === 0 || p + 2 + length > end) throw damaged('a bucket name is cut off')
      bucket = index.bucket(buffer.toString('utf8', p + 2, p + 2 + length))
      p += 2 + length
    } else if (tag === Item.END) {
      if (p + 9 !== end) throw damaged('the end marker is not the last item')
      return { entries, declared: Number(buffer.readBigUInt64LE(p + 1)) }
    } else {
      throw damaged(`unknown item tag 0x${tag.toString(16)}`)
    }
  }
  return { entries, declared: undefined }
}
