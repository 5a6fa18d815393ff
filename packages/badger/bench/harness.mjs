// Helpers shared by the benchmarks: temporary directories, data, paired timing, formatting.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const made = []
process.on('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true })
})

/** A fresh temporary directory, removed at exit. */
export function tempDir(label) {
  const dir = mkdtempSync(join(tmpdir(), `kv-badger-bench-${label}-`))
  made.push(dir)
  return dir
}

/** `count` distinct 16-byte keys. */
export function keys16(count, salt = 'k') {
  return Array.from({ length: count }, (_, i) =>
    Buffer.from(`${salt}${String(i).padStart(15, '0')}`.slice(-16)),
  )
}

let seed = 0x9e3779b9
/** Deterministic pseudo-random bytes (xorshift), so runs are comparable. */
export function randomBytes(n) {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    seed ^= seed << 13
    seed ^= seed >>> 17
    seed ^= seed << 5
    out[i] = seed & 0xff
  }
  return out
}

const WORDS =
  'alpha beta gamma delta session user expires token region cluster index shard node status green yellow'.split(
    ' ',
  )
/** A JSON document of about `size` bytes, shaped like application state (repeated field names). */
export function jsonDocument(size, n) {
  const items = []
  let length = 0
  for (let i = 0; length < size; i++) {
    const item = {
      id: `${n}-${i}`,
      user_id: `u${(n * 7919 + i * 104729) % 100000}`,
      region: WORDS[(n + i) % WORDS.length],
      expires: `2024-12-${String((i % 28) + 1).padStart(2, '0')}T00:00:00Z`,
      note: `${WORDS[i % WORDS.length]} ${WORDS[(i * 3) % WORDS.length]} ${n * i}`,
    }
    length += JSON.stringify(item).length + 1
    items.push(item)
  }
  return new TextEncoder().encode(JSON.stringify(items).slice(0, size))
}

/**
 * Runs `a` and `b` in alternating blocks (ABBA…) so that drift in the machine's speed (it is
 * shared) hits both alike. Each function runs `opsPerBlock` operations. Returns ops/s of each
 * over all blocks, and `ratio`: the median over the blocks of a's rate / b's rate in the block
 * pair run back to back, which a burst of load on the machine moves least.
 */
export async function paired(a, b, { blocks = 10, opsPerBlock = 1000, warmup = 1 } = {}) {
  for (let i = 0; i < warmup; i++) {
    await a()
    await b()
  }
  let timeA = 0
  let timeB = 0
  const ratios = []
  for (let i = 0; i < blocks; i++) {
    const order = i % 2 === 0 ? [a, b] : [b, a]
    let blockA = 0
    let blockB = 0
    for (const fn of order) {
      const start = performance.now()
      await fn()
      const elapsed = performance.now() - start
      if (fn === a) blockA = elapsed
      else blockB = elapsed
    }
    timeA += blockA
    timeB += blockB
    ratios.push(blockB / blockA)
  }
  const ops = blocks * opsPerBlock
  return { a: (ops / timeA) * 1000, b: (ops / timeB) * 1000, ratio: median(ratios) }
}

/** Median of numbers. */
export function median(values) {
  const sorted = [...values].sort((x, y) => x - y)
  return sorted[sorted.length >> 1]
}

/** Total size in bytes of the files under `dir`. */
export function diskBytes(dir) {
  let total = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    total += entry.isDirectory() ? diskBytes(path) : statSync(path).size
  }
  return total
}

/**
 * Drops the OS page cache of every file under `dir` (posix_fadvise DONTNEED through GNU dd), so
 * the next reads go to the device. Returns false when that is not possible here.
 */
export function evictFromPageCache(dir) {
  try {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) evictFromPageCache(path)
      else {
        // Dirty pages cannot be dropped: write them back first.
        execFileSync('sync', [path])
        execFileSync('dd', [`if=${path}`, 'iflag=nocache', 'count=0', 'status=none'])
      }
    }
    return true
  } catch {
    return false
  }
}

/** The share of the files under `dir` that is in the OS page cache (fincore), or undefined. */
export function cachedShare(dir) {
  try {
    let resident = 0
    let size = 0
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) continue
      const out = execFileSync('fincore', [
        '--bytes',
        '--noheadings',
        '--output',
        'RES,SIZE',
        path,
      ]).toString()
      const [res, total] = out.trim().split(/\s+/).map(Number)
      resident += res
      size += total
    }
    return size === 0 ? undefined : resident / size
  } catch {
    return undefined
  }
}

export const fmt = (n) => Math.round(n).toLocaleString('en-US')
export const pad = (s, n) => String(s).padEnd(n)
export const lpad = (s, n) => String(s).padStart(n)
