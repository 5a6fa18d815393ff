/**
 * `kv buckets`: the names of the buckets that hold at least one key.
 *
 * @module
 */
import type { Command } from 'commander'
import { type Act, examples } from '../action.js'
import { LineWriter } from '../output.js'

/** Adds `buckets` to `program`. */
export function registerBuckets(program: Command, act: Act): void {
  program
    .command('buckets')
    .description('list the buckets that hold at least one key, one per line')
    .addHelpText(
      'after',
      examples('kv buckets', 'kv buckets --json            # ["demo","sessions"]'),
    )
    .action(
      act(async (session) => {
        const store = await session.store()
        const out = new LineWriter(process.stdout)
        if (session.json) {
          const names: string[] = []
          for await (const name of store.buckets()) names.push(name)
          await out.write(`${JSON.stringify(names)}\n`)
        } else {
          for await (const name of store.buckets()) await out.write(`${name}\n`)
        }
        await out.flush()
      }),
    )
}
