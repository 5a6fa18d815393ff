/**
 * The `kv` program: global options and every command.
 *
 * @module
 */
import { Command, Option } from 'commander'
import { type Act, examples } from './action.js'
import { registerBuckets } from './commands/buckets.js'
import { registerDel } from './commands/del.js'
import { registerExists } from './commands/exists.js'
import { registerExport } from './commands/export.js'
import { registerGet } from './commands/get.js'
import { registerImport } from './commands/import.js'
import { registerLs } from './commands/ls.js'
import { registerMigrate } from './commands/migrate.js'
import { registerPut } from './commands/put.js'
import { registerStats } from './commands/stats.js'
import { CliError, ExitCode } from './exit-codes.js'

declare const __KV_CLI_VERSION__: string

/** The version of @kv/cli (set at build time). */
export const VERSION = typeof __KV_CLI_VERSION__ === 'string' ? __KV_CLI_VERSION__ : '0.0.0-dev'

/**
 * Adds the options of the program itself (those given before or after any command) to `command`.
 * Apart so that main() can read which of them take a value without building every command.
 */
export function globalOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '-c, --config <file>',
        'configuration file (default: $KV_CONFIG, else ./kv.yml, else defaults)',
      ),
    )
    .addOption(
      new Option(
        '-b, --backend <name>',
        'backend: badger, simple_kv or elastic (default: badger, else simple_kv, else elastic, among those installed and enabled)',
      ),
    )
    .option('--json', 'structured output on stdout (bytes as base64)')
    .option('--no-progress', 'no progress display for export, import and migrate')
}

/**
 * Builds the program; `act` wraps each command's implementation. `json`: usage errors are
 * written as the JSON every other error takes with `--json` (set before the commands are added,
 * which copy it).
 */
export function createProgram(act: Act, { json = false }: { json?: boolean } = {}): Command {
  const program = globalOptions(new Command('kv'))
    .description('Read, write, export, import and migrate kv data (badger, simple_kv, elastic).')
    .version(VERSION, '-V, --version')
    .showHelpAfterError(json ? false : '(run kv --help, or kv <command> --help, for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      examples(
        'kv put demo hello world',
        'kv get demo hello',
        'kv ls demo --prefix he',
        'kv export backup.ndjson && kv --backend simple_kv import backup.ndjson',
        'kv migrate --from simple_kv --to badger',
        '',
        'Exit codes: 0 ok, 1 unexpected, 2 usage, 3 not found, 4 invalid input or config,',
        '5 backend unavailable, 6 corrupt data, 7 verification failed, 130 interrupted (SIGINT),',
        '141 output closed early (SIGPIPE), 143 terminated (SIGTERM).',
      ),
    )
  if (json) {
    program.configureOutput({
      outputError: (text, write) =>
        write(
          `${JSON.stringify({ error: { message: text.trim().replace(/^error: /, ''), exitCode: ExitCode.USAGE } })}\n`,
        ),
    })
    // Commander shows the help on stderr, as an error, when no command is given (`kv --json`);
    // under --json that usage error is the JSON error object like any other. Throwing here,
    // before the help is written, makes it an error for main() to report.
    program.on('beforeAllHelp', (context: { error: boolean }) => {
      if (context.error) {
        throw new CliError(ExitCode.USAGE, 'no command given; run kv --help for the commands')
      }
    })
  }
  registerGet(program, act)
  registerPut(program, act)
  registerDel(program, act)
  registerExists(program, act)
  registerLs(program, act)
  registerBuckets(program, act)
  registerStats(program, act)
  registerExport(program, act)
  registerImport(program, act)
  registerMigrate(program, act)
  return program
}
