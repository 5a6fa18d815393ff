/**
 * Glue between commander and the commands: every action runs in a {@link Session} whose stores
 * are closed when it ends, and reports the exit code it chose; plus the options several
 * commands share.
 *
 * @module
 */
import { type Command, InvalidArgumentError, Option } from 'commander'
import type { ExitCode } from './exit-codes.js'
import { KEY_ENCODINGS } from './keys.js'
import { type Session, sessionOf } from './session.js'

/** Where a finished action leaves its exit code for `main`. */
export interface Outcome {
  exitCode: ExitCode
}

/** A command's implementation: the session, then commander's arguments and options. */
// biome-ignore lint/suspicious/noExplicitAny: commander passes each command its own argument types.
export type Run = (session: Session, ...args: any[]) => Promise<void>

/** Wraps a command's implementation as a commander action. */
export type Act = (run: Run) => (...args: unknown[]) => Promise<void>

/** The action factory for one program: runs, closes the stores, records the exit code. */
export function actions(outcome: Outcome): Act {
  return (run) =>
    async (...args) => {
      const command = args[args.length - 1] as Command
      const session = sessionOf(command)
      try {
        await run(session, ...args.slice(0, -1))
      } catch (error) {
        // A failure to close after a failure would hide the first one: report the first.
        await session.close().catch(() => {})
        throw error
      }
      await session.close()
      outcome.exitCode = session.exitCode
    }
}

/** `--key-encoding`, shared by the commands that take or print keys. */
export function keyEncodingOption(): Option {
  return new Option(
    '-k, --key-encoding <encoding>',
    'how KEY and --prefix are written, and keys printed',
  )
    .choices(KEY_ENCODINGS)
    .default('utf8')
}

/** `--concurrency`, shared by the streaming commands. */
export function concurrencyOption(
  defaultValue: number,
  description = 'operations in flight at once',
): Option {
  return new Option('--concurrency <n>', description)
    .default(defaultValue)
    .argParser(integer('--concurrency'))
}

/** A commander parser for an integer option (positive, or non-negative with `allowZero`). */
export function integer(name: string, allowZero = false): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || (n === 0 && !allowZero)) {
      throw new InvalidArgumentError(
        `${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, not "${value}"`,
      )
    }
    return n
  }
}

/** Help text listing examples, shown after a command's options. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => `  ${line}`).join('\n')}\n`
}
