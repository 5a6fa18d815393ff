// Benchmark of `kv migrate` and `kv export`/`kv import` at scale, run through the built executable.
//
//   pnpm --filter @kv/cli bench                 # 1,000,000 entries
//   KV_BENCH_ENTRIES=100000 pnpm --filter @kv/cli bench
//
// 1. Writes N entries (16-byte keys, 100-byte values, 4 buckets) into simple_kv in a temporary
//    directory (in-process, through @kv/simple).
// 2. Runs `kv migrate --from simple_kv --to badger` as a child process and reports the copy rate
//    (target: 200,000 entries/s), the whole command's time (counting and verifying included) and
//    its peak RSS.
// 3. Runs `kv export` of the badger store, at N and at N/10 entries, to show that the export's
//    peak RSS does not grow with the store, then `kv import` of the file into a fresh simple_kv.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url))
const N = Number(process.env.KV_BENCH_ENTRIES ?? 1_000_000)
const TARGET = 200_000
const TIME = '/usr/bin/time'

if (!existsSync(BIN)) throw new Error('build first: pnpm --filter @kv/cli build')

const fmt = (n) => Math.round(n).toLocaleString('en-US')
const mib = (kib) => `${(kib / 1024).toFixed(0)} MiB`

/** Writes `n` entries into the simple_kv store under `dir` (keys exactly 16 bytes). */
async function populate(dir, n) {
  const { SimpleKV } = await import('@kv/simple')
  const store = new SimpleKV({ path: join(dir, 'data', 'simple_kv') })
  await store.open()
  const value = Buffer.alloc(100)
  let inFlight = 0
  let wake
  for (let i = 0; i < n; i++) {
    value.writeUInt32BE(i, 0)
    const key = `k${String(i).padStart(15, '0')}`
    inFlight++
    store.addValue(`bucket-${i % 4}`, key, value).then(() => {
      inFlight--
      wake?.()
    })
    while (inFlight >= 256) await new Promise((resolve) => (wake = resolve))
  }
  while (inFlight > 0) await new Promise((resolve) => (wake = resolve))
  await store.close()
}

/** Runs `kv args` in `cwd`; returns stdout, wall seconds and peak RSS in KiB. */
function kv(cwd, args, nodeFlags = []) {
  const useTime = existsSync(TIME)
  const command = useTime ? TIME : process.execPath
  const argv = useTime
    ? ['-f', 'maxrss_kib=%M', process.execPath, ...nodeFlags, BIN, ...args]
    : [...nodeFlags, BIN, ...args]
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(command, argv, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, KV_CONFIG: join(cwd, 'kv.yml') },
    })
    let stdout = ''
    let stderr = ''
    let sampled = 0
    // Without /usr/bin/time, sample the high-water mark from /proc while the child runs.
    const sampler = useTime
      ? undefined
      : setInterval(async () => {
          try {
            const status = await readFile(`/proc/${child.pid}/status`, 'utf8')
            sampled = Math.max(sampled, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0))
          } catch {}
        }, 20)
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => {
      if (sampler) clearInterval(sampler)
      const seconds = (performance.now() - started) / 1000
      const match = /maxrss_kib=(\d+)/.exec(stderr)
      if (code !== 0) reject(new Error(`kv ${args.join(' ')} exited ${code}:\n${stderr}`))
      else resolve({ stdout, seconds, peakKiB: match ? Number(match[1]) : sampled })
    })
  })
}

