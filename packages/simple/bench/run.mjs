// Benchmarks of @kv/simple against the targets of its issue, each with a same-process baseline.
//
//   pnpm --filter @kv/simple bench        (builds first; or: node --expose-gc bench/run.mjs)
//
// 16-byte keys, 100-byte values. Stores live in the OS temp dir (KV_BENCH_DIR to change it):
// put it on the disk you care about, since the sync_writes figures are fsync-bound.
// KV_BENCH_TIME_MS sets the length of each timed run (default 3000); KV_BENCH_ONLY=get|put|sync|million
// runs one section. Prints figures and PASS/MISS; asserts nothing. The 1,000,000-entry measurements run in child processes
// (bench/million.mjs) so that RSS and reopen time are those of a clean process.
import { spawnSync } from 'node:child_process'
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Bench } from 'tinybench'
import {
  benchDir,
  concurrentFor,
  gc,
  KEY_SPACE,
  keyNumber,
  keyOf,
  keyStringOf,
  MemoryStore,
  NullStore,
  removeDir,
  SimpleKV,
  target,
  VALUE,
} from './common.mjs'

const TIME_MS = Number(process.env.KV_BENCH_TIME_MS ?? 3000)
/** KV_BENCH_ONLY=get|put|sync|million runs one section. */
const runs = (section) => !process.env.KV_BENCH_ONLY || process.env.KV_BENCH_ONLY === section
const results = []
const record = (ok) => results.push(ok)
console.log(`@kv/simple benchmarks — node ${process.version}, ${TIME_MS} ms per timed run\n`)

// ---- getValue -------------------------------------------------------------------------------
if (runs('get')) {
  const dir = benchDir('get')
  const store = new SimpleKV({ path: dir, snapshot_interval_seconds: 0 })
  await store.open()
  const memory = new MemoryStore()
  await memory.open()
  const nothing = new NullStore()
  await nothing.open()
  const N = 100_000
  const keys = Array.from({ length: N }, (_, i) => keyOf(i))
  const keyBytes = keys.map((k) => new Uint8Array(Buffer.from(k)))
  for (let i = 0; i < N; i += 1000) {
    await Promise.all(
      keys
        .slice(i, i + 1000)
        .flatMap((k) => [store.addValue('bench', k, VALUE), memory.addValue('bench', k, VALUE)]),
    )
  }
  const map = new Map(keys.map((k) => [k, Buffer.from(VALUE)]))
  async function mapGet(key) {
    return map.get(key)
  }
  const tasks = {
    'bare Map behind an async function': (i) => mapGet(keys[i]),
    'SimpleKV.getValue, string keys': (i) => store.getValue('bench', keys[i]),
    'SimpleKV.getValue, Uint8Array keys': (i) => store.getValue('bench', keyBytes[i]),
    'reference: core MemoryStore, string keys': (i) => memory.getValue('bench', keys[i]),
    'reference: no-op backend via core, string keys': (i) => nothing.getValue('bench', keys[i]),
    'reference: no-op backend via core, Uint8Array keys': (i) =>
      nothing.getValue('bench', keyBytes[i]),
  }
  gc()
  // Two rounds, best of each task: the machine is shared, and a busy moment should not decide.
  const rate = {}
  for (let round = 0; round < 2; round++) {
    const bench = new Bench({ time: TIME_MS / 2, warmupTime: 300 })
    for (const [name, get] of Object.entries(tasks)) {
      let i = 0
      bench.add(name, async () => {
        await get(i++ % N)
      })
    }
    await bench.run()
    for (const task of bench.tasks)
      rate[task.name] = Math.max(rate[task.name] ?? 0, task.result.throughput.mean)
  }
  const baseline = rate['bare Map behind an async function']
  // The same comparison without tinybench's per-call overhead: 1000 awaited calls per sample.
  const loop = async (get) => {
    let count = 0
    const deadline = performance.now() + TIME_MS / 2
    const start = performance.now()
    while (performance.now() < deadline) {
      for (let k = 0; k < 1000; k++) await get((count + k) % N)
      count += 1000
    }
    return count / ((performance.now() - start) / 1000)
  }
  const loopBaseline = await loop(tasks['bare Map behind an async function'])
  const loopString = await loop(tasks['SimpleKV.getValue, string keys'])
  const loopBytes = await loop(tasks['SimpleKV.getValue, Uint8Array keys'])
  console.log(
    `getValue, awaited one at a time (${fmt(N)} entries; tinybench mean throughput, best of 2 rounds; ratio to the Map)`,
  )
  for (const [name, ops] of Object.entries(rate))
    console.log(
      `  ${name.padEnd(52)} ${fmt(ops).padStart(11)} ops/s  ${(ops / baseline).toFixed(2)}x`,
    )
  console.log(
    `  tight loop of 1000 awaited calls: Map ${fmt(loopBaseline)} ops/s; SimpleKV ${fmt(loopString)} (${(loopString / loopBaseline).toFixed(2)}x) with string keys, ${fmt(loopBytes)} (${(loopBytes / loopBaseline).toFixed(2)}x) with Uint8Array keys`,
  )
  record(
    target(
      'getValue awaited vs bare Map behind an async function, string keys',
      rate['SimpleKV.getValue, string keys'] / baseline,
      0.5,
      { unit: 'x' },
    ),
  )
  record(
    target(
      'getValue awaited vs bare Map behind an async function, Uint8Array keys',
      rate['SimpleKV.getValue, Uint8Array keys'] / baseline,
      0.5,
      { unit: 'x' },
    ),
  )
  console.log()
  await store.close()
  await memory.close()
  removeDir(dir)
}

