import { runConformance } from '@kv/conformance'
import { vitestRunner } from '@kv/conformance/vitest'
import type { KVStore } from '@kv/core'
import { SimpleKV } from '../src/store-entry.js'
import { removeDir, tempDir } from './helpers.js'

const dirs = new WeakMap<KVStore, string>()

for (const syncWrites of [false, true]) {
  runConformance(vitestRunner, {
    name: `simple_kv (sync_writes: ${syncWrites})`,
    create: async () => {
      const dir = await tempDir('simple-kv-conformance')
      // A small WAL limit makes snapshots (and segment retirement) happen during the suite.
      const store = new SimpleKV({
        path: dir,
        sync_writes: syncWrites,
        snapshot_wal_bytes: 16 * 1024,
      })
      dirs.set(store, dir)
      return store
    },
    reopen: (closed) => {
      const dir = dirs.get(closed)!
      const store = new SimpleKV({
        path: dir,
        sync_writes: syncWrites,
        snapshot_wal_bytes: 16 * 1024,
      })
      dirs.set(store, dir)
      return store
    },
    destroy: async (store) => {
      await removeDir(dirs.get(store)!)
    },
    capabilities: { persistent: true },
  })
}
