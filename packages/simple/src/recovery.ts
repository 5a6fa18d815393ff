/**
 * Opening a store directory: the latest snapshot, then the WAL segments after it, in order.
 *
 * Invariants the writers keep, and that this checks:
 * - `snapshot-N.snap` holds the state after every record of segments 1..N. Only the newest
 *   snapshot matters; older ones and segments ≤ N are leftovers of a retirement that a crash
 *   interrupted, and are removed here once the newest snapshot has been read successfully.
 * - The segments after the snapshot are numbered N+1, N+2, … without gaps; a gap means a file
 *   was lost, which is corruption.
 * - Only the segment being appended to can end in a torn write (in format version 3: damage in
 *   its last batch, not followed by the empty batch `close()` seals the WAL with; see
 *   `wal-replay.ts`). Segments after it can exist only empty (created for a
 *   snapshot that had not started yet).
 * - Appends never mix format versions in one file: after a segment of an older version, they go
 *   to a new segment.
 *
 * @module
 */
import { promises as fs } from 'node:fs'
import { join } from 'node:path'
import { syncDirectory } from '@kv/core'
import {
  createDurably,
  listStore,
  openFd,
  removeFile,
  segmentName,
  snapshotName,
  syncFile,
} from './files.js'
import { corrupt, FILE_HEADER_BYTES, FileKind, FORMAT_VERSION, fileHeader } from './format.js'
import type { MemoryIndex } from './memory-index.js'
import { loadSnapshot } from './snapshot-reader.js'
import { type ReplayResult, replaySegment } from './wal-replay.js'
import type { Segment } from './wal-writer.js'
import { PREALLOCATE_BYTES } from './wal-writer.js'

/** Bytes {@link holdsRecords} reads at a time. */
const PROBE_BYTES = 64 * 1024

/**
 * Whether the segment at `path` has a non-zero byte anywhere after its header. Not only where its
 * first record would start: after a power cut a segment's first page may be lost (zeros) while a
 * later one reached the disk, and records there mean that the segments before it must not end
 * in a torn tail — their damage is corruption, which a look at the first bytes alone took for a
 * torn tail in two segments, cutting acknowledged records off both. A segment holding records
 * has them from its start, so the scan ends at once; only an empty one (preallocated zeros, a
 * few MiB) is read to its end.
 */
async function holdsRecords(path: string): Promise<boolean> {
  const handle = await fs.open(path, 'r')
  try {
    const probe = Buffer.alloc(PROBE_BYTES)
    for (let at = FILE_HEADER_BYTES; ; ) {
      const { bytesRead } = await handle.read(probe, 0, probe.length, at)
      if (bytesRead === 0) return false
      if (probe.subarray(0, bytesRead).some((byte) => byte !== 0)) return true
      at += bytesRead
    }
  } finally {
    await handle.close()
  }
}

/** What recovery found and where writing continues. */
export interface Recovery {
  /** The segment to append to, open for writing. */
  segment: Segment
  /** The snapshot the state was loaded from (0 when there was none). */
  snapshot: number
  /** That snapshot's size in bytes (0 when there was none). */
  snapshotBytes: number
  /** The first segment after the snapshot: segments from here on are not covered yet. */
  firstSegment: number
  /** Records replayed from the WAL. */
  records: number
}

/**
 * The contents of a new segment: its header, and with `sync_writes` zeros after it (see
 * `WalWriter` on preallocation).
 */
export function newSegment(sequence: number, preallocate: boolean): Buffer {
  const header = fileHeader(FileKind.WAL, sequence)
  if (!preallocate) return header
  const contents = Buffer.alloc(FILE_HEADER_BYTES + PREALLOCATE_BYTES)
  header.copy(contents)
  return contents
}

/**
 * Loads the store in `dir` into `index` (which must be empty). With `preallocate`, a segment
 * created here gets zeros after its header (see `WalWriter`).
 */
