/**
 * The engines under the store: classic-level (LevelDB) on disk, memory-level in `memory_mode`.
 * Both are loaded lazily, so importing the package loads neither, and memory mode never loads
 * LevelDB's native addon.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { BackendUnavailableError, CorruptStoreError, LockedError } from '@kv/core'
import type { ClassicLevel } from 'classic-level'
import type { MemoryLevel } from 'memory-level'
import type { BadgerConfig } from './config.js'

/**
 * A database with binary keys and values, as this package opens every one. memory-level has the
 * same surface except `approximateSize`, `compactRange` and `getProperty`, which are called only
 * when {@link Engine.inMemory} is false.
 */
export type LevelDb = ClassicLevel<Uint8Array, Uint8Array>

/** An open database and what kind it is. */
export interface Engine {
  db: LevelDb
  /** True for memory-level, whose reads return the very buffers it stores (copy them). */
  inMemory: boolean
}

const binary = { keyEncoding: 'view', valueEncoding: 'view' } as const

/** Opens a LevelDB at `location` with the options `config` maps to. */
export async function openClassic(location: string, config: BadgerConfig): Promise<Engine> {
  // Before the database object exists: abstract-level opens a database on construction.
  const orphaned = await withoutCurrent(location)
  if (orphaned !== undefined) {
    // LevelDB would take the directory for a new database and delete these files as obsolete.
    throw new CorruptStoreError(
      `The LevelDB database at ${location} is damaged: it has no CURRENT file, but holds data (${orphaned}); opening it would start an empty database and delete those files. Restore CURRENT from a backup, or repair the database with ClassicLevel.repair() (which rebuilds it from the table files) and check what it recovered.`,
      { file: location },
    )
  }
  const ClassicLevel = await loadClassic()
  let db: LevelDb
  try {
    db = new ClassicLevel<Uint8Array, Uint8Array>(location, {
      ...binary,
      writeBufferSize: config.mem_table_size,
      compression: config.compression,
      cacheSize: config.cache_size,
    })
  } catch (error) {
    // The constructor initialises the native binding's database object.
    throw classicUnavailable(error)
  }
  try {
    await db.open()
  } catch (error) {
    throw openError(error, location)
  }
  return { db, inMemory: false }
}

/**
 * Loads classic-level, whose import loads LevelDB's native addon (its binding is required as the
 * module loads): a missing package and a missing or unloadable native build both fail here, with
 * `KV_BACKEND_UNAVAILABLE` saying what to do. Node caches the module once loaded.
 */
export async function loadClassic(): Promise<typeof ClassicLevel> {
  try {
    return (await import('classic-level')).ClassicLevel
  } catch (error) {
    throw classicUnavailable(error)
  }
}

function classicUnavailable(cause: unknown): BackendUnavailableError {
  return new BackendUnavailableError(
    `LevelDB's engine, the classic-level package, could not be loaded (${firstLine(cause)}). Reinstall @kv/badger so that classic-level and its native build for this platform are present (or rebuild it: npm rebuild classic-level, which compiles LevelDB when no prebuilt build fits), or set badger.memory_mode: true, which needs no native module (its data is gone when the store closes).`,
    { cause },
  )
}

/**
 * A file that holds a database's data: a table or a write-ahead log. (A MANIFEST-000001 alone is
 * what a process killed while LevelDB was creating a database leaves — it writes CURRENT after
 * that manifest and before any log — and holds no data: LevelDB may start afresh there.)
 */
const DATA_FILE = /^\d+\.(ldb|sst|log)$/

/**
 * When `location` holds a database's data files but no CURRENT (which names its manifest), one
 * of them; otherwise undefined (a new, empty or absent directory, or a CURRENT in place).
 */
async function withoutCurrent(location: string): Promise<string | undefined> {
  let names: string[]
  try {
    names = await readdir(location)
  } catch {
    return undefined // absent (LevelDB creates it) or unreadable (LevelDB reports that)
  }
  if (names.includes('CURRENT')) return undefined
  return names.find((name) => DATA_FILE.test(name))
}

/** Opens an empty memory-level database. */
export async function openMemory(): Promise<Engine> {
  let db: MemoryLevel<Uint8Array, Uint8Array>
  try {
    const { MemoryLevel } = await import('memory-level')
    db = new MemoryLevel<Uint8Array, Uint8Array>({ ...binary, storeEncoding: 'view' })
  } catch (error) {
    throw new BackendUnavailableError(
      `memory_mode's engine, the memory-level package, could not be loaded (${firstLine(error)}). Reinstall @kv/badger so that memory-level is present.`,
      { cause: error },
    )
  }
  await db.open()
  return { db: db as unknown as LevelDb, inMemory: true }
}

