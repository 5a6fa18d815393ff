/**
 * Writes a snapshot: every entry of the index, in checksummed blocks, to a temporary file that
 * is fsynced, renamed into place, and made durable by an fsync of the directory.
 *
 * Block payloads hold items:
 *
 *     0x01  B u8, bucket name (B bytes, UTF-8)     the entries that follow are in this bucket
 *     0x02  K u32 LE, key, V u32 LE, value         one entry
 *     0xFF  N u64 LE                               end: N entries were written; end of file
 *
 * Every block that holds entries starts with the bucket they belong to, so blocks can be read
 * without their predecessors.
 *
 * The snapshot is *fuzzy*: it is written while writes go on (into the next WAL segment), in
 * chunks between which the event loop runs, so it may contain some effects of those later
 * records. That is harmless because every record is idempotent — a put, a delete or a bucket
 * delete sets its keys to a state regardless of the state before — so replaying the later
 * segments over the snapshot ends in the same state as replaying them over an exact one.
 *
 * @module
 */
import { constants, promises as fs } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { syncDirectory } from '@kv/core'
import { MAX_WRITE_BYTES, snapshotName, wroteNothing } from './files.js'
import {
  FileKind,
  FRAME_HEADER_BYTES,
  fileHeader,
  Item,
  writeFrameHeader,
  writeU32,
} from './format.js'
import type { MemoryIndex } from './memory-index.js'

/** A block is written once it holds this much. */
const BLOCK_BYTES = 1024 * 1024
/** Entries copied between two turns of the event loop (a few hundred microseconds of work). */
export const ENTRIES_PER_TURN = 2048
/** Slots sorted by bucket between two turns of the event loop (a map lookup each). */
const LIST_SLOTS_PER_TURN = 65_536
/**
 * The snapshot is written with O_DSYNC: each block reaches the disk before the next is written.
 * Left to the page cache, a snapshot of hundreds of megabytes becomes a writeback backlog that
 * a concurrent `fdatasync` of the WAL waits behind (ext4 commits its journal in order), and
 * that can throttle the WAL's own `write(2)`; measured, that made `sync_writes` writes during a
 * snapshot take over 100 ms. Written block by block, a WAL sync waits for one block at most.
 */
const SNAPSHOT_FLAGS =
  constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_DSYNC

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** A block being filled. */
class Block {
  buffer = Buffer.allocUnsafeSlow(BLOCK_BYTES + 64 * 1024)
  used = FRAME_HEADER_BYTES
  /** The bucket whose name this block already carries. */
  bucket: string | undefined

  ensure(extra: number): void {
    if (this.used + extra <= this.buffer.length) return
    const grown = Buffer.allocUnsafeSlow(this.used + extra)
    this.buffer.copy(grown, 0, 0, this.used)
    this.buffer = grown
  }

  seal(): number {
    writeFrameHeader(this.buffer, 0, this.used - FRAME_HEADER_BYTES)
    return this.used
  }

  reset(): void {
    this.used = FRAME_HEADER_BYTES
    this.bucket = undefined
    if (this.buffer.length > 2 * BLOCK_BYTES)
      this.buffer = Buffer.allocUnsafeSlow(BLOCK_BYTES + 64 * 1024)
  }
}

/**
 * A growing list of slot numbers. It starts small: a snapshot makes one per bucket, and at
 * 4 KiB each 100,000 one-key buckets took 400 MB while it ran.
 */
class SlotList {
  #slots = new Uint32Array(16)
  length = 0

