// `pnpm bench`: operations per second and HTTP requests per operation of @kv/elastic against the
// stand-in server (in this process, over real HTTP on 127.0.0.1), for sequential and 64-way
// concurrent reads and writes, under both id schemes. Requests are counted by the stand-in.
// Run after `pnpm build` (turbo's bench task builds first). Figures depend on the machine; the
// stand-in is in-memory, so they measure the client side and the batching, not a cluster.
import { startStandin } from '@kv/es-standin'
import { ElasticKV } from '../dist/index.js'

const SEQUENTIAL_OPS = Number(process.env.BENCH_SEQUENTIAL_OPS ?? 2000)
const CONCURRENT_OPS = Number(process.env.BENCH_CONCURRENT_OPS ?? 20000)
const WORKERS = 64
const VALUE = new Uint8Array(256).fill(0x61)

const standin = await startStandin()

async function measure(label, ops, workers, op) {
  standin.resetCounts()
  let next = 0
  const started = process.hrtime.bigint()
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let i = next++; i < ops; i = next++) await op(i)
    }),
  )
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const { total, byEndpoint } = standin.counts()
  return {
    scenario: label,
    ops,
    'ops/s': Math.round(ops / seconds),
    'requests/op': Number((total / ops).toFixed(4)),
    requests: Object.entries(byEndpoint)
      .map(([name, count]) => `${name}:${count}`)
      .join(' '),
  }
}

const rows = []
for (const scheme of ['default', 'infini']) {
  const store = new ElasticKV({
    endpoint: standin.url,
    index_name: `bench-${scheme}`,
    id_scheme: scheme,
  })
  await store.open()
  const key = (i) => `key-${i}`
  rows.push({
    scheme,
    ...(await measure('write, sequential', SEQUENTIAL_OPS, 1, (i) =>
      store.addValue('bench', key(i), VALUE),
    )),
  })
  rows.push({
    scheme,
    ...(await measure(`write, ${WORKERS}-way concurrent`, CONCURRENT_OPS, WORKERS, (i) =>
      store.addValue('bench', key(i), VALUE),
    )),
  })
  rows.push({
    scheme,
    ...(await measure('read, sequential', SEQUENTIAL_OPS, 1, (i) =>
      store.getValue('bench', key(i)),
    )),
  })
  rows.push({
    scheme,
    ...(await measure(`read, ${WORKERS}-way concurrent`, CONCURRENT_OPS, WORKERS, (i) =>
      store.getValue('bench', key(i)),
    )),
  })
  await store.close()
}
await standin.close()

console.log(
  `@kv/elastic against the stand-in (Node ${process.version}, ${VALUE.length}-byte values)`,
)
console.table(rows)
