/**
 * `kv migrate --from NAME --to NAME`: copies every bucket from one backend to another, then
 * verifies. Both backends are loaded in this process; each reads its section of the same
 * configuration file, unless `--from-config`/`--to-config` give it another file.
 *
 * @module
 */
import { resolve } from 'node:path'
import { ErrorCode, isKVError } from '@kv/core'
import { type Command, Option } from 'commander'
import { type Act, concurrencyOption, examples, integer } from '../action.js'
import { backendName } from '../backends.js'
import {
  checkFileOption,
  describeConfig,
  describeLocation,
  sharedLocation,
  storeLocation,
} from '../config.js'
import { countEntries, total } from '../count.js'
import { CliError, ExitCode, exitCodeFor } from '../exit-codes.js'
import { Interrupt } from '../interrupt.js'
import { describeKey } from '../keys.js'
import { CopyFailure, type CopyResult, copyAll, type Verification, verify } from '../migrate.js'
import { count, counted, printJson, printLine } from '../output.js'
import type { Session } from '../session.js'

interface MigrateOptions {
  from: string
  to: string
  fromConfig?: string
  toConfig?: string
  verify: boolean
  verifyValues?: boolean
  batch: number
  concurrency: number
}

function describeCheck(verification: Verification): string[] {
  const lines: string[] = []
  let entries = 0
  for (const check of verification.buckets) {
    entries += check.source
    const problems: string[] = []
    // `missing` counts keys looked up one by one; the listed count alone decides nothing.
    if (check.missing > 0) problems.push(`${counted(check.missing, 'key', 'keys')} missing`)
    else if (check.target < check.source) {
      problems.push(
        `every key found when read, though the target lists fewer (its listing does not show the latest writes yet)`,
      )
    }
    if ((check.different ?? 0) > 0)
      problems.push(
        `${counted(check.different!, 'value', 'values')} ${check.different === 1 ? 'differs' : 'differ'}`,
      )
    // Not `target - source`: with keys both missing and extra, that difference names neither.
    if (check.extra !== undefined) {
      problems.push(
        `${counted(check.extra, 'key', 'keys')} in the target that the source does not have (there before the migration?)`,
      )
    }
    if (problems.length > 0) {
      lines.push(
        `  bucket ${check.bucket}: source ${count(check.source)}, target ${count(check.target)}: ${problems.join(', ')}`,
      )
    }
  }
  const what = verification.mode === 'values' ? 'counts and values' : 'counts'
  const n = verification.buckets.length
  lines.unshift(
    verification.ok
      ? `kv migrate: verified ${what}: ${entries === 1 ? 'the' : 'all'} ${counted(entries, 'entry', 'entries')} of ${counted(n, 'bucket', 'buckets')} ${entries === 1 ? 'is' : 'are'} in the target`
      : `kv migrate: verification FAILED (${what}) in ${counted(n, 'bucket', 'buckets')}:`,
  )
  return lines
}

/**
 * Backends whose `addValues` writes all of its entries or, when it fails, none (their READMEs:
 * badger, one LevelDB batch; simple_kv, one WAL batch cut back when its write fails). Any other
 * (elastic: one write per entry, in `_bulk` requests) may leave some entries of a failed call
 * written.
 */
const ALL_OR_NOTHING_ADD_VALUES = new Set(['badger', 'simple_kv'])

/** Whether `failure` is that of one `addValues` of several entries (a part of a batch). */
function isPart(failure: CopyFailure): boolean {
  return failure.phase === 'write' && failure.lastKey !== undefined
}

/**
 * What was copied when a copy to target backend `to` stopped on `failure`: the entries copied
 * (those of other parts and batches) and, when one `addValues` of several entries failed, what
 * became of that part's entries — none written on a target whose `addValues` is all-or-nothing,
 * and perhaps some on one whose `addValues` is not, which the count cannot tell.
 */
function copiedBefore(failure: CopyFailure, to: string): string {
  if (!isPart(failure))
    return `${counted(failure.copied, 'entry was', 'entries were')} copied before it stopped`
  if (ALL_OR_NOTHING_ADD_VALUES.has(to)) {
    return `${counted(failure.copied, 'entry was', 'entries were')} copied before it stopped, none of this part's (${to}'s addValues writes all of its entries or none)`
  }
  return `${counted(failure.copied, 'entry', 'entries')} of other parts ${failure.copied === 1 ? 'was' : 'were'} copied before it stopped, and some of this part's ${count(failure.entries)} entries may have been written too (${to}'s addValues is not atomic: a failed entry fails the call while its other entries may be written)`
}

/**
 * What to do after a copy failed with `cause` (on the entries of one part when `part`):
 * re-running resumes the copy only when the failure may pass; for a refusal that re-running meets
 * again, say what to change instead.
 */
