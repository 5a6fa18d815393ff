import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A fresh temporary directory. */
export function tempDir(label = 'test'): Promise<string> {
  return mkdtemp(join(tmpdir(), `kv-badger-${label}-`))
}

/** Removes a directory made by {@link tempDir}. */
export function removeDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true, maxRetries: 3 })
}
