/**
 * The file an export writes: `.kv-export-<pid>-<random>.partial`, in FILE's directory, while the
 * export runs, flushed to disk and renamed to FILE when it is complete, removed when it is not.
 * FILE is therefore either what it was before or a complete export, never a truncated one.
 *
 * @module
 */

import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createWriteStream, rmSync, type Stats, type WriteStream } from 'node:fs'
import { lstat, rename, rm, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
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
    // The partial file is made in dirname(FILE), which for `out/` is `.`: opening it would not
    // see that `out/` cannot be a file, and only the rename, after the whole export, would fail.
    if (file.endsWith('/')) {
      throw new CliError(
        ExitCode.INVALID_INPUT,
        `cannot write ${file}: a path ending in / names a directory; give the path of a file, for example ${join(file, 'backup.ndjson')}`,
      )
    }
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
  /** The first error of the stream: a write, the flush or the close of the partial file. */
  #failure: Error | undefined

  private constructor(stream: WriteStream, file: string, partial: string) {
    this.stream = stream
    this.#file = file
    this.#partial = partial
    stream.on('error', (error) => {
      this.#failure ??= error
    })
  }

  /**
   * Creates the partial file next to `file`; a path that cannot be written, or that names a
   * directory or another file that is not a regular one, is exit 4.
   */
  static async create(file: string): Promise<ExportFile> {
    await checkTarget(file)
    // In FILE's directory, so that the rename stays on one file system; not named after FILE,
    // so that it is short: FILE's own name may take all of NAME_MAX (255 bytes). The random
    // part keeps two exports from one process (or a reused pid) apart.
    const partial = join(
      dirname(file),
      `.kv-export-${process.pid}-${randomBytes(4).toString('hex')}.partial`,
    )
    // flush: the data is synced to disk before the file is closed, so before the rename.
    // wx: whatever is already at that name (a file, a symbolic link) is never written over or
    // through; the open fails instead (exit 4).
    const stream = createWriteStream(partial, { flush: true, flags: 'wx' })
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
   * `error` as the export reports it: the stream's own failure (a write, the flush or the close
   * of the partial file that failed: a full disk, a quota, an I/O error) is exit 4 naming FILE,
   * as the README's exit-code table says of a FILE that cannot be written; any other error (the
   * store's) is returned as it is.
   */
  explain(error: unknown): unknown {
    if (error === undefined || error !== this.#failure) return error
    return new CliError(
      ExitCode.INVALID_INPUT,
      `cannot write ${this.#file}: the export could not be written (${(error as Error).message}); ${this.#file} was not changed: export to another path`,
      { cause: error },
    )
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
