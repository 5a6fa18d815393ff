// Shared pieces of the simple_kv benchmarks: the store under test (the built package), temporary
// directories, the 16-byte keys and 100-byte values of the targets, and reporting.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const { SimpleKV } = await import('../dist/store-entry.js').catch(() => {
  console.error('bench: build @kv/simple first (pnpm --filter @kv/simple build)')
  process.exit(1)
})

const { AbstractKVStore, MemoryStore } = await import('@kv/core')

export { MemoryStore }

/**
 * A backend that does nothing: its `_get` returns null at once and its `_put` returns at once.
 * Measured through @kv/core's public methods, it is the ceiling any backend can reach — the cost
 * of core's validation, encoding and async wrappers alone.
 */
export class NullStore extends AbstractKVStore {
  constructor() {
    super('null', { maxValueBytes: 64 * 1024 * 1024 })
  }
  async _open() {}
  async _close() {}
  _get() {
    return null
  }
  _put() {}
  _delete() {}
  _deleteBucket() {}
  _keys() {
    return []
  }
  _buckets() {
    return []
  }
}

/** A fresh directory for a store; KV_BENCH_DIR chooses where (default: the OS temp dir). */
export function benchDir(label) {
  return mkdtempSync(join(process.env.KV_BENCH_DIR ?? tmpdir(), `simple-kv-bench-${label}-`))
}

export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true })
}

/** Key number `i` as 16 bytes of text (`k` and 15 digits). */
export function keyOf(i) {
  return `k${String(i).padStart(15, '0')}`
}

/** Key number `i` as the 16 bytes of {@link keyOf}, in a new Uint8Array (no string, no encoder). */
export function keyBytesOf(i) {
  const out = new Uint8Array(16)
  out[0] = 0x6b
  for (let p = 15; p > 0; p--) {
    out[p] = 0x30 + (i % 10)
    i = Math.floor(i / 10)
  }
  return out
}

/** A 100-byte value (random bytes, fixed per run). */
export const VALUE = Buffer.from(Array.from({ length: 100 }, (_, i) => (i * 131 + 7) & 0xff))

export const gc = globalThis.gc ?? (() => {})

/** Prints one target line: PASS or MISS, what, the figure, and by how much it misses. */
export function target(what, measured, want, { atMost = false, unit = '' } = {}) {
  const ok = atMost ? measured <= want : measured >= want
  const shown = (n) => (Number.isInteger(n) ? n.toLocaleString('en-US') : n.toFixed(2)) + unit
  const miss = ok
    ? ''
    : `  — misses by ${(atMost ? ((measured - want) / want) * 100 : ((want - measured) / want) * 100).toFixed(0)}%`
  console.log(
    `${ok ? 'PASS' : 'MISS'}  ${what}: measured ${shown(measured)}, target ${atMost ? '≤' : '≥'} ${shown(want)}${miss}`,
  )
  return ok
}

/** Runs `worker(i)` from `writers` concurrent loops for `ms`, returns ops/s. */
export async function concurrentFor(ms, writers, op) {
  let count = 0
  const deadline = performance.now() + ms
  const start = performance.now()
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let n = 0; performance.now() < deadline; n++) {
        await op(w, n)
        count++
      }
    }),
  )
  return count / ((performance.now() - start) / 1000)
}
