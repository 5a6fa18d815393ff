/**
 * One store per directory: a `LOCK` file naming the owner's pid, plus a set of the directories
 * this process has open (a second store object in the same process is refused too).
 *
 * The lock file is created atomically with its content (written to a temporary file, then
 * hard-linked into place, which fails if a lock exists), so a reader never sees a half-written
 * pid. A lock whose pid is no longer running — or is this very process, which does not hold it
 * (a container restarted with the same pid) — is stale: it is moved aside and replaced.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import { join } from 'node:path'
import { LockedError } from '@kv/core'
import { LOCK_FILE } from './files.js'

// Shared through the global registry so that the ESM and CJS builds, or two copies of the
// package, loaded in one process still see each other's locks.
const HELD_KEY = Symbol.for('@kv/simple/held-locks')
const held: Set<string> =
  ((globalThis as Record<symbol, unknown>)[HELD_KEY] as Set<string> | undefined) ??
  ((globalThis as Record<symbol, unknown>)[HELD_KEY] = new Set<string>())

/** A held lock. */
export interface Lock {
  /** Releases the lock (removes the file if it still names this process). */
  release(): Promise<void>
}

/** Takes the lock of the store directory `dir` (which exists), or throws `KV_LOCKED`. */
export async function acquireLock(dir: string): Promise<Lock> {
  const key = await fs.realpath(dir)
  if (held.has(key)) {
    throw new LockedError(
      `The simple_kv store at ${dir} is already open in this process (pid ${process.pid}) by another store object; close that one first, or share it.`,
    )
  }
  held.add(key)
  const path = join(dir, LOCK_FILE)
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      if (await tryCreate(path)) return { release: () => release(key, path) }
      const owner = await readOwner(path)
      if (owner === 'missing') continue
      if (owner !== undefined && owner !== process.pid && isRunning(owner)) {
        throw new LockedError(
          `The simple_kv store at ${dir} is locked by process ${owner}, which is running; close the store there first. (If that pid now belongs to an unrelated process, remove ${path}.)`,
        )
      }
      await takeOver(path, owner)
    }
    throw new LockedError(
      `Could not take the lock ${path}: other processes keep taking it; try again.`,
    )
  } catch (error) {
    held.delete(key)
    throw error
  }
}

/** Creates the lock file with this process's pid; false when a lock file exists. */
async function tryCreate(path: string): Promise<boolean> {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  await fs.writeFile(temporary, `${process.pid}\n`)
  try {
    await fs.link(temporary, path)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  } finally {
    await fs.rm(temporary, { force: true })
  }
}

/** The pid in a lock file; undefined when unreadable as one; 'missing' when the file is gone. */
async function readOwner(path: string): Promise<number | undefined | 'missing'> {
  let text: string
  try {
    text = await fs.readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing'
    throw error
  }
  const pid = Number(text.trim())
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
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
 * Removes a stale lock whose owner was `owner`. It is first moved aside (atomic: of several
 * processes doing this, one wins); if what was moved turns out not to be the stale lock (another
 * process replaced it meanwhile), it is put back.
 */
async function takeOver(path: string, owner: number | undefined): Promise<void> {
  const aside = `${path}.stale.${process.pid}.${randomBytes(4).toString('hex')}`
  try {
    await fs.rename(path, aside)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  const moved = await readOwner(aside)
  if (moved !== owner) await fs.link(aside, path).catch(() => {})
  await fs.rm(aside, { force: true })
}

async function release(key: string, path: string): Promise<void> {
  try {
    if ((await readOwner(path)) === process.pid) await fs.rm(path, { force: true })
  } finally {
    held.delete(key)
  }
}
