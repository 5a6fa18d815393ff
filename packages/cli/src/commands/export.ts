/**
 * `kv export FILE`: writes every entry (or those of some buckets) to a portable NDJSON file
 * (see export-format.ts), streaming: memory stays constant whatever the store's size.
 *
 * A file is written under a temporary name and renamed when complete (export-file.ts).
 *
 * @module
 */
import type { KVStore } from '@kv/core'
import type { Command } from 'commander'
import { type Act, concurrencyOption, examples } from '../action.js'
import { checkFileOption } from '../config.js'
import { countBucket, countEntries, total } from '../count.js'
import { ExportFile } from '../export-file.js'
import { entryLine, headerLine, trailerLine } from '../export-format.js'
import { Interrupt } from '../interrupt.js'
import { parseBucket } from '../keys.js'
import { VALUE_BYTES_BUDGET } from '../migrate.js'
import { counted, LineWriter, write } from '../output.js'
import type { Progress } from '../progress.js'
import type { Session } from '../session.js'
import { OrderedWindow } from '../window.js'

interface ExportOptions {
  bucket?: string[]
  concurrency: number
}

interface Read {
  bucket: string
  key: Uint8Array
  value: Uint8Array | null
}

/** Writes the entries of `buckets` (all when undefined) to `out`; returns entries and buckets written. */
async function writeEntries(
  store: KVStore,
  out: LineWriter,
  options: ExportOptions,
  progress: Progress,
  interrupt: Interrupt,
): Promise<{ entries: number; buckets: number }> {
  const window = new OrderedWindow<Read>(options.concurrency)
  const wanted = options.bucket === undefined ? undefined : new Set(options.bucket)
  let entries = 0
  let buckets = 0
  // The largest value read so far; undefined until the first read completes, meanwhile one
  // read at a time.
  let largest: number | undefined
  const emit = async (read: Read): Promise<void> => {
    progress.advance(1)
    // A key deleted between listing and reading is not exported.
    if (read.value === null) return
    await out.write(`${entryLine(read.bucket, read.key, read.value)}\n`)
    entries++
  }
  try {
    for await (const bucket of store.buckets()) {
      if (wanted !== undefined && !wanted.has(bucket)) continue
      buckets++
      for await (const key of store.keys(bucket)) {
        if (interrupt.requested) break
        // Room for as many reads as VALUE_BYTES_BUDGET takes at the largest size seen (so that
        // 64 reads of 8 MiB values do not hold 512 MiB): the oldest are written out first. (A
        // value's size is known only once it is read.)
        const room =
          largest === undefined
            ? 1
            : Math.max(1, Math.floor(VALUE_BYTES_BUDGET / Math.max(1, largest)))
        while (window.length > 0 && window.length >= room) await emit(await window.shift())
        const read = store.getValue(bucket, key).then((value) => {
          largest = Math.max(largest ?? 0, value?.length ?? 0)
          return { bucket, key, value }
        })
        const oldest = await window.push(read)
        if (oldest !== undefined) await emit(oldest.value)
      }
      if (interrupt.requested) break
    }
    for await (const read of window.drain()) await emit(read)
  } catch (error) {
    await window.settle()
    throw error
  }
  return { entries, buckets }
}

async function runExport(session: Session, file: string, options: ExportOptions): Promise<void> {
  // Checked before anything is opened: without the counting pass (--no-progress) a name is only
  // a filter, and one that no bucket can have would export an empty file.
  for (const name of options.bucket ?? []) parseBucket(name, '--bucket')
  // Before anything is created: a FILE with invalid bytes would be written under another name.
  checkFileOption('FILE', file)
  const store = await session.store()
  const toStdout = file === '-'
  const started = performance.now()
  // What the first Ctrl-C stops, said when it comes: set as each phase begins, since the
  // counting pass has no entry read in flight to finish.
  let stopping = 'stopping; nothing was exported yet'
  const interrupt = new Interrupt(() =>
    process.stderr.write(`kv export: ${stopping} (Ctrl-C again to force)\n`),
  )
  const progress = session.progress('export')
  let target: ExportFile | undefined
  try {
    // Before the counting pass: a FILE that cannot be written is refused before any work.
    if (!toStdout) {
      target = await ExportFile.create(file)
      const created = target
      interrupt.atForcedExit(() => created.removeNow())
    }
    let expected: number | undefined
    if (session.options.progress !== false) {
      stopping = `stopping the count of the entries of ${store.name}; nothing was exported yet`
      const stop = (): boolean => interrupt.requested
      expected = 0
      if (options.bucket === undefined) expected = total(await countEntries(store, stop))
      else
        for (const name of new Set(options.bucket)) expected += await countBucket(store, name, stop)
      // Stopped while counting: nothing is written, not even the header (on stdout it would
      // begin an export that has no entries and no trailer).
      if (interrupt.requested) {
        throw interrupt.error(
          `export stopped while counting the entries of ${store.name}, before exporting any${toStdout ? '' : `; ${file} was not written`}. Run the command again.`,
        )
      }
    }
    stopping = 'stopping; finishing the reads in flight'
    const out = new LineWriter(target?.stream ?? process.stdout)
    await out.write(`${headerLine(store.name)}\n`)
    await progress.start(expected)
    const written = await writeEntries(store, out, options, progress, interrupt)
    progress.stop()
    if (interrupt.requested) {
      // On stdout the entries counted are the entries written: the lines still queued go out
      // (without the trailer, so the output cannot pass as complete). A file is removed anyway.
      if (toStdout) await out.flush()
      throw interrupt.error(
        `export stopped after ${counted(written.entries, 'entry', 'entries')}${toStdout ? '' : `; ${file} was not written`}. Run the command again.`,
      )
    }
    await out.write(`${trailerLine(written.entries)}\n`)
    await out.flush()
    await target?.commit()
    const seconds = (performance.now() - started) / 1000
    const summary = {
      file,
      backend: store.name,
      entries: written.entries,
      buckets: written.buckets,
      seconds,
    }
    const report = toStdout ? process.stderr : process.stdout
    await write(
      report,
      session.json
        ? `${JSON.stringify(summary)}\n`
        : `kv export: wrote ${counted(written.entries, 'entry', 'entries')} from ${counted(written.buckets, 'bucket', 'buckets')} of ${store.name} to ${toStdout ? 'stdout' : file} in ${seconds.toFixed(1)}s\n`,
    )
  } catch (error) {
    progress.stop()
    await target?.abort()
    // A write to FILE that failed reaches here as the stream's raw error (from the LineWriter,
    // or from commit()'s close): the export names FILE and gives it exit 4.
    throw target === undefined ? error : target.explain(error)
  } finally {
    interrupt.dispose()
  }
}

/** Adds `export` to `program`. */
export function registerExport(program: Command, act: Act): void {
  program
    .command('export')
    .description('write every entry to FILE in the portable kv export format (NDJSON)')
    .argument('<file>', 'the file to write, or - for stdout')
    .option('--bucket <name...>', 'only these buckets')
    .addOption(concurrencyOption(64))
    .addHelpText(
      'after',
      examples(
        'kv export backup.ndjson',
        'kv --backend simple_kv export - | gzip > backup.ndjson.gz',
        'kv export sessions.ndjson --bucket sessions',
        '',
        'FILE appears only when the export is complete: it is written first as',
        '.kv-export-<pid>-<random>.partial in the directory of FILE, then renamed to FILE.',
      ),
    )
    .action(
      act((session, file: string, options: ExportOptions) => runExport(session, file, options)),
    )
}
