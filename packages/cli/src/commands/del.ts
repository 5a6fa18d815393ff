/**
 * `kv del BUCKET KEY`: removes a key (a missing key is not an error).
 *
 * @module
 */
import type { Command } from 'commander'
import { type Act, examples, keyEncodingOption } from '../action.js'
import { type KeyEncoding, keyJson, parseBucket, parseKey } from '../keys.js'
import { printJson } from '../output.js'

interface DelOptions {
  keyEncoding: KeyEncoding
}

/** Adds `del` (alias `delete`) to `program`. */
export function registerDel(program: Command, act: Act): void {
  program
    .command('del')
    .alias('delete')
    .description('remove KEY from BUCKET (succeeds when the key does not exist)')
    .argument('<bucket>', 'bucket name')
    .argument('<key>', 'key (UTF-8 text unless --key-encoding says otherwise)')
    .addOption(keyEncodingOption())
    .addHelpText('after', examples('kv del demo hello', 'kv delete -k base64 demo AAE='))
    .action(
      act(async (session, bucket: string, keyText: string, options: DelOptions) => {
        parseBucket(bucket)
        const key = parseKey(keyText, options.keyEncoding)
        const store = await session.store('del')
        await store.deleteKey(bucket, key)
        if (session.json) await printJson({ bucket, ...keyJson(key), deleted: true })
      }),
    )
}
