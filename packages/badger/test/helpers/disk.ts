import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * Size of the files under `dir`, in bytes. File sizes, not allocated blocks: with delayed
 * allocation a file just written may have no blocks yet.
 */
export async function diskUsage(dir: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    total += entry.isDirectory() ? await diskUsage(path) : (await stat(path)).size
  }
  return total
}
