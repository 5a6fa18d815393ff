/**
 * `createStoreDirectory`: the directory a file backend keeps its store in; `syncDirectory`,
 * which makes a directory's entries durable; and `holdDirectory`, which keeps a second store of
 * one process off a store directory already in use.
 *
 * @module
 */
import { constants, realpathSync, statSync } from 'node:fs'
import { lstat, mkdir, open, readlink, stat } from 'node:fs/promises'
import { dirname, isAbsolute, resolve, sep } from 'node:path'
import { InvalidConfigError } from './errors.js'

/**
 * Makes the entries of directory `dir` (files and directories created, renamed or removed in it)
 * durable: an fsync of the directory itself, without which a power cut may forget them although
 * their contents were synced. A no-op on Windows, which cannot open a directory to sync it.
 */
export async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY)
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/**
 * Creates `path` and its parents if missing, durably: the directories created are synced into
 * their parents ({@link syncDirectory}). A file standing where the directory or one of its
 * parents should be is a configuration error — `KV_INVALID_CONFIG` naming `key` (the backend's
 * path setting), with the file system's error as `cause` — and so is a symbolic link on the path
 * that leads nowhere (its target missing, or a loop); any other failure passes unchanged.
 * `defaulted`: the path was not configured but derived from `data_dir`, which the message says.
 */
export async function createStoreDirectory(
  path: string,
  key: string,
  defaulted = false,
): Promise<void> {
  let first: string | undefined
  try {
    first = await mkdir(path, { recursive: true })
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const where = defaulted ? `${path} (${key} is not set: the default under data_dir)` : path
    const link = await danglingLink(path)
    if (link !== undefined) {
      throw new InvalidConfigError(
        `The store directory ${where} cannot be created: ${link.path} is a symbolic link to ${link.target}, which ${link.loop ? 'leads back to itself (a loop)' : link.end === link.target ? 'does not exist' : `is a symbolic link in turn, leading to ${link.end}, which does not exist`}. Create the directory the links lead to, or set ${key} to a directory (${(error as Error).message}).`,
        { key, cause: error },
      )
    }
    if (code !== 'EEXIST' && code !== 'ENOTDIR') throw error
    throw new InvalidConfigError(
      `The store directory ${where} cannot be created: ${code === 'EEXIST' ? 'a file that is not a directory is in its place' : 'a component of the path is a file, not a directory'} (${(error as Error).message}). Set ${key} to a directory, or move the file away.`,
      { key, cause: error },
    )
  }
  // `first` is the outermost directory mkdir created (an absolute path): each directory made is
  // an entry of its parent, from first's parent down to path's.
  // Best effort, as PostgreSQL's directory syncs: a parent the process may write but not read
  // (mode 0733), or a file system that refuses to sync a directory, must not make the first
  // open() fail where the next one (which creates nothing) succeeds.
  if (first !== undefined) {
    const top = dirname(resolve(first))
    for (let dir = dirname(resolve(path)); ; dir = dirname(dir)) {
      await syncDirectory(dir).catch((error: NodeJS.ErrnoException) => {
        if (!UNSYNCABLE.has(error.code ?? '')) throw error
      })
      if (dir === top || dirname(dir) === dir) break
    }
  }
}

/**
 * The first symbolic link on `path` (from the root down) whose target cannot be reached: it
 * does not exist, or the links loop. Such a link makes `mkdir` fail with ENOENT, ENOTDIR, EEXIST
 * or ELOOP, none of which names it. Undefined when there is none (or it cannot be told).
 */
async function danglingLink(
  path: string,
): Promise<{ path: string; target: string; end: string; loop: boolean } | undefined> {
  // Not normalised: in `link/..` the kernel follows the link before it steps back.
  const parts = (isAbsolute(path) ? path : `${process.cwd()}${sep}${path}`).split(sep)
  for (let i = 2; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join(sep)
    const entry = await lstat(prefix).catch(() => undefined)
    if (entry === undefined) return undefined
    if (!entry.isSymbolicLink()) continue
    const code = await stat(prefix).then(
      () => undefined,
      (error: NodeJS.ErrnoException) => error.code,
    )
    if (code === 'ENOENT' || code === 'ELOOP') {
      const target = await linkTarget(prefix)
      // The target may be a link in turn (a chain): what does not exist is at its end.
      let end = target
      for (let hop = 0; code === 'ENOENT' && end !== undefined && hop < 40; hop++) {
        const next = await lstat(end).then(
          (found) => (found.isSymbolicLink() ? linkTarget(end!) : undefined),
          () => undefined,
        )
        if (next === undefined) break
        end = next
      }
      return { path: prefix, target: target ?? '?', end: end ?? '?', loop: code === 'ELOOP' }
    }
  }
  return undefined
}

/** Where the symbolic link `link` points, as an absolute path; undefined when unreadable. */
function linkTarget(link: string): Promise<string | undefined> {
  return readlink(link).then(
    (to) => resolve(dirname(link), to),
    () => undefined,
  )
}

type HeldSets = { [key: symbol]: Set<string> | undefined }

/**
 * Marks the existing directory `path` as held by a store of this thread, and returns the function
 * that releases it (once; a second call does nothing) — or undefined when a store of this thread
 * holds it already. `sets` names, as `Symbol.for` keys, the two sets of the backend package that
 * holds it: shared through the global object, so that the package's ESM and CommonJS builds, or
 * two installed copies of it, see each other's holds (a worker thread has a global object, and
 * sets, of its own).
 *
 * A directory is known by its real path (`paths`) and by its device and inode (`inodes`): a
 * symbolic link and a relative path resolve to the real path, but a bind mount (a Docker volume,
 * a Kubernetes subPath) does not, while its inode is the same. Both keys, since an inode alone is
 * not always an identity: some file systems report 0 for every directory (not used), and an
 * overlay may renumber one.
 */
export function holdDirectory(
  path: string,
  sets: { paths: string; inodes: string },
): (() => void) | undefined {
  const global = globalThis as HeldSets
  const paths = (global[Symbol.for(sets.paths)] ??= new Set<string>())
  const inodes = (global[Symbol.for(sets.inodes)] ??= new Set<string>())
  const real = realpathSync.native(path)
  const { dev, ino } = statSync(path, { bigint: true })
  const inode = ino === 0n ? undefined : `${dev}:${ino}`
  if (paths.has(real) || (inode !== undefined && inodes.has(inode))) return undefined
  paths.add(real)
  if (inode !== undefined) inodes.add(inode)
  let released = false
  return () => {
    if (released) return
    released = true
    paths.delete(real)
    if (inode !== undefined) inodes.delete(inode)
  }
}

/** Errors that say a directory cannot be opened or synced here, rather than that I/O failed. */
const UNSYNCABLE = new Set([
  'EACCES',
  'EPERM',
  'EINVAL',
  'ENOTSUP',
  'EOPNOTSUPP',
  'EBADF',
  'EISDIR',
])
