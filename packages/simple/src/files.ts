/**
 * The files of a store directory: their names, listing them, and the fsync-and-rename steps
 * that make a new file appear atomically and durably.
 *
 * @module
 */
import { promises as fs, open } from 'node:fs'
import { join } from 'node:path'
import { syncDirectory } from '@kv/core'

/**
 * The most bytes handed to one `write(2)`. Node refuses a length above 2^31 - 1 (a `RangeError`
 * before any I/O), and Linux writes at most 0x7ffff000 bytes per call anyway; a WAL batch of 33
 * concurrent 64 MiB puts is more than 2 GiB.
 */
export const MAX_WRITE_BYTES = 1024 * 1024 * 1024

/**
 * The error for a `write(2)` that wrote nothing although it was given bytes: it does not happen
 * on Linux (a full disk fails with ENOSPC), but a loop retrying it would never end.
 */
export function wroteNothing(path: string, position: number): Error {
  return new Error(`write(2) to ${path} at byte ${position} wrote nothing`)
}

/** Name of the lock file. */
export const LOCK_FILE = 'LOCK'

const SEGMENT = /^wal-(\d{16})\.log$/
const SNAPSHOT = /^snapshot-(\d{16})\.snap$/
const TEMPORARY = /^(?:wal-\d{16}\.log|snapshot-\d{16}\.snap)\.tmp$/

const pad = (sequence: number): string => String(sequence).padStart(16, '0')

/** File name of WAL segment `sequence`. */
export const segmentName = (sequence: number): string => `wal-${pad(sequence)}.log`

/** File name of the snapshot covering segments up to `sequence`. */
export const snapshotName = (sequence: number): string => `snapshot-${pad(sequence)}.snap`

/** The store's files, by kind, sequences ascending. */
export interface DirectoryListing {
  segments: number[]
  snapshots: number[]
  /** Leftovers of writes that never completed (`*.tmp`): never part of the store. */
  temporary: string[]
}

/** Lists the store files in `dir`; other files are left alone. */
export async function listStore(dir: string): Promise<DirectoryListing> {
  const listing: DirectoryListing = { segments: [], snapshots: [], temporary: [] }
  for (const name of await fs.readdir(dir)) {
    const segment = SEGMENT.exec(name)
    if (segment) listing.segments.push(Number(segment[1]))
    const snapshot = SNAPSHOT.exec(name)
    if (snapshot) listing.snapshots.push(Number(snapshot[1]))
    if (TEMPORARY.test(name)) listing.temporary.push(name)
  }
  listing.segments.sort((a, b) => a - b)
  listing.snapshots.sort((a, b) => a - b)
  return listing
}

/**
 * The entries of `dir` that are directories under the name of a store file (a segment, a
 * snapshot, a temporary one, the lock): what an `EISDIR` at open comes from.
 */
export async function directoriesNamedLikeFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true })
  return entries
    .filter(
      (entry) =>
        entry.isDirectory() &&
        (entry.name === LOCK_FILE ||
          SEGMENT.test(entry.name) ||
          SNAPSHOT.test(entry.name) ||
          TEMPORARY.test(entry.name)),
    )
    .map((entry) => entry.name)
    .sort()
}

/**
 * Writes `contents` to `dir/name` atomically and durably: a temporary file, fsynced, renamed
 * into place, the directory fsynced. A crash leaves either no file or the whole file. A write
 * that fails removes its temporary file (best effort): on a full disk, a half-written segment of
 * several MiB would keep the space that every other file on that disk needs.
 */
export async function createDurably(
  dir: string,
  name: string,
  contents: Uint8Array,
): Promise<void> {
  const temporary = join(dir, `${name}.tmp`)
  const handle = await fs.open(temporary, 'w')
  try {
    try {
      await handle.writeFile(contents)
      await handle.datasync()
    } finally {
      await handle.close()
    }
  } catch (error) {
    await fs.rm(temporary, { force: true }).catch(() => {})
    throw error
  }
  await fs.rename(temporary, join(dir, name))
  await syncDirectory(dir)
}

/** fdatasyncs the file at `path`: whatever of it is only in the page cache reaches the disk. */
export async function syncFile(path: string): Promise<void> {
  // Opened for writing: Windows flushes only a handle with write access.
  const handle = await fs.open(path, 'r+')
  try {
    await handle.datasync()
  } catch (error) {
    // A FileHandle's errors name no file ("EIO: i/o error, fdatasync"): name it, as Node does.
    const failure = error as NodeJS.ErrnoException
    if (typeof failure.code === 'string' && failure.path === undefined) {
      failure.path = path
      failure.message = `${failure.message} '${path}'`
    }
    throw error
  } finally {
    await handle.close()
  }
}

/** Removes `dir/name`; a file that is already gone is fine. */
export async function removeFile(dir: string, name: string): Promise<void> {
  await fs.rm(join(dir, name), { force: true })
}

/**
 * Opens `path` and returns the bare descriptor. The WAL writer uses descriptors rather than
 * FileHandles: its writes are synchronous calls that take an fd.
 */
export function openFd(path: string, flags: string): Promise<number> {
  return new Promise((resolve, reject) =>
    open(path, flags, (error, fd) => (error ? reject(error) : resolve(fd))),
  )
}
