// Benchmarks of @kv/badger (`pnpm --filter @kv/badger bench`; build first). It prints figures
// and PASS/MISS per target of the issue; it asserts nothing. Sections: throughput against raw
// classic-level, Snappy with LZ4 values, event-loop latency of synchronous reads.
//
//   KV_BENCH_ONLY=throughput|compression|latency   run one section
import { compression } from './compression.mjs'
import { latency } from './latency.mjs'
import { formatRows, throughput } from './throughput.mjs'

const lib = await import('../dist/index.js').catch((error) => {
  console.error(
    `Cannot load ../dist/index.js (${error.message}); run pnpm --filter @kv/badger build first.`,
  )
  process.exit(1)
})

const results = []
const report = {
  line: (text) => console.log(text),
  table: (rows) => {
    for (const line of formatRows(rows)) console.log(line)
    for (const r of rows) results.push([r.name, r.ratio >= r.target])
  },
  result: (name, pass) => results.push([name, pass]),
}

const only = process.env.KV_BENCH_ONLY
console.log(
  `@kv/badger benchmarks, node ${process.version}, 16-byte keys, 100-byte values, default options`,
)
console.log('')
if (!only || only === 'throughput') await throughput(lib, report)
if (!only || only === 'compression') {
  console.log('')
  await compression(lib, report)
}
if (!only || only === 'latency') {
  console.log('')
  await latency(lib, report)
}
console.log('')
console.log(
  `targets: ${results.filter(([, p]) => p).length} PASS, ${results.filter(([, p]) => !p).length} MISS`,
)
for (const [name, pass] of results) console.log(`  ${pass ? 'PASS' : 'MISS'}  ${name}`)