export async function recover(
  dir: string,
  index: MemoryIndex,
  preallocate: boolean,
): Promise<Recovery> {
  const listing = await listStore(dir)
  for (const name of listing.temporary) await removeFile(dir, name)

  const snapshot = listing.snapshots.at(-1) ?? 0
  const snapshotBytes =
    snapshot > 0
      ? (await loadSnapshot(join(dir, snapshotName(snapshot)), snapshot, index)).bytes
      : 0

  const segments = listing.segments.filter((sequence) => sequence > snapshot)
  segments.forEach((sequence, i) => {
    const expected = snapshot + 1 + i
    if (sequence !== expected) {
      const after =
        expected - 1 === snapshot
          ? snapshot > 0
            ? snapshotName(snapshot)
            : 'the start of the store'
          : segmentName(expected - 1)
      throw corrupt(
        join(dir, segmentName(sequence)),
        0,
        `${segmentName(expected)}, which must come after ${after}, is missing`,
      )
    }
  })

  const sizes = await Promise.all(
    segments.map(async (sequence) => (await fs.stat(join(dir, segmentName(sequence)))).size),
  )
  // Which segments hold anything but their header (and preallocated zeros).
  const holding = await Promise.all(
    segments.map((sequence) => holdsRecords(join(dir, segmentName(sequence)))),
  )
  const ends = sizes.map(() => FILE_HEADER_BYTES)
  let lastVersion = FORMAT_VERSION
  let lastBatches = 0
  // Whether the WAL's last batch (in the last segment holding any) holds records: see `unsealed`.
  let unsealed = false
  let records = 0
  // Torn tails are cut off only once every segment has replayed: a later segment that fails
  // open() with KV_CORRUPT_STORE must find the store's files as they were.
  const tornTails: {
    path: string
    end: number
    size: number
    torn: string
    version: number
    rewrite: ReplayResult['rewrite']
  }[] = []
  for (let i = 0; i < segments.length; i++) {
    const sequence = segments[i]!
    const path = join(dir, segmentName(sequence))
    // A torn tail is possible only where appends last happened: no later segment holds records.
    const mayBeTorn = holding.slice(i + 1).every((holds) => !holds)
    const result = await replaySegment(path, sequence, index, mayBeTorn)
    records += result.records
    ends[i] = result.end
    lastVersion = result.version
    lastBatches = result.batches
    if (result.batches > 0 || result.records > 0) unsealed = result.unsealed
    if (result.torn !== undefined) {
      const { end, size, torn, version, rewrite } = result
      tornTails.push({ path, end, size, torn, version, rewrite })
      sizes[i] = result.end
    }
  }
  for (const { path, end, size, torn, version, rewrite } of tornTails) {
    await cut(path, end, rewrite)
    process.emitWarning(tornTailWarning(path, end, size, torn, version, rewrite === undefined), {
      type: 'KVWarning',
      code: 'KV_WAL_TORN_TAIL',
    })
  }
  // What the last process wrote without syncing it (killed between a batch's write and its
  // fdatasync, or running with sync_writes: false) may be in the page cache only. Replayed, it
  // is what reads now return and what later appends follow: lost in a power cut after that, it
  // would leave damage before records acknowledged since, which makes the next open fail
  // (KV_CORRUPT_STORE). So every segment that holds records is made durable before the store
  // opens; for one already on the disk the fdatasync has nothing to write.
  for (let i = 0; i < segments.length; i++) {
    if (holding[i]) await syncFile(join(dir, segmentName(segments[i]!)))
  }

  let last = segments.at(-1)
  // Records are appended in the current format only: after a segment of an older version (a
  // store written by an earlier @kv/simple), appends go to a new segment.
  if (last === undefined || lastVersion < FORMAT_VERSION) {
    last = (last ?? snapshot) + 1
    lastBatches = 0
    // Versions 1 and 2 have no seal; the new segment holds no batch.
    unsealed = false
    const contents = newSegment(last, preallocate)
    await createDurably(dir, segmentName(last), contents)
    sizes.push(contents.length)
    ends.push(FILE_HEADER_BYTES)
  }
  // Leftovers of an interrupted retirement: covered by the snapshot just read.
  const leftovers = [
    ...listing.segments.filter((sequence) => sequence <= snapshot).map(segmentName),
    ...listing.snapshots.filter((sequence) => sequence < snapshot).map(snapshotName),
  ]
  if (leftovers.length > 0) {
    for (const name of leftovers) await removeFile(dir, name)
    await syncDirectory(dir)
  }

  const path = join(dir, segmentName(last))
  const fd = await openFd(path, 'r+')

  return {
    segment: {
      fd,
      sequence: last,
      path,
      position: ends.at(-1)!,
      allocated: sizes.at(-1)!,
      batches: lastBatches,
      unsealed,
    },
    snapshot,
    snapshotBytes,
    firstSegment: snapshot + 1,
    records,
  }
}

