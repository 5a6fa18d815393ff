import { runConformance } from '@kv/conformance'
import { vitestRunner } from '@kv/conformance/vitest'
import type { KVStore } from '@kv/core'
import { BadgerKV, type BadgerOptions } from '../src/index.js'
import { removeDir, tempDir } from './helpers/temp.js'

const dirs = new WeakMap<KVStore, string>()
const options = new WeakMap<KVStore, BadgerOptions>()

function target(name: string, extra: BadgerOptions, persistent: boolean) {
  runConformance(vitestRunner, {
    name: `badger (${name})`,
    create: async () => {
      const path = await tempDir('conformance')
      const o = { path, value_log_gc_enabled: false, ...extra }
      const store = new BadgerKV(o)
      dirs.set(store, path)
      options.set(store, o)
      return store
    },
    reopen: persistent
      ? (closed) => {
          const o = options.get(closed)!
          const store = new BadgerKV(o)
          options.set(store, o)
          return store
        }
      : undefined,
    destroy: async (store) => {
      const path = dirs.get(store)
      if (path !== undefined) await removeDir(path)
    },
    capabilities: { persistent },
    modelRuns: 8,
  })
}

target('single_bucket_mode: true', { single_bucket_mode: true }, true)
target('single_bucket_mode: false', { single_bucket_mode: false }, true)
target('memory_mode: true', { memory_mode: true }, false)
// The thread-pool read path (sync_reads: false) must conform too.
target(
  'single_bucket_mode: true, sync_reads: false',
  { single_bucket_mode: true, sync_reads: false },
  true,
)
