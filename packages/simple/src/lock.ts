/**
 * One store per directory: a `LOCK` file naming the owner's pid, which the owner keeps open, plus
 * a set of the directories this thread has open (a second store object is refused too).
 *
 * The lock file is created atomically with its content (written to a temporary file, then
 * hard-linked into place, which fails if a lock exists), so a reader never sees a half-written
 * pid. The owner opens that temporary file before linking it and keeps the descriptor until it
 * releases the lock.
 *
 * Whether a lock is held:
 * - it names another pid: held while that pid runs;
 * - it names this process's pid: held if a descriptor of this process other than the reader's
 *   own has the file open — another thread (a worker) holds it, since threads share the pid and
 *   the descriptor table but not their JavaScript state. A lock naming this pid that no
 *   descriptor of ours has open was left by an earlier process that had the same pid (a
 *   restarted container) and is stale. The descriptors are listed through /proc/self/fd (or
 *   /dev/fd); where that listing does not show the reader's own descriptor, the lock counts as
 *   held;
 * - it is unreadable as a pid (not written by this module): stale.
 *
 * A stale lock is removed only under a claim: a hard link `LOCK.takeover.<inode>` to it, which
 * one taker at a time can create, checked to be that inode, and only if the claimed file is still
 * stale when judged again under the claim. So a takeover never moves or removes a live owner's
 * lock, however many processes race: whoever replaced the stale lock meanwhile made a new file,
 * which a claim on the old inode does not cover.
 *
 * A process that may not create files in the directory cannot make even the temporary file; it
 * reads the existing lock instead, to report `KV_LOCKED` when that is held, and otherwise the
 * file-system error (it takes nothing over).
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { holdDirectory, LockedError } from '@kv/core'
import { LOCK_FILE } from './files.js'

// The directories this thread's store objects hold (see @kv/core's `holdDirectory`): shared by
// the ESM and CJS builds, or two copies of the package, loaded in one thread. Each worker thread
// has its own: other threads are recognised through the lock file. The real-path set is the one
// every version of this package shares.
const HELD_SETS = { paths: '@kv/simple/held-locks', inodes: '@kv/simple/held-inodes' }

/** Attempts at creating the lock before giving up when other processes keep taking it. */
const ATTEMPTS = 5

/** A held lock. */
export interface Lock {
  /** Releases the lock (removes the file if it is still this lock's). */
  release(): Promise<void>
}

/** A lock file as read: which file it was, and what it says. */
export interface LockFile {
  dev: bigint
  ino: bigint
  /** The pid it names; undefined when its content is not one. */
  pid: number | undefined
  /** For a lock naming this process: whether another descriptor of this process has it open. */
  heldHere: boolean
}

/** Takes the lock of the store directory `dir` (which exists), or throws `KV_LOCKED`. */
export async function acquireLock(dir: string): Promise<Lock> {
  const unhold = holdDirectory(dir, HELD_SETS)
  if (unhold === undefined) {
    throw new LockedError(
      `The simple_kv store at ${dir} is already open in this process (pid ${process.pid}) by another store object; close that one first, or share it.`,
    )
  }
  const path = join(dir, LOCK_FILE)
  try {
    let claimed: string | undefined
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const handle = await tryCreate(dir, path)
      if (handle !== undefined) {
        await removeLeftoverTemporaries(dir)
        return { release: () => release(unhold, path, handle) }
      }
      const found = await readLock(path)
      if (found === undefined) continue
      if (isLive(found)) throw lockedBy(found.pid!, dir, path)
      claimed = await removeStale(path, found)
    }
    throw new LockedError(
      claimed === undefined
        ? `Could not take the lock ${path}: other processes keep taking it; try again.`
        : `Could not take the lock ${path}: another process is taking over the stale lock (${claimed} exists); try again. If this persists while no process has the store open, a takeover was interrupted: remove ${claimed} and ${path}.`,
    )
  } catch (error) {
    unhold()
    throw error
  }
}