// ---- addValue, sync_writes: false, 64 writers ------------------------------------------------
if (runs('put')) {
  // Each round runs the store in a fresh process, the references after it in the same process
  // (bench/put.mjs says why); the string-key and Uint8Array-key processes alternate, so a busy
  // moment of the shared machine falls on both alike. The median round counts.
  const ROUNDS = 5
  const round = (kind) => inChild('put.mjs', kind, String(TIME_MS))
  const rounds = { string: [], bytes: [] }
  for (let r = 0; r < ROUNDS; r++)
    for (const kind of ['string', 'bytes']) rounds[kind].push(round(kind))
  const median = (figures) => figures.toSorted((a, b) => a - b)[figures.length >> 1]
  const list = (figures) => figures.map(fmt).join(', ')
  console.log(
    `addValue, sync_writes: false, 64 concurrent writers, keys drawn over a space of 1,000,000 (each SimpleKV run starts empty, in a fresh process); median of ${ROUNDS} alternating rounds`,
  )
  for (const [kind, label] of [
    ['string', 'string keys'],
    ['bytes', 'Uint8Array keys'],
  ]) {
    const runs = rounds[kind]
    const rates = runs.map((r) => r.simple.rate)
    const noop = runs.map((r) => r.noop)
    console.log(
      `  ${`SimpleKV, ${label}`.padEnd(52)}${fmt(median(rates)).padStart(11)} ops/s   rounds: ${list(rates)} (keys at the end ${runs.map((r) => fmt(r.simple.entries)).join(' / ')}; snapshots completed ${runs.map((r) => r.simple.snapshots).join(' / ')})`,
    )
    console.log(
      `  ${`reference: no-op backend via core, ${label}`.padEnd(52)}${fmt(median(noop)).padStart(11)} ops/s   rounds: ${list(noop)}; SimpleKV ${(median(runs.map((r) => r.simple.rate / r.noop))).toFixed(2)}x of it in the same process`,
    )
    if (kind === 'string') {
      const memory = runs.map((r) => r.memory)
      console.log(
        `  ${'reference: core MemoryStore, string keys'.padEnd(52)}${fmt(median(memory)).padStart(11)} ops/s   rounds: ${list(memory)}`,
      )
    }
    record(
      target(
        `addValue sync_writes:false, 64 writers, ${label}`,
        Math.round(median(rates)),
        500_000,
        { unit: ' ops/s' },
      ),
    )
  }
  console.log()
}

