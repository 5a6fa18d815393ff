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
 * A directory is held by any name of it — a symbolic link, a relative path, a bind mount (two
 * stores opened through one in a process both reached LevelDB, which does not tell them apart
 * either, and lost acknowledged writes): see @kv/core's `holdDirectory`. The real-path set is
 * the one every version of this package shares.
 *
 * @module
 */
import { holdDirectory, LockedError } from '@kv/core'

/** The sets of held directories (see `holdDirectory`) of every copy of @kv/badger. */
const HELD_SETS = { paths: '@kv/badger:held-paths:v1', inodes: '@kv/badger:held-inodes:v1' }

/**
 * Marks the existing directory `path` as held by a store of this process, and returns the
 * function that releases it. Throws `KV_LOCKED` when a store of this process holds it already
 * (the same directory by any name: a symbolic link, a relative path, a bind mount).
 */
export function holdPath(path: string): () => void {
  const release = holdDirectory(path, HELD_SETS)
  if (release === undefined) {
    throw new LockedError(
      `badger.path ${path} is already open in this process (another BadgerKV store holds it); close that one first, or give this store its own badger.path.`,
    )
  }
  return release
}
