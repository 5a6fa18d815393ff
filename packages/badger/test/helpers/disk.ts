import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * Size of the files under `dir`, in bytes. File sizes, not allocated blocks: with delayed
 * allocation a file just written may have no blocks yet.
 *
 * LevelDB compacts in a thread of its own while a store is open, removing table files at any
 * moment: a file or directory listed but gone by the time it is read counts as nothing, which
 * is what it now takes on disk. `dir` itself must exist.
 */
export async function diskUsage(dir: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    total += await unlessGone(entry.isDirectory() ? diskUsage(path) : fileSize(path))
  }
  return total
}

async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size
}

async function unlessGone(size: Promise<number>): Promise<number> {
  try {
    return await size
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0
    throw error
  }
}
