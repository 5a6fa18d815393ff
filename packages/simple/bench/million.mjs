// The 1,000,000-entry measurements, each in a fresh process (run by bench/run.mjs):
//   million.mjs build <dir>   fills a store, measures RSS, then a snapshot and the longest
//                             addValue while it runs; leaves snapshot + WAL behind.
//   million.mjs reopen <dir>  times open(), then a snapshot with sync_writes: true.
// Prints one JSON line.
import { gc, keyOf, SimpleKV, VALUE } from './common.mjs'

const [mode, dir] = process.argv.slice(2)
const ENTRIES = 1_000_000

/** Runs one writer calling addValue back to back until `done` settles; returns latency figures. */
async function latencyDuring(store, done) {
  let finished = false
  done.finally(() => {
    finished = true
  })
  const latencies = []
  for (let n = 0; !finished; n++) {
    const start = performance.now()
    await store.addValue('during', keyOf(n % 10_000), VALUE)
    latencies.push(performance.now() - start)
  }
  await done
  latencies.sort((a, b) => a - b)
  return {
    count: latencies.length,
    max: latencies.at(-1) ?? 0,
    p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
  }
}

/**
 * Takes ROUNDS snapshots, each with one writer measuring addValue latency meanwhile. On a shared
 * machine a single round can be spoiled by another process taking the CPU or the disk, so every
 * round is reported, and the median of the rounds' longest latencies is the figure.
 */
const ROUNDS = 3
async function snapshotWithLatency(store) {
  const rounds = []
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now()
    const snapshot = store.snapshot()
    const latency = await latencyDuring(store, snapshot)
    rounds.push({ ...latency, snapshotMs: performance.now() - start })
  }
  const byMax = [...rounds].sort((a, b) => a.max - b.max)
  return {
    rounds,
    latency: byMax[Math.floor(ROUNDS / 2)],
    snapshotMs: byMax[Math.floor(ROUNDS / 2)].snapshotMs,
  }
}

if (mode === 'build') {
  gc()
  const rssBefore = process.memoryUsage().rss
  // Snapshots only when asked, so that the figures below are not mixed with background ones.
  const store = new SimpleKV({ path: dir, snapshot_wal_bytes: 0, snapshot_interval_seconds: 0 })
  await store.open()
  const value = Buffer.from(VALUE)
  let next = 0
  const start = performance.now()
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < ENTRIES) {
        const i = next++
        value.writeUInt32LE(i, 0)
        await store.addValue('bench', keyOf(i), value)
      }
    }),
  )
  const buildRate = ENTRIES / ((performance.now() - start) / 1000)
  for (let i = 0; i < 3; i++) gc()
  await new Promise((resolve) => setTimeout(resolve, 200))
  gc()
  const memory = process.memoryUsage()
  const { latency, snapshotMs, rounds } = await snapshotWithLatency(store)
  const { walBytes } = store.stats()
  // Leave a WAL after the snapshot as well, as large as the snapshot: the most a store replays at
  // open with the default snapshot_wal_ratio (1) — overwrites in rounds of 1,000 concurrent.
  const { snapshotBytes: target } = store.stats()
  for (let i = 0; store.stats().walBytes < target; i = (i + 1000) % ENTRIES) {
    await Promise.all(
      Array.from({ length: 1000 }, (_, k) => store.addValue('bench', keyOf(i + k), VALUE)),
    )
  }
  await store.close()
  const { statSync, readdirSync } = await import('node:fs')
  const snapshotBytes = readdirSync(dir)
    .filter((name) => name.endsWith('.snap'))
    .reduce((sum, name) => sum + statSync(`${dir}/${name}`).size, 0)
  console.log(
    JSON.stringify({
      buildRate,
      rssBefore,
      rss: memory.rss,
      rssPerEntry: memory.rss / ENTRIES,
      growthPerEntry: (memory.rss - rssBefore) / ENTRIES,
      heapUsed: memory.heapUsed,
      external: memory.external,
      latency,
      rounds,
      snapshotMs,
      snapshotBytes,
      walBytesAfterSnapshot: walBytes,
    }),
  )
} else if (mode === 'reopen') {
  const { statSync, readdirSync } = await import('node:fs')
  const sizes = (suffix) =>
    readdirSync(dir)
      .filter((name) => name.endsWith(suffix))
      .reduce((sum, name) => sum + statSync(`${dir}/${name}`).size, 0)
  const snapshotBytes = sizes('.snap')
  const walBytes = sizes('.log')
  const store = new SimpleKV({
    path: dir,
    sync_writes: true,
    snapshot_wal_bytes: 0,
    snapshot_interval_seconds: 0,
  })
  const start = performance.now()
  await store.open()
  const openMs = performance.now() - start
  const entries = store.stats().entries
  const { latency, snapshotMs, rounds } = await snapshotWithLatency(store)
  await store.close()
  console.log(
    JSON.stringify({ openMs, entries, snapshotBytes, walBytes, latency, rounds, snapshotMs }),
  )
} else {
  console.error('usage: million.mjs build|reopen <dir>')
  process.exit(2)
}
