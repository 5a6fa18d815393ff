// Benchmarks the @kv/core LZ4 codec against raw lz4js and lz4-napi (SPEC §4).
//
//   pnpm --filter @kv/core build && cd packages/core && node --expose-gc bench/run.mjs
//
// It prints a table and the performance targets with PASS/MISS; it asserts nothing.
// KV_BENCH_CODEC=/path/to/index.js benchmarks another build of the codec (default ../dist).
//
// Every implementation does the whole job a caller needs: encoders allocate their output, raw
// lz4js also zeroes its hash table (it must, see src/lz4/hash-table.ts), and decoders allocate
// the declared size. All decoders read the same stored bytes (our encoder's output; lz4-napi's
// size-prepended format is the same layout).
import { createRequire } from 'node:module'
import { Bench } from 'tinybench'
import { jsonDocument, randomBytes } from './inputs.mjs'

const require = createRequire(import.meta.url)
const lz4js = require('lz4js')
const lz4napi = require('lz4-napi')

const codecPath = process.env.KV_BENCH_CODEC ?? '../dist/index.js'
const codec = await import(
  codecPath.startsWith('.') ? codecPath : new URL(`file://${codecPath}`).href
).catch((error) => {
  console.error(`cannot load the codec from ${codecPath}: ${error.message}`)
  console.error('Build it first: pnpm --filter @kv/core build')
  process.exit(1)
})
const { compress, decompress } = codec
if (typeof compress !== 'function' || typeof decompress !== 'function') {
  console.error(`${codecPath} does not export compress and decompress; rebuild @kv/core.`)
  process.exit(1)
}

const TIME_MS = Number(process.env.KV_BENCH_TIME_MS ?? 500)
// Shared virtual machines drift by tens of percent within seconds: each op is measured in
// several rounds that alternate the implementations, and each keeps its best round.
const ROUNDS = Number(process.env.KV_BENCH_ROUNDS ?? 3)
const hashTable = new Uint32Array(1 << 16)

const cases = [
  { name: 'json-100k', data: jsonDocument(100 * 1024) },
  { name: 'json-1k', data: jsonDocument(1024) },
  { name: 'random-100k', data: randomBytes(100 * 1024) },
]

const gc = globalThis.gc ?? (() => {})
const rows = []

for (const { name, data } of cases) {
  const n = data.length
  const buffer = Buffer.from(data.buffer, data.byteOffset, n)
  const stored = compress(data)
  const storedBuffer = Buffer.from(stored.buffer, stored.byteOffset, stored.length)
  const declared = stored[0] | (stored[1] << 8) | (stored[2] << 16) | (stored[3] << 24)
  check(name, 'lz4js decode', lz4jsDecode(stored, declared), data)
  check(name, 'lz4-napi decode', lz4napi.uncompressSync(storedBuffer), data)
  check(name, 'ours decode lz4-napi', decompress(lz4napi.compressSync(buffer)), data)

  const tasks = {
    encode: {
      ours: () => compress(data),
      lz4js: () => {
        hashTable.fill(0)
        const dst = new Uint8Array(lz4js.compressBound(n))
        return lz4js.compressBlock(data, dst, 0, n, hashTable)
      },
      'lz4-napi': () => lz4napi.compressSync(buffer),
    },
    decode: {
      ours: () => decompress(stored),
      lz4js: () => lz4jsDecode(stored, declared),
      'lz4-napi': () => lz4napi.uncompressSync(storedBuffer),
    },
  }

  for (const [op, impls] of Object.entries(tasks)) {
    const speed = {}
    for (let round = 0; round < ROUNDS; round++) {
      const bench = new Bench({ time: TIME_MS, warmupTime: 100, setup: () => gc() })
      for (const [impl, fn] of Object.entries(impls)) bench.add(impl, fn)
      await bench.run()
      for (const task of bench.tasks) {
        // The median resists the odd GC pause better than the mean.
        const mbps = n / (task.result.latency.p50 / 1000) / 1e6
        speed[task.name] = Math.max(speed[task.name] ?? 0, mbps)
      }
    }
    for (const impl of Object.keys(impls)) {
      rows.push({
        case: name,
        op,
        impl,
        'MB/s': speed[impl].toFixed(1),
        'ours/lz4js': (speed.ours / speed.lz4js).toFixed(2),
        'ours/lz4-napi': (speed.ours / speed['lz4-napi']).toFixed(2),
        ratio: op === 'encode' && impl === 'ours' ? (stored.length / n).toFixed(3) : '',
      })
    }
  }
}

console.log(
  `node ${process.version}; MB/s of uncompressed bytes: median of each ${TIME_MS} ms run, best of ${ROUNDS} rounds`,
)
console.table(rows)

const ratioOf = (caseName, op, key) =>
  Number(rows.find((r) => r.case === caseName && r.op === op && r.impl === 'ours')[key])
const targets = [
  ['encode json-100k: ours >= 0.90x lz4js', ratioOf('json-100k', 'encode', 'ours/lz4js'), 0.9],
  ['decode json-100k: ours >= 1.00x lz4js', ratioOf('json-100k', 'decode', 'ours/lz4js'), 1.0],
  [
    'encode json-100k: ours >= 0.75x lz4-napi',
    ratioOf('json-100k', 'encode', 'ours/lz4-napi'),
    0.75,
  ],
]
for (const [what, got, want] of targets) {
  console.log(`${got >= want ? 'PASS' : 'MISS'}  ${what}  (measured ${got.toFixed(2)}x)`)
}

/** lz4js's block decoder with the allocation any caller needs; it checks nothing. */
function lz4jsDecode(stored, declared) {
  const dst = new Uint8Array(declared)
  lz4js.decompressBlock(stored, dst, 4, stored.length - 4, 0)
  return dst
}

function check(caseName, what, got, want) {
  if (Buffer.compare(Buffer.from(got), Buffer.from(want)) !== 0) {
    console.error(`${caseName}: ${what} does not reproduce the input`)
    process.exit(1)
  }
}