// ---- addValue, sync_writes: true ---------------------------------------------------------------
if (runs('sync')) {
  // The raw baselines: one 140-byte record (the size of a WAL record here) appended to a file and
  // fdatasynced, in a loop; blocking calls, and awaited FileHandle calls. The disk is shared with
  // other work, so baseline and store alternate over ROUNDS rounds and the best of each counts.
  const ROUNDS = 3
  const slice = Math.max(500, Math.round(TIME_MS / 2))
  const record140 = Buffer.alloc(140, 7)
  const rawDir = benchDir('raw')
  const path = join(rawDir, 'raw.log')
  const rawSyncRound = () => {
    const fd = openSync(path, 'w')
    let count = 0
    const start = performance.now()
    while (performance.now() - start < slice) {
      writeSync(fd, record140)
      fdatasyncSync(fd)
      count++
    }
    const rate = count / ((performance.now() - start) / 1000)
    closeSync(fd)
    return rate
  }
  const rawAsyncRound = async () => {
    const handle = await open(path, 'w')
    let count = 0
    const start = performance.now()
    while (performance.now() - start < slice) {
      await handle.write(record140)
      await handle.datasync()
      count++
    }
    await handle.close()
    return count / ((performance.now() - start) / 1000)
  }
  const dir = benchDir('put-sync')
  const store = new SimpleKV({ path: dir, sync_writes: true, snapshot_interval_seconds: 0 })
  await store.open()
  // The same store with every fdatasync in the thread pool: what sync_on_event_loop buys.
  const pooledDir = benchDir('put-sync-pooled')
  const pooled = new SimpleKV({
    path: pooledDir,
    sync_writes: true,
    sync_on_event_loop: false,
    snapshot_interval_seconds: 0,
  })
  await pooled.open()
  let rawSync = 0
  let onePooled = 0
  let manyPooled = 0
  let rawAsync = 0
  let one = 0
  let many = 0
  for (let round = 0; round < ROUNDS; round++) {
    rawSync = Math.max(rawSync, rawSyncRound())
    one = Math.max(
      one,
      await concurrentFor(slice, 1, (_w, n) =>
        store.addValue('bench', keyStringOf(n % KEY_SPACE), VALUE),
      ),
    )
    rawAsync = Math.max(rawAsync, await rawAsyncRound())
    many = Math.max(
      many,
      await concurrentFor(slice, 64, (w, n) =>
        store.addValue('bench', keyStringOf(keyNumber(w, n)), VALUE),
      ),
    )
    onePooled = Math.max(
      onePooled,
      await concurrentFor(slice, 1, (_w, n) =>
        pooled.addValue('bench', keyStringOf(n % KEY_SPACE), VALUE),
      ),
    )
    manyPooled = Math.max(
      manyPooled,
      await concurrentFor(slice, 64, (w, n) =>
        pooled.addValue('bench', keyStringOf(keyNumber(w, n)), VALUE),
      ),
    )
  }
  await store.close()
  await pooled.close()
  removeDir(dir)
  removeDir(pooledDir)
  removeDir(rawDir)
  console.log(
    `addValue, sync_writes: true (every write fdatasynced before it resolves; best of ${ROUNDS} alternating rounds)`,
  )
  console.log(`  raw loop, writeSync + fdatasyncSync:        ${fmt(rawSync)} ops/s`)
  console.log(`  raw loop, await write + await datasync:     ${fmt(rawAsync)} ops/s`)
  console.log(
    `  SimpleKV, 1 writer:                         ${fmt(one)} ops/s (${(one / rawSync).toFixed(2)}x the blocking raw loop, ${(one / rawAsync).toFixed(2)}x the awaited one)`,
  )
  console.log(`  SimpleKV, 64 writers (group commit):        ${fmt(many)} durable ops/s`)
  console.log(
    `  reference: sync_on_event_loop: false (every fdatasync in the thread pool): 1 writer ${fmt(onePooled)} ops/s (${(onePooled / rawSync).toFixed(2)}x), 64 writers ${fmt(manyPooled)} ops/s`,
  )
  record(
    target('addValue sync_writes:true, 64 writers', Math.round(many), 100_000, { unit: ' ops/s' }),
  )
  record(
    target(
      'addValue sync_writes:true, 1 writer vs raw append+fdatasync loop (blocking calls)',
      one / rawSync,
      0.8,
      {
        unit: 'x',
      },
    ),
  )
  console.log()
}