/**
 * The KV_WAL_TORN_TAIL warning: what was cut from the segment at `path` (`size` bytes, cut at
 * `end` because of `torn`, `atFrame` where a batch frame must start), and what can have caused
 * it.
 */
function tornTailWarning(
  path: string,
  end: number,
  size: number,
  torn: string,
  version: number,
  atFrame: boolean,
): string {
  // Version 3: close() seals the WAL with an empty batch, so what is cut was written after the
  // store was last closed cleanly — or is that seal itself. Versions 1 and 2 cannot tell.
  let cause = `the process or the machine stopped while appending it, before it was acknowledged — or it was damaged since (format version ${version} cannot tell)`
  if (version >= 3) {
    cause =
      'it lies in the last batch written since the store was last closed cleanly (close() seals the WAL): the process or the machine stopped while appending that batch, before it was acknowledged — or after that and before close(), and the batch was damaged since (with sync_writes: false a machine stop alone can do that)'
    if (atFrame)
      cause +=
        '; or it is the empty batch close() seals the WAL with, which holds no records, cut short by a machine that stopped during close() or damaged since'
  }
  return `simple_kv: the last write to ${path} was torn at byte ${end} (${torn}): ${cause}. Removed the ${size - end} bytes from there on; every earlier record was recovered.`
}

/**
 * Cuts the file at `length`, writes `rewrite` (the frame of a batch cut short, giving the length
 * kept), and makes both durable before anything is appended. Should the machine stop before
 * that, any part of the two may have reached the disk, and the next open finds:
 * - neither: the same torn tail again, cut the same way;
 * - the truncation only: the batch's records stop before the length its old frame gives, at the
 *   end of the file — a torn tail at the same offset;
 * - the rewrite only: the batch ends at `length` as its new frame says, and the damaged bytes
 *   stand where the next batch frame must start — a torn tail at `length`, now a batch boundary
 *   (or no damage at all, when only zeros follow). Unless a value among the batch's records after
 *   `length` holds an intact batch frame numbered after the batch: that then fails open() with
 *   KV_CORRUPT_STORE, the safe side;
 * - part of the rewrite (the frame torn within): the batch frame damaged — a torn tail at the
 *   batch's start, which drops the records kept; they were never acknowledged unless the store
 *   had run on without a clean close.
 * A cut either way.
 */
async function cut(path: string, length: number, rewrite: ReplayResult['rewrite']): Promise<void> {
  const handle = await fs.open(path, 'r+')
  try {
    await handle.truncate(length)
    if (rewrite !== undefined) {
      const { bytes, at } = rewrite
      // A few bytes inside the file: a short write would be a kernel's oddity, but not a silent one.
      const { bytesWritten } = await handle.write(bytes, 0, bytes.length, at)
      if (bytesWritten !== bytes.length) {
        throw new Error(
          `write(2) to ${path} at byte ${at} wrote ${bytesWritten} of ${bytes.length} bytes`,
        )
      }
    }
    await handle.datasync()
  } finally {
    await handle.close()
  }
}