  push(slot: number): void {
    if (this.length === this.#slots.length) {
      const grown = new Uint32Array(this.length * 2)
      grown.set(this.#slots)
      this.#slots = grown
    }
    this.#slots[this.length++] = slot
  }

  at(i: number): number {
    return this.#slots[i]!
  }
}

/**
 * The slots of every bucket that exists now, each bucket's in ascending slot order.
 *
 * Slot order rather than the order of the buckets' hash tables: entries are placed in the arena
 * as their slots are taken, so slot order reads the arena (and the slot metadata) mostly front
 * to back, where hash order jumps about a few hundred megabytes. Measured on 1,000,000 entries,
 * copying them out in random order took 4 times as long as in arena order: cache and TLB misses.
 *
 * Every key present when this starts keeps its slot until it is deleted, so it is listed; slots
 * taken afterwards belong to records in later segments (listing them too is harmless).
 * Exported for the tests.
 */
export async function liveSlotsByBucket(
  index: MemoryIndex,
): Promise<{ name: string; number: number; slots: SlotList }[]> {
  const byNumber = new Map<number, { name: string; number: number; slots: SlotList }>()
  for (const [name, bucket] of index.buckets) {
    byNumber.set(bucket.number, { name, number: bucket.number, slots: new SlotList() })
  }
  const arena = index.entries
  const count = arena.slotCount
  for (let slot = 0; slot < count; slot++) {
    if ((slot + 1) % LIST_SLOTS_PER_TURN === 0) await nextTurn()
    byNumber.get(arena.owner(slot))?.slots.push(slot)
  }
  return [...byNumber.values()]
}

/**
 * Writes `buffer[0, length)` at `position`, calling `write(2)` until every byte is written. A
 * write that reaches the end of a full disk (or the file-size limit) writes what fits and returns
 * a short count; only the next one fails (ENOSPC, EFBIG), and that error is what surfaces.
 */
async function writeFully(
  handle: FileHandle,
  path: string,
  buffer: Buffer,
  length: number,
  position: number,
): Promise<void> {
  for (let done = 0; done < length; ) {
    const chunk = Math.min(length - done, MAX_WRITE_BYTES)
    const { bytesWritten } = await handle.write(buffer, done, chunk, position + done)
    if (bytesWritten === 0) throw wroteNothing(path, position + done)
    done += bytesWritten
  }
}

/** What a snapshot write produced. */
export interface SnapshotResult {
  entries: number
  bytes: number
}

/**
 * Writes `snapshot-<sequence>.snap` in `dir` from `index`. The caller must have made sure that
 * every record of segments up to `sequence` is applied to `index` before calling.
 */
export async function writeSnapshot(
  dir: string,
  sequence: number,
  index: MemoryIndex,
): Promise<SnapshotResult> {
  const name = snapshotName(sequence)
  const temporary = join(dir, `${name}.tmp`)
  const handle = await fs.open(temporary, SNAPSHOT_FLAGS)
  let position = 0
  let entries = 0
  let pending: Promise<unknown> = Promise.resolve()
  let filling = new Block()
  let spare = new Block()
  // Entries are listed and copied by their bucket's number: none may change hands meanwhile.
  const releaseNumbers = index.holdNumbers()

  // Writes the filled block while the next one is built. The event loop (and the store's
  // writes) runs whenever this waits for the previous block's write, and every
  // ENTRIES_PER_TURN entries.
  const emit = async (): Promise<void> => {
    const length = filling.seal()
    await pending
    const write = writeFully(handle, temporary, filling.buffer, length, position)
    // Marked handled now; the failure still surfaces where `pending` is awaited.
    write.catch(() => {})
    pending = write
    position += length
    ;[filling, spare] = [spare, filling]
    filling.reset()
  }

  try {
    const header = fileHeader(FileKind.SNAPSHOT, sequence)
    await writeFully(handle, temporary, header, header.length, 0)
    position = header.length
    const arena = index.entries
    // Counted across buckets: many small buckets must not make one long turn.
    let visited = 0
    for (const { name, number, slots } of await liveSlotsByBucket(index)) {
      const bucketBytes = Buffer.from(name)
      for (let i = 0; i < slots.length; i++) {
        if (++visited % ENTRIES_PER_TURN === 0) await nextTurn()
        const slot = slots.at(i)
        // Freed since it was listed, or reused by another bucket: its records are in later
        // segments. Reused by this bucket for another key: harmless (see the module comment).
        // A bucket created since never has this bucket's number: numbers are held until the
        // copy ends (MemoryIndex.holdNumbers).
        if (arena.owner(slot) !== number) continue
        if (filling.bucket !== name) {
          filling.ensure(2 + bucketBytes.length)
          filling.buffer[filling.used] = Item.BUCKET
          filling.buffer[filling.used + 1] = bucketBytes.length
          bucketBytes.copy(filling.buffer, filling.used + 2)
          filling.used += 2 + bucketBytes.length
          filling.bucket = name
        }
        const keyLength = arena.keyLength(slot)
        const valueLength = arena.valueLength(slot)
        filling.ensure(9 + keyLength + valueLength)
        const buffer = filling.buffer
        const at = filling.used
        buffer[at] = Item.ENTRY
        writeU32(buffer, at + 1, keyLength)
        writeU32(buffer, at + 5 + keyLength, valueLength)
        arena.copyEntryTo(slot, buffer, at + 5, at + 9 + keyLength)
        filling.used = at + 9 + keyLength + valueLength
        entries++
        if (filling.used >= BLOCK_BYTES) await emit()
      }
    }
    releaseNumbers()
    filling.ensure(9)
    filling.buffer[filling.used] = Item.END
    filling.buffer.writeBigUInt64LE(BigInt(entries), filling.used + 1)
    filling.used += 9
    await emit()
    await pending
    await handle.datasync()
    // Every write was checked above; this checks the file is whole (nothing cut it or lost a
    // write silently) before it replaces the previous snapshot and lets the WAL go.
    const { size } = await handle.stat()
    if (size !== position) {
      throw new Error(
        `the snapshot ${temporary} holds ${size} bytes after writing ${position}; it was not used`,
      )
    }
  } catch (error) {
    releaseNumbers()
    await pending.catch(() => {})
    await handle.close().catch(() => {})
    await fs.rm(temporary, { force: true })
    throw error
  }
  await handle.close()
  await fs.rename(temporary, join(dir, name))
  await syncDirectory(dir)
  return { entries, bytes: position }
}
