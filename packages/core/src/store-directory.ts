/**
 * `createStoreDirectory`: the directory a file backend keeps its store in.
 *
 * @module
 */
import { mkdir } from 'node:fs/promises'
import { InvalidConfigError } from './errors.js'

/**
 * Creates `path` and its parents if missing. A file standing where the directory or one of its
 * parents should be is a configuration error — `KV_INVALID_CONFIG` naming `key` (the backend's
 * path setting), with the file system's error as `cause`; any other failure passes unchanged.
 * `defaulted`: the path was not configured but derived from `data_dir`, which the message says.
 */
export async function createStoreDirectory(
  path: string,
  key: string,
  defaulted = false,
): Promise<void> {
  try {
    await mkdir(path, { recursive: true })
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'EEXIST' && code !== 'ENOTDIR') throw error
    const where = defaulted ? `${path} (${key} is not set: the default under data_dir)` : path
    throw new InvalidConfigError(
      `The store directory ${where} cannot be created: ${code === 'EEXIST' ? 'a file that is not a directory is in its place' : 'a component of the path is a file, not a directory'} (${(error as Error).message}). Set ${key} to a directory, or move the file away.`,
      { key, cause: error },
    )
  }
}
