// What synchronous reads (sync_reads: true, the default) do to the event loop. getValue then
// reads on the main thread: no thread-pool round trip, but a read that misses LevelDB's block
// cache and the OS page cache waits for the device with the event loop blocked. Measured with
// concurrent readers of random keys over a data set far larger than the block cache, with the
// OS page cache of its files dropped first ("cold") and then warm.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import {
  cachedShare,
  evictFromPageCache,
  fmt,
  keys16,
  lpad,
  pad,
  randomBytes,
  tempDir,
} from './harness.mjs'

const ENTRIES = 60_000
const VALUE = 1024
const READERS = 8
const READS = 8_000

async function run(BadgerKV, path, syncReads, cold, keys) {
  const store = new BadgerKV({ path, sync_reads: syncReads, value_log_gc_enabled: false })
  await store.open()
  const evicted = cold ? evictFromPageCache(path) : true
  const cached = cachedShare(path)
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  histogram.enable()
  let next = 0
  const start = performance.now()
  await Promise.all(
    Array.from({ length: READERS }, async () => {
      while (next < READS) {
        const i = (next++ * 104_729) % ENTRIES
        await store.getValue('bench', keys[i])
        // Yield to the event loop between reads, as a server does between requests.
        await new Promise((resolve) => setImmediate(resolve))
      }
    }),
  )
  const elapsed = performance.now() - start
  histogram.disable()
  await store.close()
  return {
    evicted,
    cached,
    readsPerSecond: (READS / elapsed) * 1000,
    p50: histogram.percentile(50) / 1e6,
    p99: histogram.percentile(99) / 1e6,
    max: histogram.max / 1e6,
  }
}

export async function latency({ BadgerKV }, report) {
  const path = tempDir('latency')
  const keys = keys16(ENTRIES)
  const writer = new BadgerKV({ path, value_log_gc_enabled: false })
  await writer.open()
  for (let i = 0; i < ENTRIES; i += 500) {
    await Promise.all(
      keys.slice(i, i + 500).map((key) => writer.addValue('bench', key, randomBytes(VALUE))),
    )
  }
  // Closed here; the next open turns the write-ahead log into tables.
  await writer.close()
  report.line(
    `Event-loop delay while ${READERS} readers getValue random keys (${fmt(ENTRIES)} x 1 KiB values, 8 MiB block cache), ${fmt(READS)} reads:`,
  )
  report.line('(a 1 ms timer runs meanwhile: its interval p50/p99/max; 1.0 ms means no delay)')
  report.line(
    `${pad('sync_reads', 12)}${pad('OS cache', 16)}${lpad('reads/s', 10)}${lpad('timer p50 ms', 14)}${lpad('p99 ms', 9)}${lpad('max ms', 9)}`,
  )
  let evictedAll = true
  for (const cold of [true, false]) {
    for (const syncReads of [true, false]) {
      const r = await run(BadgerKV, path, syncReads, cold, keys)
      evictedAll &&= r.evicted
      report.line(
        `${pad(String(syncReads), 12)}${pad(`${cold ? 'dropped' : 'warm'}${r.cached === undefined ? '' : ` (${Math.round(r.cached * 100)}%)`}`, 16)}${lpad(fmt(r.readsPerSecond), 10)}${lpad(r.p50.toFixed(2), 14)}${lpad(r.p99.toFixed(2), 9)}${lpad(r.max.toFixed(2), 9)}`,
      )
    }
  }
  if (!evictedAll)
    report.line('  (could not drop the OS page cache here: "cold" rows read from memory)')
}