// ---- 1,000,000 entries: RSS, snapshot latency, reopen ------------------------------------------
if (runs('million')) {
  const dir = benchDir('million')
  const run = (mode) => inChild('million.mjs', mode, dir)
  const built = run('build')
  console.log('1,000,000 entries (one child process builds them, another reopens them)')
  console.log(`  built with 64 writers, sync_writes: false: ${fmt(built.buildRate)} ops/s`)
  console.log(
    `  RSS ${fmt(built.rss)} bytes = ${built.rssPerEntry.toFixed(0)} bytes/entry (empty store in a fresh process: ${fmt(built.rssBefore)} bytes; growth ${built.growthPerEntry.toFixed(0)} bytes/entry; heap used ${fmt(built.heapUsed)}, external ${fmt(built.external)})`,
  )
  console.log(
    `  snapshots of 1,000,000 entries (${fmt(built.snapshotBytes)} bytes), sync_writes: false, one writer meanwhile:\n${describeRounds(built.rounds)}`,
  )
  const reopened = run('reopen')
  console.log(
    `  reopen (snapshot ${fmt(reopened.snapshotBytes)} bytes + WAL ${fmt(reopened.walBytes)} bytes, the most the default snapshot_wal_ratio leaves to replay): ${reopened.openMs.toFixed(0)} ms, ${fmt(reopened.entries)} entries`,
  )
  console.log(
    `  snapshots with sync_writes: true, one writer meanwhile:\n${describeRounds(reopened.rounds)}`,
  )
  record(
    target(
      'RSS at 1,000,000 entries (whole process RSS / entries)',
      Math.round(built.rssPerEntry),
      450,
      { atMost: true, unit: ' B/entry' },
    ),
  )
  record(
    target('reopen with 1,000,000 entries (snapshot + WAL)', Math.round(reopened.openMs), 3000, {
      atMost: true,
      unit: ' ms',
    }),
  )
  record(
    target(
      'longest addValue during a 1,000,000-entry snapshot (sync_writes: false; median of 3 rounds)',
      built.latency.max,
      50,
      { atMost: true, unit: ' ms' },
    ),
  )
  record(
    target(
      'longest addValue during a 1,000,000-entry snapshot (sync_writes: true; median of 3 rounds)',
      reopened.latency.max,
      50,
      { atMost: true, unit: ' ms' },
    ),
  )
  removeDir(dir)
}

console.log(`\n${results.filter(Boolean).length} of ${results.length} targets met`)

/** Runs `bench/<script> ...args` in a fresh process and returns the JSON of its last line. */
function inChild(script, ...args) {
  const path = fileURLToPath(new URL(`./${script}`, import.meta.url))
  const child = spawnSync(process.execPath, ['--expose-gc', path, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  if (child.status !== 0) {
    console.error(`bench/${script} ${args[0]} failed (status ${child.status})`)
    process.exit(1)
  }
  return JSON.parse(child.stdout.trim().split('\n').at(-1))
}

function describeRounds(rounds) {
  return rounds
    .map(
      (r, i) =>
        `    round ${i + 1}: snapshot ${r.snapshotMs.toFixed(0)} ms, ${fmt(r.count)} addValue calls, longest ${r.max.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms`,
    )
    .join('\n')
}

function fmt(n) {
  return Math.round(n).toLocaleString('en-US')
}