function lockedBy(pid: number, dir: string, path: string): LockedError {
  return new LockedError(
    pid === process.pid
      ? `The simple_kv store at ${dir} is already open in this process (pid ${pid}) by another thread; close it there first.`
      : `The simple_kv store at ${dir} is locked by process ${pid}, which is running; close the store there first. (If that pid now belongs to an unrelated process, remove ${path}.)`,
  )
}

/** `LOCK.<pid>.<8 hex>.tmp`: the temporary file {@link tryCreate} links into place. */
const TEMPORARY = new RegExp(`^${LOCK_FILE}\\.(\\d+)\\.[0-9a-f]{8}\\.tmp$`)

/**
 * Removes the temporary lock files that processes killed inside {@link tryCreate} left behind
 * (one per kill), once the lock is held. Only those no attempt is still using: removing one
 * that another process or thread is about to link would make its `link` fail with ENOENT
 * instead of EEXIST, an untyped error where it should get `KV_LOCKED`. An attempt's file is its
 * pid's, and it keeps a descriptor open on it until it is done with it; so a file is left when
 * its pid runs (another process's, still trying) or, when it names this process, while any
 * descriptor of ours has it open (a worker thread trying; or the lock itself, if removing that
 * file failed). Best effort, like the removal in `tryCreate`: the lock is held either way.
 */
async function removeLeftoverTemporaries(dir: string): Promise<void> {
  const names = await fs.readdir(dir).catch(() => [])
  for (const name of names) {
    const match = TEMPORARY.exec(name)
    if (match === null) continue
    const file = join(dir, name)
    const pid = Number(match[1])
    if (pid === process.pid ? await openHere(file) : isRunning(pid)) continue
    await fs.rm(file, { force: true }).catch(() => {})
  }
}

/** Whether a descriptor of this process has `file` open (true when that cannot be known). */
async function openHere(file: string): Promise<boolean> {
  const stats = await fs.stat(file, { bigint: true }).catch(() => undefined)
  if (stats === undefined) return false
  return (await descriptorsOpenOn(stats.dev, stats.ino)) !== 0
}

/**
 * Creates the lock file with this process's pid and returns a descriptor of it, kept open while
 * the lock is held; undefined when a lock file exists. Throws `KV_LOCKED` when this process may
 * not create files in `dir` and another holds the store (see {@link heldWhereNotWritable}).
 */
async function tryCreate(dir: string, path: string): Promise<FileHandle | undefined> {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  // Opened before the link, so that the lock never exists without its owner's descriptor.
  let handle: FileHandle
  try {
    handle = await fs.open(temporary, 'wx')
  } catch (error) {
    throw (await heldWhereNotWritable(error, dir, path)) ?? error
  }
  let linked = false
  try {
    await handle.writeFile(`${process.pid}\n`)
    await fs.link(temporary, path)
    linked = true
    return handle
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined
    throw error
  } finally {
    if (!linked) await handle.close()
    // Best effort: a failure here must not lose the handle of a lock just taken (nothing else
    // could release it); a leftover `.tmp` is read by nothing.
    await fs.rm(temporary, { force: true }).catch(() => {})
  }
}

/** Errors of creating a file where this process may not write (permissions, read-only mount). */
const NOT_WRITABLE = new Set(['EACCES', 'EPERM', 'EROFS'])

/**
 * When creating the temporary lock file failed with `error` because this process may not write
 * to `dir`: `KV_LOCKED` if the existing `LOCK` is held by a live owner (another process, or
 * thread, has the store open, whatever this one could do), else undefined — the caller reports
 * `error` itself (no lock, a stale one, or one that cannot be read). Only reads: a stale lock is
 * never taken over from here, as taking it over needs a lock of one's own to put in its place.
 */
