/**
 * `kv exists BUCKET KEY`: prints `true` or `false`; exit code 0 or 3, so scripts can branch.
 *
 * @module
 */
import type { Command } from 'commander'
import { type Act, examples, keyEncodingOption } from '../action.js'
import { ExitCode } from '../exit-codes.js'
import { type KeyEncoding, keyJson, parseBucket, parseKey } from '../keys.js'
import { printJson, printLine } from '../output.js'

interface ExistsOptions {
  keyEncoding: KeyEncoding
}

/** Adds `exists` to `program`. */
export function registerExists(program: Command, act: Act): void {
  program
    .command('exists')
    .description('print true if KEY exists in BUCKET (exit 0), else false (exit 3)')
    .argument('<bucket>', 'bucket name')
    .argument('<key>', 'key (UTF-8 text unless --key-encoding says otherwise)')
    .addOption(keyEncodingOption())
    .addHelpText(
      'after',
      examples('kv exists demo hello', 'if kv exists demo hello >/dev/null; then echo present; fi'),
    )
    .action(
      act(async (session, bucket: string, keyText: string, options: ExistsOptions) => {
        parseBucket(bucket)
        const key = parseKey(keyText, options.keyEncoding)
        const store = await session.store()
        const exists = await store.existsKey(bucket, key)
        if (session.json) await printJson({ bucket, ...keyJson(key), exists })
        else await printLine(String(exists))
        if (!exists) session.exitCode = ExitCode.NOT_FOUND
      }),
    )
}
