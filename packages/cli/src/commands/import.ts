/**
 * `kv import FILE`: reads an export file and writes its entries to the store, streaming.
 *
 * Every line is checked before its entry is written; at the first bad line nothing more is
 * written, the writes in flight (of earlier lines) finish, and the error names the line. Entries
 * of earlier lines stay written: import overwrites, so fixing the file and re-running is safe.
 *
 * @module
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { Command } from 'commander'
import { type Act, concurrencyOption, examples } from '../action.js'
import { checkFileOption } from '../config.js'
import { CliError, ExitCode, exitCodeFor } from '../exit-codes.js'
import { ExportFormatError, ExportReader, maxEntryLineBytes } from '../export-format.js'
import { Interrupt } from '../interrupt.js'
import { MAX_LINE_BYTES, type ReadLinesOptions, readLines } from '../lines.js'
import { counted, printJson, printLine } from '../output.js'
import type { Session } from '../session.js'
import { keySlot, WriteWindow } from '../window.js'

interface ImportOptions {
  dryRun?: boolean
  concurrency: number
}

/** A write of an entry that failed, with the line the entry came from. */
class WriteFailure {
  constructor(
    readonly line: number,
    readonly cause: unknown,
  ) {}
}

/**
 * The lines of the input; a failure to read it (a directory, a vanished file) is exit 4. A line
 * that is not UTF-8 is a bad line like any other ({@link ExportFormatError}, with its number).
 */
async function* inputLines(
  input: AsyncIterable<Buffer | string>,
  name: string,
  maxValueBytes: number,
) {
  // A line longer than any entry the store takes is refused as soon as it is that long: read
  // whole, a line of hundreds of MiB took several times its size in memory, and one beyond
  // the longest string Node.js holds was reported as not UTF-8.
  const longest = maxEntryLineBytes(maxValueBytes)
  const options: ReadLinesOptions =
    longest < MAX_LINE_BYTES
      ? {
          maxLineBytes: longest,
          why: `more than an entry within the store's value limit (${maxValueBytes} bytes) takes`,
        }
      : {}
  try {
    yield* readLines(input, options)
  } catch (cause) {
    if (cause instanceof ExportFormatError) throw cause
    throw new CliError(ExitCode.INVALID_INPUT, `cannot read ${name}: ${(cause as Error).message}`, {
      cause,
    })
  }
}

const mebibytes = (bytes: number): string => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`

async function inputSize(file: string): Promise<number | undefined> {
  if (file === '-') return undefined
  try {
    return (await stat(file)).size
  } catch (cause) {
    throw new CliError(ExitCode.INVALID_INPUT, `cannot read ${file}: ${(cause as Error).message}`, {
      cause,
    })
  }
}

async function runImport(session: Session, file: string, options: ImportOptions): Promise<void> {
  // Before anything is opened: a FILE with invalid bytes would name another file.
  checkFileOption('FILE', file)
  const size = await inputSize(file)
  // A dry run writes nothing, so it does not open the store either (opening creates an empty
  // database): it checks the file against the store's configuration only.
  const store = options.dryRun
    ? await session.unopenedStore('import')
    : await session.store('import')
  const name = file === '-' ? 'stdin' : file
  const started = performance.now()
  const reader = new ExportReader(store.limits.maxValueBytes)
  const window = new WriteWindow(options.concurrency)
  // A dry run has no write in flight to finish: it only stops checking.
  const interrupt = new Interrupt(() =>
    process.stderr.write(
      options.dryRun
        ? `kv import: stopping the check of ${name}; --dry-run writes nothing (Ctrl-C again to force)\n`
        : 'kv import: stopping; finishing the writes in flight (Ctrl-C again to force)\n',
    ),
  )
  const progress = session.progress('import', mebibytes)
  let written = 0
  try {
    await progress.start(size)
    const input =
      file === '-' ? process.stdin : createReadStream(file, { highWaterMark: 256 * 1024 })
    for await (const { text, bytes } of inputLines(input, name, store.limits.maxValueBytes)) {
      if (interrupt.requested) break
      const entry = reader.line(text)
      if (entry === undefined) {
        progress.advance(0, bytes)
        continue
      }
      progress.advance(1, bytes)
      if (options.dryRun) continue
      const line = reader.lineNumber
      const full = window.add(
        async () => {
          await store.addValue(entry.bucket, entry.key, entry.value)
          written++
        },
        (error) => new WriteFailure(line, error),
        // A later line for the same bucket and key wins, whatever order the backend keeps.
        keySlot(entry.bucket, entry.key),
      )
      if (full !== undefined) await full
    }
    await window.drain()
    progress.stop()
    if (interrupt.requested) {
      throw interrupt.error(
        options.dryRun
          ? `checked ${name} up to line ${reader.lineNumber}, nothing written (--dry-run). Run the same command again to check the whole file.`
          : `imported ${counted(written, 'entry', 'entries')} (up to line ${reader.lineNumber} of ${name}). Run the same command again to finish: import overwrites, so re-running is safe.`,
      )
    }
    const entries = reader.end()
    const seconds = (performance.now() - started) / 1000
    if (session.json) {
      await printJson({
        file,
        backend: store.name,
        entries,
        written,
        dryRun: options.dryRun === true,
        seconds,
      })
    } else if (options.dryRun) {
      await printLine(
        `kv import: ${name} is valid: ${counted(entries, 'entry', 'entries')} (nothing written, --dry-run)`,
      )
    } else {
      await printLine(
        `kv import: wrote ${counted(written, 'entry', 'entries')} from ${name} to ${store.name} in ${seconds.toFixed(1)}s`,
      )
    }
  } catch (error) {
    progress.stop()
    await window.settle()
    if (error instanceof ExportFormatError) {
      const kept = options.dryRun
        ? 'nothing was written (--dry-run)'
        : `${counted(written, 'entry', 'entries')} before it ${written === 1 ? 'was' : 'were'} written; fix the file and re-run (import overwrites, so re-running is safe)`
      throw new CliError(error.exitCode, `cannot import ${name}: ${error.message}; ${kept}`, {
        cause: error,
      })
    }
    if (error instanceof WriteFailure) {
      throw new CliError(
        exitCodeFor(error.cause),
        `cannot import ${name}: writing the entry of line ${error.line} failed: ${(error.cause as Error).message}`,
        { cause: error.cause },
      )
    }
    throw error
  } finally {
    interrupt.dispose()
  }
}

/** Adds `import` to `program`. */
export function registerImport(program: Command, act: Act): void {
  program
    .command('import')
    .description('write the entries of an export FILE to the store (existing keys are overwritten)')
    .argument('<file>', 'the export file to read, or - for stdin')
    .option('--dry-run', 'check every line of the file; write nothing, do not open the store')
    .addOption(concurrencyOption(64))
    .addHelpText(
      'after',
      examples(
        'kv import backup.ndjson',
        'gunzip -c backup.ndjson.gz | kv --backend badger import -',
        'kv import --dry-run backup.ndjson     # validate only',
        '',
        'A bad line stops the import with its line number (exit 4); the lines before it stay imported.',
      ),
    )
    .action(
      act((session, file: string, options: ImportOptions) => runImport(session, file, options)),
    )
}