async function heldWhereNotWritable(
  error: unknown,
  dir: string,
  path: string,
): Promise<LockedError | undefined> {
  const code = (error as NodeJS.ErrnoException).code
  if (typeof code !== 'string' || !NOT_WRITABLE.has(code)) return undefined
  const found = await readLock(path).catch(() => undefined)
  if (found === undefined || !isLive(found)) return undefined
  // Not lockedBy's advice: closing the store there, or removing LOCK, would not let this process
  // open it.
  return new LockedError(
    `The simple_kv store at ${dir} is locked by process ${found.pid}, which is running; and this process may not create files in ${dir} (${code}), so it could not open the store even once that one closes it. Open it from a user that may write to ${dir}, or give this one write access.`,
    { cause: error },
  )
}

/** Reads the lock file at `path`; undefined when there is none. */
export async function readLock(path: string): Promise<LockFile | undefined> {
  let handle: FileHandle
  try {
    handle = await fs.open(path, 'r')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  try {
    const { dev, ino } = await handle.stat({ bigint: true })
    const number = Number((await handle.readFile('utf8')).trim())
    const pid = Number.isSafeInteger(number) && number > 0 ? number : undefined
    // Counted while `handle` is open: exactly one descriptor (ours) means no other thread
    // holds it; none means the listing does not show descriptors, and proves nothing.
    const heldHere = pid === process.pid && (await descriptorsOpenOn(dev, ino)) !== 1
    return { dev, ino, pid, heldHere }
  } finally {
    await handle.close()
  }
}

/** Whether the owner `lock` names holds it (see the module comment). */
function isLive(lock: LockFile): boolean {
  if (lock.pid === undefined) return false
  return lock.pid === process.pid ? lock.heldHere : isRunning(lock.pid)
}

/** How many descriptors of this process are open on the file; undefined when unknown. */
async function descriptorsOpenOn(dev: bigint, ino: bigint): Promise<number | undefined> {
  for (const table of ['/proc/self/fd', '/dev/fd']) {
    let names: string[]
    try {
      names = await fs.readdir(table)
    } catch {
      continue
    }
    let count = 0
    for (const name of names) {
      // A descriptor closed meanwhile (or the listing's own) fails or is another file.
      const stats = await fs.stat(join(table, name), { bigint: true }).catch(() => undefined)
      if (stats !== undefined && stats.dev === dev && stats.ino === ino) count++
    }
    return count
  }
  return undefined
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Removes the lock file at `path`, judged stale as `judged`, if it is still that file and still
 * stale. Claims it first: `LOCK.takeover.<inode>`, a hard link that only one taker can create.
 * While the claim exists no other taker removes that file, so the file under `LOCK` is the one
 * claimed until this function removes it (or, if it is live after all, its owner does). Returns
 * the claim file when another taker holds it (or held it and was killed), else undefined.
 */
export async function removeStale(path: string, judged: LockFile): Promise<string | undefined> {
  const claim = `${path}.takeover.${judged.ino}`
  try {
    await fs.link(path, claim)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return undefined
    if (code === 'EEXIST') return claim
    throw error
  }
  try {
    const claimed = await readLock(claim)
    // A claim of another file (LOCK was replaced after it was judged) is no claim: its name
    // is reserved for the inode it names. Whatever it claims is judged again: the replacement
    // may have been given the stale file's inode number.
    if (
      claimed !== undefined &&
      claimed.dev === judged.dev &&
      claimed.ino === judged.ino &&
      !isLive(claimed)
    ) {
      await fs.rm(path, { force: true })
    }
  } finally {
    await fs.rm(claim, { force: true })
  }
  return undefined
}

async function release(unhold: () => void, path: string, handle: FileHandle): Promise<void> {
  try {
    const own = await handle.stat({ bigint: true })
    const current = await fs.stat(path, { bigint: true }).catch(() => undefined)
    if (current !== undefined && current.dev === own.dev && current.ino === own.ino) {
      await fs.rm(path, { force: true })
    }
  } finally {
    unhold()
    // Closed only after the file is gone: until then, other threads see the lock as held.
    await handle.close()
  }
}
