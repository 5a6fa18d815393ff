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

/** Writes the 16 bytes of {@link keyOf}`(i)` into `out` (no string, no encoder, no allocation). */
export function writeKeyBytes(i, out) {
  out[0] = 0x6b
  for (let p = 15; p > 0; p--) {
    out[p] = 0x30 + (i % 10)
    i = Math.floor(i / 10)
  }
  return out
}

/** Key number `i` as the 16 bytes of {@link keyOf}, in a new Uint8Array. */
export function keyBytesOf(i) {
  return writeKeyBytes(i, new Uint8Array(16))
}

/** The size of the key space the concurrent writers draw from. */
export const KEY_SPACE = 1_000_000

const keyDigits = new Uint8Array(16)
/**
 * {@link keyOf}`(i)` made the way the timed loops need it: a flat string built from char codes.
 * A template literal makes a cons string, which the store's first read of it flattens (an
 * allocation and a copy); and reading one of a million prepared strings in random order costs a
 * cache miss — each measured at a fifth of a store's write, which is the loop's cost, not the
 * store's.
 */
export function keyStringOf(i) {
  const d = writeKeyBytes(i, keyDigits)
  return String.fromCharCode(
    d[0],
    d[1],
    d[2],
    d[3],
    d[4],
    d[5],
    d[6],
    d[7],
    d[8],
    d[9],
    d[10],
    d[11],
    d[12],
    d[13],
    d[14],
    d[15],
  )
}

/** The key number writer `w` uses for its `n`th write: spread over the whole key space. */
export function keyNumber(w, n) {
  return (w * 7919 + n * 104_729) % KEY_SPACE
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

/**
 * Runs `op(w, n)` from `writers` concurrent loops for `ms` (each loop awaits its call before the
 * next), and returns calls per second. The clock is read every 16 calls of a loop, not every
 * call: a clock read costs about as much as a tenth of a write of the store under test.
 */
export async function concurrentFor(ms, writers, op) {
  let count = 0
  const deadline = performance.now() + ms
  const start = performance.now()
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let n = 0; (n & 15) !== 0 || performance.now() < deadline; n++) {
        await op(w, n)
        count++
      }
    }),
  )
  return count / ((performance.now() - start) / 1000)
}
