import { runConformance } from '@kv/conformance'
import { vitestRunner } from '@kv/conformance/vitest'
import type { KVStore } from '@kv/core'
import { SimpleKV } from '../src/store-entry.js'
import { removeDir, tempDir } from './helpers.js'

const dirs = new WeakMap<KVStore, string>()

// With sync_writes, both places an fdatasync can run: the event loop and the thread pool.
for (const [syncWrites, onEventLoop] of [
  [false, true],
  [true, true],
  [true, false],
] as const) {
  const options = {
    sync_writes: syncWrites,
    sync_on_event_loop: onEventLoop,
    // A small WAL limit makes snapshots (and segment retirement) happen during the suite.
    snapshot_wal_bytes: 16 * 1024,
    snapshot_wal_ratio: 0,
  }
  runConformance(vitestRunner, {
    name: `simple_kv (sync_writes: ${syncWrites}${syncWrites ? `, sync_on_event_loop: ${onEventLoop}` : ''})`,
    create: async () => {
      const dir = await tempDir('simple-kv-conformance')
      const store = new SimpleKV({ path: dir, ...options })
      dirs.set(store, dir)
      return store
    },
    reopen: (closed) => {
      const dir = dirs.get(closed)!
      const store = new SimpleKV({ path: dir, ...options })
      dirs.set(store, dir)
      return store
    },
    destroy: async (store) => {
      await removeDir(dirs.get(store)!)
    },
    capabilities: { persistent: true },
  })
}
