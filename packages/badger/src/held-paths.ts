/**
 * The store paths this process holds open, shared by every copy of @kv/badger loaded in it.
 *
 * A second open of a path this process already holds must not reach LevelDB. LevelDB does
 * refuse it (`LEVEL_LOCKED`: "already held by process"), but only after opening the `LOCK` file
 * again, and closing that descriptor drops the POSIX record lock the first store holds on the
 * file: a process's `fcntl` locks on a file go with any of its descriptors of that file that it
 * closes (fcntl(2)). Another process could then open the store while this one still writes to
 * it — seen: after one refused open here, a child process opened a per-bucket store held here.
 *
 * A directory is known by its real path and by its device and inode: a symbolic link and a
 * relative path resolve to the real path, but a bind mount (a Docker volume, a Kubernetes subPath)
 * does not — two stores opened through one in a process both reached LevelDB, which does not tell
 * them apart either, and lost acknowledged writes — while the inode is the same. Both keys, since
 * an inode alone is not always an identity: some file systems report 0 for every directory, and an
 * overlay may renumber one. The real paths stay in the set earlier versions of this package share.
 *
 * @module
 */
import { realpathSync, statSync } from 'node:fs'
import { LockedError } from '@kv/core'

type HeldSets = { [key: symbol]: Set<string> | undefined }
/** Real paths held: the set every version of @kv/badger shares. */
const byPath = ((globalThis as HeldSets)[Symbol.for('@kv/badger:held-paths:v1')] ??=
  new Set<string>())
/** `device:inode` of the directories held. */
const byInode = ((globalThis as HeldSets)[Symbol.for('@kv/badger:held-inodes:v1')] ??=
  new Set<string>())

/**
 * Marks the existing directory `path` as held by a store of this process, and returns the
 * function that releases it. Throws `KV_LOCKED` when a store of this process holds it already
 * (the same directory by any name: a symbolic link, a relative path, a bind mount).
 */
export function holdPath(path: string): () => void {
  const real = realpathSync.native(path)
  const { dev, ino } = statSync(path, { bigint: true })
  const inode = ino === 0n ? undefined : `${dev}:${ino}`
  if (byPath.has(real) || (inode !== undefined && byInode.has(inode))) {
    throw new LockedError(
      `badger.path ${path} is already open in this process (another BadgerKV store holds it); close that one first, or give this store its own badger.path.`,
    )
  }
  byPath.add(real)
  if (inode !== undefined) byInode.add(inode)
  let released = false
  return () => {
    if (released) return
    released = true
    byPath.delete(real)
    if (inode !== undefined) byInode.delete(inode)
  }
}
