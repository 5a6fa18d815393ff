/**
 * `kv put BUCKET KEY [VALUE]`: stores a value from the argument, a file or stdin.
 *
 * @module
 */
import type { Command } from 'commander'
import { type Act, examples, keyEncodingOption } from '../action.js'
import { type KeyEncoding, keyJson, parseKey } from '../keys.js'
import { printJson } from '../output.js'
import { readValue } from '../value-input.js'

interface PutOptions {
  compressed?: boolean
  file?: string
  keyEncoding: KeyEncoding
}

/** Adds `put` to `program`. */
export function registerPut(program: Command, act: Act): void {
  program
    .command('put')
    .description('store VALUE under KEY in BUCKET, replacing any previous value')
    .argument('<bucket>', 'bucket name')
    .argument('<key>', 'key (UTF-8 text unless --key-encoding says otherwise)')
    .argument('[value]', 'the value as UTF-8 text, or - to read the bytes from stdin')
    .option('-f, --file <path>', 'read the value from a file, byte for byte')
    .option('--compressed', 'store the value LZ4-compressed (read it back with get --compressed)')
    .addOption(keyEncodingOption())
    .addHelpText(
      'after',
      examples(
        'kv put demo hello world',
        'kv put images logo.png --file logo.png',
        'curl -s https://example.com | kv put pages example -',
        'kv put --compressed logs 2024-06-01 --file app.log',
      ),
    )
    .action(
      act(
        async (
          session,
          bucket: string,
          keyText: string,
          valueText: string | undefined,
          options: PutOptions,
        ) => {
          const key = parseKey(keyText, options.keyEncoding)
          const value = await readValue(valueText, options.file)
          const store = await session.store('put')
          if (options.compressed) await store.addValueCompress(bucket, key, value)
          else await store.addValue(bucket, key, value)
          if (session.json) {
            await printJson({
              bucket,
              ...keyJson(key),
              bytes: value.length,
              compressed: options.compressed === true,
            })
          }
        },
      ),
    )
}