function whatNext(cause: unknown, part: boolean): string {
  const again = 'then run the command again (migrate overwrites, so re-running is safe)'
  switch (isKVError(cause) ? cause.code : undefined) {
    case ErrorCode.INVALID_ARGUMENT:
      return `re-running fails the same way: the target refuses ${part ? 'an entry of this part (the message says which or why)' : 'this entry'}. Remove or shrink it in the source (or raise the target's value limit, if its configuration allows), ${again}`
    case ErrorCode.NOT_SUPPORTED:
      return `re-running fails the same way: the target, as configured, cannot store ${part ? 'an entry of this part' : 'this entry'}. Change the target's configuration or the entry in the source as the message says, ${again}`
    case ErrorCode.CORRUPT_STORE:
    case ErrorCode.CORRUPT_VALUE:
      return `re-running fails the same way: repair or restore the damaged store (see its backend's README), ${again}`
    case ErrorCode.INVALID_CONFIG:
      return `re-running fails the same way until the configuration is fixed: fix the setting the message names (of the store, or of its server), ${again}`
    case ErrorCode.AUTH_FAILED:
      return `fix the credentials or the user's privileges, ${again}`
    case ErrorCode.BACKEND_ERROR:
      return `check the server the message names, ${again}`
    default:
      return 'run the command again to resume (migrate overwrites, so re-running is safe)'
  }
}

/**
 * Refuses (exit 2) two sides of backend `name` that are one store, before either is opened:
 * opening one simple_kv or badger store twice fails with KV_LOCKED, which would send the user
 * looking for another process, and an elastic index copied onto itself passes for a migration
 * that moved nothing anywhere. Two sides configured by one file (or both by the configuration in
 * force) are one store, wherever it is.
 */
async function refuseSameStore(name: string, options: MigrateOptions): Promise<void> {
  const from = await storeLocation(name, options.fromConfig)
  const oneConfig = (options.fromConfig ?? '') === (options.toConfig ?? '')
  const shared = oneConfig
    ? from
    : sharedLocation(from, await storeLocation(name, options.toConfig))
  if (!oneConfig && shared === undefined) return
  let where = shared === undefined ? '' : ` ${describeLocation(shared)}`
  if (shared === undefined && name === 'elastic') {
    // One configuration that does not say where (not valid, which the store reports when it
    // opens): the file still tells the user which one both sides took.
    where = ` configured by ${configName(options.fromConfig)}`
  } else if (shared?.kind === 'index') {
    // An index is set by several keys, which each side may spell differently (other node
    // URLs, the default index name or its own): name the file each side took them from.
    where += oneConfig
      ? `, configured by ${configName(options.fromConfig)}`
      : `, configured by ${configName(options.fromConfig)} for --from and by ${configName(options.toConfig)} for --to`
  }
  const other = name === 'elastic' ? 'another index_name or cluster' : 'another configuration'
  throw new CliError(
    ExitCode.USAGE,
    `--from and --to are the same store (${name}${where}); to migrate between two ${name} stores, give one of them ${other} with --from-config or --to-config`,
  )
}

/** The configuration file of a side: `file` as given to --from-config/--to-config, else the one in force. */
function configName(file: string | undefined): string {
  return file === undefined ? describeConfig() : resolve(file)
}