/** The first line of `error`'s message (a native loader's lists every path it tried below it). */
function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.split('\n', 1)[0]!.trim()
}

interface LevelError {
  code?: unknown
  cause?: unknown
}

/** The `code` of a Node.js file-system error (an errno name: ENOSPC, EACCES, EEXIST, …). */
const ERRNO_CODE = /^E[A-Z0-9]+$/

/**
 * The error in `error`'s cause chain (itself first) whose `code` is `code` (or matches it), if any
 * (`open()` wraps the engine's error).
 */
function withCode(error: unknown, code: string | RegExp): Error | undefined {
  for (
    let e = error as LevelError | undefined, depth = 0;
    e && depth < 4;
    e = e.cause as LevelError, depth++
  ) {
    if (
      typeof code === 'string' ? e.code === code : typeof e.code === 'string' && code.test(e.code)
    )
      return e as Error
  }
  return undefined
}

/**
 * The manifest that `CURRENT` names, when that file is missing. LevelDB reports it as an I/O
 * error (`LEVEL_IO_ERROR`, "No such file or directory"), not as corruption; but a database whose
 * `CURRENT` names a manifest that is not there is damaged (the manifest is the list of its table
 * files), and opening it again will not help.
 */
function missingManifest(location: string): string | undefined {
  try {
    const name = readFileSync(join(location, 'CURRENT'), 'utf8').trim()
    if (!/^MANIFEST-\d+$/.test(name)) return undefined // a malformed CURRENT is LEVEL_CORRUPTION
    return existsSync(join(location, name)) ? undefined : name
  } catch {
    return undefined // no CURRENT: not that damage
  }
}

/**
 * Maps a failure to open LevelDB to a typed error: locked, corrupt, or (any other I/O error, and a
 * failure to create the database's directory) unavailable, with what to do when the cause is one
 * outside the database (too many open files, a full disk, no access, a file in the directory's
 * place); other failures are returned as they are.
 */
export function openError(error: unknown, location: string): unknown {
  const cause = (error as LevelError).cause ?? error
  if (withCode(error, 'LEVEL_LOCKED') !== undefined) {
    return new LockedError(
      `The LevelDB database at ${location} is locked by another process or another open store; close that one first, or give this store its own badger.path.`,
      { cause },
    )
  }
  const io = withCode(error, 'LEVEL_IO_ERROR') !== undefined
  const manifest = io ? missingManifest(location) : undefined
  if (manifest !== undefined) {
    return new CorruptStoreError(
      `The LevelDB database at ${location} is damaged: its CURRENT file names ${manifest}, which is missing; restore it from a backup, or repair it with ClassicLevel.repair() (which rebuilds the manifest from the table files) and check what it recovered.`,
      { cause, file: location },
    )
  }
  if (withCode(error, 'LEVEL_CORRUPTION') !== undefined) {
    return new CorruptStoreError(
      `The LevelDB database at ${location} is corrupt (${(cause as Error).message}); restore it from a backup, or repair it with ClassicLevel.repair() and check what it recovered.`,
      { cause, file: location },
    )
  }
  if (io) {
    const reason = (cause as Error).message
    const advice = ioAdvice(reason)
    return new BackendUnavailableError(
      advice === undefined
        ? `LevelDB could not open the database at ${location} (${reason}). ${DISK_ADVICE}, then retry.`
        : `LevelDB could not open the database at ${location} (${reason}); nothing written before was lost. ${advice}, then retry.`,
      { cause },
    )
  }
  // classic-level creates the directory (mkdir -p) before LevelDB opens it, and wraps Node's
  // error of that (EACCES, EEXIST, ENOSPC, …) in LEVEL_DATABASE_NOT_OPEN, which names no path.
  const errno = withCode(error, ERRNO_CODE)
  if (errno !== undefined) {
    return fileSystemError(
      errno,
      `Could not create the directory of the LevelDB database at ${location}`,
      'nothing was written, and nothing written before was lost.',
    )
  }
  return error
}

/** What failed: a read, a write (put, delete, batch) or the clearing of a bucket's range. */
export type RuntimeOperation = 'read' | 'write' | 'clear'

/**
 * Maps an error of LevelDB on an open database to a typed error, LevelDB's as its `cause`: an I/O
 * error (`LEVEL_IO_ERROR`) to `KV_BACKEND_UNAVAILABLE`, corruption (`LEVEL_CORRUPTION`) to
 * `KV_CORRUPT_STORE`; any other error is returned as it is. `write`: the failure was a write's,
 * after which the database's write queue refuses writes until the store is reopened (see
 * {@link refusedWrite}), as the message says.
 */
