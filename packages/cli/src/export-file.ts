/**
 * The file an export writes: `FILE.<pid>.partial` while the export runs, flushed to disk and
 * renamed to FILE when it is complete, removed when it is not. FILE is therefore either what it
 * was before or a complete export, never a truncated one.
 *
 * @module
 */

import { once } from 'node:events'
import { createWriteStream, rmSync, type Stats, type WriteStream } from 'node:fs'
import { lstat, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { CliError, ExitCode } from './exit-codes.js'

/** What a non-regular file is, for the message refusing it. */
function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO'
  if (stats.isSocket()) return 'a socket'
  if (stats.isCharacterDevice()) return 'a character device'
  if (stats.isBlockDevice()) return 'a block device'
  return 'not a file'
}

/**
 * Refuses a FILE the finished export could not, or should not, be renamed to, before anything
 * is exported: rename(2) fails on a directory (after the whole export), and would replace a
 * FIFO, socket or device with a regular file. A symbolic link is judged by what it points to;
 * one to a regular file (or to nothing) is replaced by the export, as rename does, and the file
 * it pointed to is left as it was.
 */
async function checkTarget(file: string): Promise<void> {
  let stats: Stats
  try {
    stats = await lstat(file)
  } catch {
    // Nothing there (the usual case), or nothing we can see: opening the partial file decides.
    return
  }
  const link = stats.isSymbolicLink()
  if (link) {
    try {
      stats = await stat(file)
    } catch {
      return // a link to nothing: replaced
    }
  }
  const what = (kind: string) => (link ? `a symbolic link to ${kind}` : kind)
  if (stats.isDirectory()) {
    throw new CliError(
      ExitCode.INVALID_INPUT,
      `cannot write ${file}: it is ${what('a directory')}; give the path of a file, for example ${join(file, 'backup.ndjson')}`,
    )
  }
  if (!stats.isFile()) {
    throw new CliError(
      ExitCode.INVALID_INPUT,
      `cannot write ${file}: it is ${what(kindOf(stats))}, not a regular file; to write the export to it, run kv export - > ${file}`,
    )
  }
}

/** An export file being written. */
export class ExportFile {
  /** The stream to write the export to. */
  readonly stream: WriteStream
  readonly #file: string
  readonly #partial: string

  private constructor(stream: WriteStream, file: string, partial: string) {
    this.stream = stream
    this.#file = file
    this.#partial = partial
  }

  /**
   * Creates the partial file next to `file`; a path that cannot be written, or that names a
   * directory or another file that is not a regular one, is exit 4.
   */
  static async create(file: string): Promise<ExportFile> {
    await checkTarget(file)
    const partial = `${file}.${process.pid}.partial`
    // flush: the data is synced to disk before the file is closed, so before the rename.
    const stream = createWriteStream(partial, { flush: true })
    try {
      await once(stream, 'open')
    } catch (cause) {
      throw new CliError(
        ExitCode.INVALID_INPUT,
        `cannot write ${file}: ${(cause as Error).message}`,
        { cause },
      )
    }
    return new ExportFile(stream, file, partial)
  }

  /**
   * Finishes the file: flushes and closes the stream, then renames the file to its name. A
   * rename that fails (FILE replaced by a directory meanwhile, on another file system, owned by
   * another user in a sticky directory) is exit 4; the caller's {@link ExportFile.abort} then
   * removes the partial file.
   */
  async commit(): Promise<void> {
    const closed = once(this.stream, 'close')
    this.stream.end()
    await closed
    try {
      await rename(this.#partial, this.#file)
    } catch (cause) {
      throw new CliError(
        ExitCode.INVALID_INPUT,
        `cannot write ${this.#file}: the finished export could not be renamed to it (${(cause as Error).message}); ${this.#file} was not changed: export to another path`,
        { cause },
      )
    }
  }

  /**
   * Removes the partial file at once, synchronously, for a process that exits without waiting
   * (a second Ctrl-C); the descriptor goes with the process.
   */
  removeNow(): void {
    rmSync(this.#partial, { force: true })
  }

  /** Gives up: closes and removes the partial file. */
  async abort(): Promise<void> {
    if (!this.stream.destroyed) {
      const closed = once(this.stream, 'close').catch(() => {})
      this.stream.destroy()
      await closed
    }
    await rm(this.#partial, { force: true })
  }
}
