/**
 * `kv get BUCKET KEY`: writes the value to stdout exactly as stored (no newline added).
 *
 * @module
 */
import type { Command } from 'commander'
import { type Act, examples, keyEncodingOption } from '../action.js'
import { toBase64 } from '../base64.js'
import { CliError, ExitCode } from '../exit-codes.js'
import { type KeyEncoding, keyJson, parseBucket, parseKey } from '../keys.js'
import { printJson, write } from '../output.js'

interface GetOptions {
  compressed?: boolean
  keyEncoding: KeyEncoding
}

/** Adds `get` to `program`. */
export function registerGet(program: Command, act: Act): void {
  program
    .command('get')
    .description('write the value of KEY in BUCKET to stdout, byte for byte')
    .argument('<bucket>', 'bucket name')
    .argument('<key>', 'key (UTF-8 text unless --key-encoding says otherwise)')
    .option('--compressed', 'the value was stored with put --compressed: decompress it')
    .addOption(keyEncodingOption())
    .addHelpText(
      'after',
      examples(
        'kv get demo hello',
        'kv get images logo.png > logo.png',
        'kv get --compressed logs 2024-06-01',
        'kv get --json demo hello            # {"bucket":"demo","key":"aGVsbG8=",...,"value":"d29ybGQ="}',
        'kv get -k hex demo 00ff',
        '',
        'Exit code 3 when the key does not exist.',
      ),
    )
    .action(
      act(async (session, bucket: string, keyText: string, options: GetOptions) => {
        parseBucket(bucket)
        const key = parseKey(keyText, options.keyEncoding)
        const store = await session.store()
        const value = options.compressed
          ? await store.getCompressedValue(bucket, key)
          : await store.getValue(bucket, key)
        if (session.json) {
          const found = value !== null
          await printJson({
            bucket,
            ...keyJson(key),
            found,
            ...(found ? { bytes: value.length, value: toBase64(value) } : {}),
          })
          if (!found) session.exitCode = ExitCode.NOT_FOUND
          return
        }
        if (value === null) {
          throw new CliError(
            ExitCode.NOT_FOUND,
            `not found: key "${keyText}" in bucket "${bucket}"`,
          )
        }
        await write(process.stdout, value)
      }),
    )
}