export function runtimeError(error: unknown, db: LevelDb, operation: RuntimeOperation): unknown {
  const io = withCode(error, 'LEVEL_IO_ERROR')
  if (io !== undefined) {
    const advice = ioAdvice(io.message) ?? DISK_ADVICE
    const reopen = `then close the store and open it again: until then the database refuses writes, since LevelDB may have left part of this one in its log (reads still work; what was acknowledged before is kept)`
    return new BackendUnavailableError(
      operation === 'write'
        ? `LevelDB could not write to the database at ${db.location} (${io.message}); the write was not made. ${advice}, ${reopen}.`
        : operation === 'clear'
          ? `LevelDB could not delete the bucket's entries in the database at ${db.location} (${io.message}); part of them may be deleted already (it deletes them in batches). ${advice}, ${reopen}, and delete the bucket again.`
          : `LevelDB could not read the database at ${db.location} (${io.message}). ${advice}, then retry.`,
      { cause: io },
    )
  }
  const corruption = withCode(error, 'LEVEL_CORRUPTION')
  if (corruption !== undefined) {
    return new CorruptStoreError(
      `The LevelDB database at ${db.location} is corrupt (${corruption.message}); restore it from a backup, or close the store, repair the database with ClassicLevel.repair() and check what it recovered.`,
      { cause: corruption, file: db.location },
    )
  }
  return error
}

/**
 * What a write is refused with once an earlier write to the database failed with `cause` (an I/O
 * error; see {@link runtimeError}).
 */
export function refusedWrite(cause: Error, db: LevelDb): BackendUnavailableError {
  const advice = ioAdvice(cause.message) ?? DISK_ADVICE
  return new BackendUnavailableError(
    `The database at ${db.location} refuses writes since one failed (${cause.message}); the write was not made. ${advice}, then close the store and open it again (LevelDB may have left part of the failed write in its log, where later writes could be lost at the next open; reads still work, and what was acknowledged before is kept).`,
    { cause },
  )
}

/**
 * Maps a failure of the file system outside LevelDB (a Node.js error with an errno `code`:
 * ENOSPC, EFBIG, EMFILE, EROFS, EIO, …), met while the store manages its own directories and
 * files, to `KV_BACKEND_UNAVAILABLE`, the error as its `cause`; any other error (a `KVError`
 * among them) is returned as it is. The message is `failed` (what could not be done), the file
 * system's reason, `outcome` (what that left), then what to do: the advice for the reason, then
 * `next`.
 */
export function fileSystemError(
  error: unknown,
  failed: string,
  outcome: string,
  next = 'then retry',
): unknown {
  const code = (error as NodeJS.ErrnoException | null | undefined)?.code
  if (typeof code !== 'string' || !ERRNO_CODE.test(code)) return error
  const reason = (error as Error).message
  const advice = ioAdvice(reason) ?? DISK_ADVICE
  return new BackendUnavailableError(`${failed} (${reason}); ${outcome} ${advice}, ${next}.`, {
    cause: error,
  })
}

/** The advice for an I/O error {@link ioAdvice} has none for. */
const DISK_ADVICE = 'Check the disk and the files under badger.path'

/**
 * What to do about an I/O error of LevelDB (or of the file system) whose cause lies outside the
 * database's files, from its message (LevelDB gives no errno); undefined for any other I/O error (a failing disk, a
 * file replaced by a directory), of which nothing can be promised.
 */
function ioAdvice(reason: string): string | undefined {
  if (/too many open files/i.test(reason)) {
    return 'The process has run out of file descriptors: raise its limit (ulimit -n), or use single_bucket_mode: true (in per-bucket mode every bucket used stays open, with its files)'
  }
  if (/no space left|disk quota/i.test(reason)) return 'Free space on its disk'
  if (/file too large/i.test(reason)) {
    return 'Raise the file-size limit of the process (ulimit -f) or of the file system'
  }
  if (/read-only file system/i.test(reason)) {
    return 'The file system of badger.path is mounted read-only: remount it read-write'
  }
  if (/permission denied|operation not permitted/i.test(reason)) {
    return 'Give the process read and write access to badger.path and its files'
  }
  // Node's EEXIST and ENOTDIR: a file stands where the store needs a directory.
  if (/file already exists|not a directory/i.test(reason)) {
    return 'A file stands where the store needs a directory: move it away'
  }
  return undefined
}
