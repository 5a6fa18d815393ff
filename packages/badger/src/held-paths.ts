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
 * A directory is known by its device and inode, not by its path: a symbolic link, a relative
 * path and a bind mount (a Docker volume, a Kubernetes subPath) all name it under other paths,
 * and `realpath` sees through the first two only. Two stores opened through a bind mount in one
 * process both reached LevelDB, which does not tell them apart either, and lost acknowledged
 * writes.
 *
 * @module
 */
import { statSync } from 'node:fs'
import { LockedError } from '@kv/core'

// v2: keyed by device and inode (v1, by real path, missed bind mounts).
const HELD_PATHS = Symbol.for('@kv/badger:held-paths:v2')
const held = ((globalThis as { [HELD_PATHS]?: Set<string> })[HELD_PATHS] ??= new Set<string>())

/**
 * Marks the existing directory `path` as held by a store of this process, and returns the
 * function that releases it. Throws `KV_LOCKED` when a store of this process holds it already
 * (the same directory by any name: a symbolic link, a relative path, a bind mount).
 */
export function holdPath(path: string): () => void {
  const { dev, ino } = statSync(path, { bigint: true })
  const key = `${dev}:${ino}`
  if (held.has(key)) {
    throw new LockedError(
      `badger.path ${path} is already open in this process (another BadgerKV store holds it); close that one first, or give this store its own badger.path.`,
    )
  }
  held.add(key)
  let released = false
  return () => {
    if (released) return
    released = true
    held.delete(key)
  }
}