const dir = await mkdtemp(join(tmpdir(), 'kv-cli-bench-'))
try {
  await writeFile(join(dir, 'kv.yml'), 'data_dir: ./data\n')
  console.log(
    `kv migrate benchmark: ${fmt(N)} entries (16-byte keys, 100-byte values), node ${process.version}`,
  )
  const t = performance.now()
  await populate(dir, N)
  console.log(`  populated simple_kv in ${((performance.now() - t) / 1000).toFixed(1)}s`)
  console.log(
    `  load average now: ${loadavg()
      .map((n) => n.toFixed(1))
      .join(' ')} (2 cores shared with other work)`,
  )

  const baseline = await kv(dir, ['--backend', 'simple_kv', 'buckets'])
  console.log(
    `  kv buckets on simple_kv (opening it loads every entry into memory): ${baseline.seconds.toFixed(2)}s, peak RSS ${mib(baseline.peakKiB)}`,
  )

  const migrate = await kv(dir, [
    '--json',
    '--no-progress',
    'migrate',
    '--from',
    'simple_kv',
    '--to',
    'badger',
  ])
  const summary = JSON.parse(migrate.stdout)
  if (summary.copied !== N || !summary.verification.ok)
    throw new Error(
      `migrate copied ${summary.copied}, verification ${JSON.stringify(summary.verification)}`,
    )
  const copyRate = summary.copied / summary.seconds
  console.log(
    `  migrate simple_kv -> badger: copy ${fmt(copyRate)} entries/s (${summary.seconds.toFixed(2)}s) ` +
      `[target ${fmt(TARGET)}/s: ${copyRate >= TARGET ? 'met' : 'NOT met'}]`,
  )
  console.log(
    `    whole command (start, copy, verify counts): ${migrate.seconds.toFixed(2)}s = ${fmt(N / migrate.seconds)} entries/s; peak RSS ${mib(migrate.peakKiB)}`,
  )

  const rerun = await kv(dir, ['--json', 'migrate', '--from', 'simple_kv', '--to', 'badger'])
  const again = JSON.parse(rerun.stdout)
  console.log(
    `  re-run over the full target (idempotent; with progress, so with the counting pass): copy ${fmt(again.copied / again.seconds)} entries/s, whole command ${rerun.seconds.toFixed(2)}s, peak RSS ${mib(rerun.peakKiB)}`,
  )

  const file = join(dir, 'export.ndjson')
  const full = await kv(dir, ['--no-progress', '--backend', 'badger', 'export', file])
  const size = (await stat(file)).size
  console.log(
    `  export badger (${fmt(N)} entries, ${(size / 2 ** 20).toFixed(0)} MiB): ${full.seconds.toFixed(2)}s = ${fmt(N / full.seconds)} entries/s; peak RSS ${mib(full.peakKiB)}`,
  )
  const part = await kv(dir, [
    '--no-progress',
    '--backend',
    'badger',
    'export',
    join(dir, 'part.ndjson'),
    '--bucket',
    'bucket-0',
  ])
  console.log(
    `  export badger, one bucket of four (${fmt(N / 4)} entries): peak RSS ${mib(part.peakKiB)}`,
  )

  // With the JS heap capped far below the size of the data, the export still completes: the
  // command keeps nothing per entry (what RSS adds beyond this is the engine's native memory).
  const capped = await kv(
    dir,
    ['--no-progress', '--backend', 'badger', 'export', join(dir, 'capped.ndjson')],
    ['--max-old-space-size=48'],
  )
  console.log(
    `  export badger with the JS heap capped at 48 MB (--max-old-space-size=48): completes in ${capped.seconds.toFixed(2)}s; peak RSS ${mib(capped.peakKiB)}`,
  )

  await writeFile(join(dir, 'kv.yml'), 'data_dir: ./data2\n')
  const imported = await kv(dir, ['--no-progress', '--backend', 'simple_kv', 'import', file])
  console.log(
    `  import into a fresh simple_kv: ${imported.seconds.toFixed(2)}s = ${fmt(N / imported.seconds)} entries/s; peak RSS ${mib(imported.peakKiB)} (simple_kv keeps every entry in memory)`,
  )
  console.log(
    `  load average at end: ${loadavg()
      .map((n) => n.toFixed(1))
      .join(' ')}`,
  )
} finally {
  await rm(dir, { recursive: true, force: true })
}
