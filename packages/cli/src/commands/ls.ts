/**
 * `kv ls BUCKET`: the keys of a bucket in ascending byte order, streamed.
 *
 * @module
 */
import type { Command } from 'commander'
import { type Act, examples, integer, keyEncodingOption } from '../action.js'
import { formatKey, type KeyEncoding, keyJson, parseBucket, parseKey } from '../keys.js'
import { LineWriter } from '../output.js'

interface LsOptions {
  prefix?: string
  limit?: number
  keyEncoding: KeyEncoding
}

/** Adds `ls` to `program`. */
export function registerLs(program: Command, act: Act): void {
  program
    .command('ls')
    .description('list the keys of BUCKET in ascending byte order, one per line')
    .argument('<bucket>', 'bucket name')
    .option('-p, --prefix <prefix>', 'only keys that start with this prefix')
    .option('-n, --limit <n>', 'at most this many keys', integer('--limit', true))
    .addOption(keyEncodingOption())
    .addHelpText(
      'after',
      examples(
        'kv ls demo',
        'kv ls sessions --prefix user: --limit 10',
        'kv ls -k base64 blobs            # binary keys, one base64 key per line',
        'kv ls --json demo                # [{"key":"aGVsbG8=","keyText":"hello"},...]',
      ),
    )
    .action(
      act(async (session, bucket: string, options: LsOptions) => {
        parseBucket(bucket)
        const prefix =
          options.prefix === undefined
            ? undefined
            : parseKey(options.prefix, options.keyEncoding, '--prefix')
        const store = await session.store()
        const keys = store.keys(bucket, {
          ...(prefix === undefined ? {} : { prefix }),
          ...(options.limit === undefined ? {} : { limit: options.limit }),
        })
        const out = new LineWriter(process.stdout)
        if (session.json) {
          let first = true
          await out.write('[')
          for await (const key of keys) {
            await out.write(`${first ? '' : ','}\n${JSON.stringify(keyJson(key))}`)
            first = false
          }
          await out.write(first ? ']\n' : '\n]\n')
        } else {
          for await (const key of keys) await out.write(`${formatKey(key, options.keyEncoding)}\n`)
        }
        await out.flush()
      }),
    )
}
