/**
 * Running the `kv` command: parse, run, report an error with its exit code.
 *
 * @module
 */
import { Command, CommanderError } from 'commander'
import { actions, type Outcome } from './action.js'
import { ExitCode, exitCodeFor, kvCodeOf } from './exit-codes.js'
import { write } from './output.js'
import { createProgram, globalOptions } from './program.js'

const HELP_CODES = new Set(['commander.helpDisplayed', 'commander.version', 'commander.help'])

function message(error: unknown): string {
  if (error instanceof Error) {
    const code = kvCodeOf(error)
    return code === undefined ? error.message : `${error.message} [${code}]`
  }
  return String(error)
}

/**
 * Whether `--json` is among the options in `argv`, for usage errors: they are reported before
 * commander has parsed every argument, so it is looked up in the arguments themselves (errors
 * after parsing follow what commander parsed, which this agrees with). Only before `--`: after
 * it, `--json` is a key or value (`kv get b -- --json`). Nor is the argument that follows one of
 * the program's options taking a value (`valueFlags`): `-c --json` names a file `--json`.
 */
function jsonRequested(argv: string[], valueFlags: ReadonlySet<string>): boolean {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--') return false
    if (arg === '--json') return true
    if (valueFlags.has(arg)) i++
  }
  return false
}

/**
 * The flags of the options of `command` that take a value (`-c`, `--config`, `-b`, …). main()
 * gives it the program's own options only (see {@link globalOptions}): commander reads those
 * anywhere, so in `ls b --prefix --json k` the `--json` is the program's option, `k` the prefix.
 */
function flagsTakingValues(command: Command): Set<string> {
  const flags = new Set<string>()
  for (const option of command.options) {
    if (!option.required && !option.optional) continue
    if (option.short) flags.add(option.short)
    if (option.long) flags.add(option.long)
  }
  return flags
}

/** Runs `kv` with `argv` (the arguments after the program name); resolves the exit code. */
export async function main(argv: string[]): Promise<number> {
  const outcome: Outcome = { exitCode: ExitCode.OK }
  const json = jsonRequested(argv, flagsTakingValues(globalOptions(new Command())))
  const program = createProgram(actions(outcome), { json })
  try {
    if (argv.length === 0) {
      program.outputHelp({ error: true })
      return ExitCode.USAGE
    }
    await program.parseAsync(argv, { from: 'user' })
    return outcome.exitCode
  } catch (error) {
    // The reader of our output went away (`kv ls | head`): nothing more to say, and no one to
    // say it to. The exit code is the shell's for a command ended by SIGPIPE.
    if ((error as { code?: unknown }).code === 'EPIPE') return ExitCode.BROKEN_PIPE
    if (error instanceof CommanderError) {
      // Commander has printed its message (or the help) already.
      return HELP_CODES.has(error.code) && error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE
    }
    const exitCode = exitCodeFor(error)
    const text = message(error)
    // Parsed by now (a usage error is a CommanderError): what commander made of the arguments
    // decides, so that `-c --json` (a file named --json) does not make the errors JSON while the
    // output stays text.
    if (program.opts().json === true) {
      const code = kvCodeOf(error)
      await write(
        process.stderr,
        `${JSON.stringify({ error: { message: text, exitCode, ...(code ? { code } : {}) } })}\n`,
      )
    } else {
      await write(
        process.stderr,
        `kv: ${exitCode === ExitCode.UNEXPECTED ? 'unexpected error: ' : ''}${text}\n`,
      )
      if (exitCode === ExitCode.UNEXPECTED && error instanceof Error && process.env.KV_DEBUG) {
        await write(process.stderr, `${error.stack}\n`)
      }
    }
    return exitCode
  }
}