async function runMigrate(session: Session, options: MigrateOptions): Promise<void> {
  const from = backendName(options.from)
  const to = backendName(options.to)
  checkFileOption('--from-config', options.fromConfig)
  checkFileOption('--to-config', options.toConfig)
  if (from === to) await refuseSameStore(from, options)
  // Before either store is opened: opening the source creates its database when there is none.
  await session.refuseNonPersistentNamed(to, options.toConfig, 'migrate')
  const source = await session.storeNamed(from, options.fromConfig)
  const target = await session.storeNamed(to, options.toConfig, 'migrate')
  // What the first Ctrl-C stops, said when it comes: set as each phase begins, since only the
  // copy has writes in flight to finish.
  let stopping = 'stopping; nothing was copied yet'
  const interrupt = new Interrupt(() =>
    process.stderr.write(`kv migrate: ${stopping} (Ctrl-C again to force)\n`),
  )
  const started = performance.now()
  const progress = session.progress('migrate')
  let copy: CopyResult | undefined
  try {
    let expected: number | undefined
    if (session.options.progress !== false) {
      stopping = `stopping the count of the entries of ${from}; nothing was copied yet`
      process.stderr.write(`kv migrate: counting the entries of ${from}\n`)
      const counts = await countEntries(source, () => interrupt.requested)
      // Stopped early, the count is partial: it must not pass for the total, and there is
      // nothing to finish before exiting (nothing was copied yet).
      if (interrupt.requested) {
        throw interrupt.error(
          `stopped while counting the entries of ${from}, before copying any; run the same command again to migrate`,
        )
      }
      expected = total(counts)
      process.stderr.write(
        `kv migrate: copying ${counted(expected, 'entry', 'entries')} from ${from} to ${to}\n`,
      )
    }
    stopping = 'stopping; finishing the writes in flight'
    await progress.start(expected)
    copy = await copyAll(
      source,
      target,
      { batch: options.batch, concurrency: options.concurrency },
      progress,
      interrupt,
    )
    progress.stop()
    const seconds = (performance.now() - started) / 1000
    if (copy.interrupted) {
      throw interrupt.error(
        `copied ${expected === undefined ? counted(copy.copied, 'entry', 'entries') : `${count(copy.copied)} of ${counted(expected, 'entry', 'entries')}`}; run the same command again to finish (migrate overwrites, so re-running is safe)`,
      )
    }
    let verification: Verification | undefined
    if (options.verify) {
      stopping = 'stopping the verification (the copy is complete); finishing the reads in flight'
      const check = session.progress(options.verifyValues ? 'verify values' : 'verify counts')
      // Both modes look every source key up in the target, one progress step each.
      await check.start(copy.copied)
      verification = await verify(
        source,
        target,
        options.verifyValues === true,
        options.concurrency,
        check,
        interrupt,
      )
      check.stop()
      if (verification.interrupted) {
        throw interrupt.error(
          'the copy is complete but the verification was interrupted; run the command again to verify',
        )
      }
    }
    const rate = seconds > 0 ? copy.copied / seconds : 0
    if (session.json) {
      await printJson({
        from,
        to,
        copied: copy.copied,
        buckets: copy.buckets,
        seconds,
        rate,
        verification: verification ?? null,
      })
    } else {
      await printLine(
        `kv migrate: copied ${counted(copy.copied, 'entry', 'entries')} in ${counted(copy.buckets, 'bucket', 'buckets')} from ${from} to ${to} in ${seconds.toFixed(1)}s (${count(Math.round(rate))} entries/s)`,
      )
      await printLine(
        verification === undefined
          ? 'kv migrate: not verified (--no-verify)'
          : describeCheck(verification).join('\n'),
      )
    }
    if (verification !== undefined && !verification.ok) {
      throw new CliError(
        ExitCode.VERIFY_FAILED,
        'migrate: the target does not hold every entry of the source (see above); run the command again to copy what is missing',
      )
    }
  } catch (error) {
    progress.stop()
    if (error instanceof CopyFailure) {
      // A batch is written in parts: a failed write names its own part's keys.
      const range = (last: Uint8Array) => `keys ${describeKey(error.key)} to ${describeKey(last)}`
      const which =
        error.lastKey === undefined
          ? `key ${describeKey(error.key)}`
          : error.phase === 'write'
            ? `${range(error.lastKey)} (${counted(error.entries, 'entry', 'entries')} written together with one addValues)`
            : error.phase === 'read'
              ? `${range(error.lastKey)} (${counted(error.entries, 'value', 'values')} read together)`
              : `the batch of ${range(error.lastKey)}`
      const side = isKVError(error.cause) ? '' : ' (unexpected)'
      const cause = (error.cause as Error).message.replace(/\.$/, '')
      throw new CliError(
        exitCodeFor(error.cause),
        `migrate failed on bucket ${JSON.stringify(error.bucket)} ${which}${side}: ${cause}; ${copiedBefore(error, to)}; ${whatNext(error.cause, isPart(error))}`,
        { cause: error.cause },
      )
    }
    throw error
  } finally {
    interrupt.dispose()
  }
}

/** Adds `migrate` to `program`. */
export function registerMigrate(program: Command, act: Act): void {
  program
    .command('migrate')
    .description(
      'copy every bucket from one backend to another, then check that every key is in the target',
    )
    .requiredOption('--from <name>', 'source backend: badger, simple_kv or elastic')
    .requiredOption('--to <name>', 'target backend: badger, simple_kv or elastic')
    .option('--from-config <file>', "configure the source from this file's section instead")
    .option('--to-config <file>', "configure the target from this file's section instead")
    .option('--verify-values', 'also compare every value (reads both stores again)')
    .addOption(new Option('--no-verify', 'skip the verification'))
    .addOption(
      new Option(
        '--batch <n>',
        'entries per batch, written in parts of at most its share of 64 MiB of values (one addValues each)',
      )
        .default(1000)
        .argParser(integer('--batch')),
    )
    .addOption(
      concurrencyOption(
        4,
        'batches in flight at once (and keys compared at once by --verify-values)',
      ),
    )
    .addHelpText(
      'after',
      examples(
        'kv migrate --from simple_kv --to badger',
        'kv migrate --from badger --to elastic --verify-values',
        'kv migrate --from simple_kv --to simple_kv --to-config new-kv.yml   # move to another path',
        '',
        'Re-running is safe (writes overwrite): after Ctrl-C (exit 130), run the same command again.',
        'A batch is written in parts, each one addValues call: a failed part leaves the',
        "batch's earlier parts written (the error names the part's first and last key). A part",
        'is all-or-nothing on simple_kv and badger; on elastic, whose addValues is not atomic,',
        'a failed part may leave some of its entries written. Re-running is safe either way.',
        'Exit 7 when the verification finds an entry of the source missing from the target',
        '(or, with --verify-values, holding another value).',
      ),
    )
    .action(act((session, options: MigrateOptions) => runMigrate(session, options)))
}
