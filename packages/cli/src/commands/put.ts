/**
 * `kv put BUCKET KEY [VALUE]`: stores a value from the argument, a file or stdin.
 *
 * @module
 */
import { checkKey } from '@kv/core'
import type { Command } from 'commander'
import { type Act, examples, keyEncodingOption } from '../action.js'
import { type KeyEncoding, keyJson, parseBucket, parseKey } from '../keys.js'
import { printJson } from '../output.js'
import { readValue, valueSource } from '../value-input.js'

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
        '',
        "Stdin and --file are read only up to the store's value limit: a longer value exits 4.",
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
          // Everything that can be checked is checked before the value is read: stdin or a
          // file may be huge (or endless), and a bad bucket must not wait for all of it.
          const source = valueSource(valueText, options.file)
          parseBucket(bucket)
          const key = checkKey(parseKey(keyText, options.keyEncoding))
          // Reading stops past the store's value limit (for --compressed the raw value must fit
          // it too), known from its configuration. The store is opened only once the value is
          // read: opened before, it would hold its lock while stdin waits on `kv get` of it.
          const { maxValueBytes } = (await session.unopenedStore('put')).limits
          const value = await readValue(source, maxValueBytes)
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
