/**
 * `kv stats`: which backend and configuration are in use, the buckets and their entry counts,
 * and the backend's own statistics when it offers a `stats()` method.
 *
 * @module
 */
import type { KVStore } from '@kv/core'
import type { Command } from 'commander'
import { stringify as stringifyYaml } from 'yaml'
import { type Act, examples } from '../action.js'
import { describeConfig } from '../config.js'
import { countBucket } from '../count.js'
import { keyJson } from '../keys.js'
import { count, counted, printLine } from '../output.js'

interface StatsOptions {
  bytes?: boolean
}

interface BucketStats {
  name: string
  entries: number
  valueBytes?: number
}

async function valueBytes(store: KVStore, bucket: string): Promise<number> {
  let sum = 0
  for await (const key of store.keys(bucket))
    sum += (await store.getValue(bucket, key))?.length ?? 0
  return sum
}

/** The backend's own statistics (`stats()`, as `@kv/badger` has), if it offers them. */
async function backendStats(store: KVStore): Promise<unknown> {
  const stats = (store as { stats?: () => unknown }).stats
  return typeof stats === 'function' ? await stats.call(store) : undefined
}

// Backend statistics may hold bigints and byte keys, which JSON cannot carry as they are.
const jsonSafe = (_key: string, value: unknown): unknown => {
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Uint8Array) return keyJson(value)
  return value
}

/** Adds `stats` to `program`. */
export function registerStats(program: Command, act: Act): void {
  program
    .command('stats')
    .description(
      'show the backend in use, its buckets with their entry counts, and backend statistics',
    )
    .option('--bytes', 'also add up the size of the values (reads every value)')
    .addHelpText(
      'after',
      examples('kv stats', 'kv stats --bytes', 'kv --backend simple_kv stats --json'),
    )
    .action(
      act(async (session, options: StatsOptions) => {
        const store = await session.store()
        const buckets: BucketStats[] = []
        for await (const name of store.buckets()) {
          const entry: BucketStats = { name, entries: await countBucket(store, name) }
          if (options.bytes) entry.valueBytes = await valueBytes(store, name)
          buckets.push(entry)
        }
        const entries = buckets.reduce((sum, bucket) => sum + bucket.entries, 0)
        const backend = await backendStats(store)
        const summary = {
          backend: store.name,
          config: describeConfig(),
          buckets: buckets.length,
          entries,
          ...(options.bytes
            ? { valueBytes: buckets.reduce((sum, b) => sum + (b.valueBytes ?? 0), 0) }
            : {}),
          perBucket: buckets,
          ...(backend === undefined ? {} : { backendStats: backend }),
        }
        if (session.json) {
          await printLine(JSON.stringify(summary, jsonSafe))
          return
        }
        const lines = [
          `backend   ${summary.backend}`,
          `config    ${summary.config}`,
          `buckets   ${count(summary.buckets)}`,
          `entries   ${count(entries)}`,
        ]
        if (summary.valueBytes !== undefined)
          lines.push(`values    ${count(summary.valueBytes)} bytes`)
        for (const bucket of buckets) {
          const size = bucket.valueBytes === undefined ? '' : `  ${count(bucket.valueBytes)} bytes`
          lines.push(`  ${bucket.name}  ${counted(bucket.entries, 'entry', 'entries')}${size}`)
        }
        if (backend !== undefined) {
          lines.push(`${store.name} statistics:`)
          const plain: unknown = JSON.parse(JSON.stringify(backend, jsonSafe))
          lines.push(
            ...stringifyYaml(plain)
              .trimEnd()
              .split('\n')
              .map((line) => `  ${line}`),
          )
        }
        await printLine(lines.join('\n'))
      }),
    )
}
