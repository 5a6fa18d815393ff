/**
 * The file an export writes: `FILE.<pid>.partial` while the export runs, flushed to disk and
 * renamed to FILE when it is complete, removed when it is not. FILE is therefore either what it
 * was before or a complete export, never a truncated one.
 *
 * @module
 */

import { once } from 'node:events'
import { createWriteStream, rmSync, type WriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { CliError, ExitCode } from './exit-codes.js'

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

  /** Creates the partial file next to `file`; a path that cannot be written is exit 4. */
  static async create(file: string): Promise<ExportFile> {
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

  /** Finishes the file: flushes and closes the stream, then renames the file to its name. */
  async commit(): Promise<void> {
    const closed = once(this.stream, 'close')
    this.stream.end()
    await closed
    await rename(this.#partial, this.#file)
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
