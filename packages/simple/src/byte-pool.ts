/**
 * Copies of stored bytes handed to callers, carved from shared 16 KiB pools.
 *
 * Allocating an `ArrayBuffer` per returned value costs about a microsecond in V8, more than the
 * rest of a `getValue`; Node's `Buffer.allocUnsafe` avoids that with a pool, and this does the
 * same while returning plain `Uint8Array`s. Each copy is the caller's to keep and modify; small
 * ones share their underlying `ArrayBuffer` with other copies (as pooled Buffers do), so a
 * caller must not transfer `value.buffer` to a worker.
 *
 * @module
 */

const POOL_BYTES = 16 * 1024
/** Larger copies get an `ArrayBuffer` of their own. */
const POOLED_MAX = 2 * 1024

let pool = new ArrayBuffer(POOL_BYTES)
let poolView = new Uint8Array(pool)
let poolAt = 0

/** A copy of `source[start, start + length)` that the caller owns. */
export function copyOut(source: Buffer, start: number, length: number): Uint8Array {
  if (length > POOLED_MAX) {
    const out = new Uint8Array(length)
    source.copy(out, 0, start, start + length)
    return out
  }
  if (poolAt + length > POOL_BYTES) {
    pool = new ArrayBuffer(POOL_BYTES)
    poolView = new Uint8Array(pool)
    poolAt = 0
  }
  source.copy(poolView, poolAt, start, start + length)
  const out = new Uint8Array(pool, poolAt, length)
  // 8-byte alignment, as Node's pool keeps, so callers may view the bytes as wider arrays.
  poolAt = (poolAt + length + 7) & ~7
  return out
}

/** The bytes of a latin1 key id (one character per byte), as a copy the caller owns. */
export function idToBytes(id: string): Uint8Array {
  const length = id.length
  if (length > POOLED_MAX) {
    const out = new Uint8Array(length)
    Buffer.from(out.buffer).write(id, 0, 'latin1')
    return out
  }
  if (poolAt + length > POOL_BYTES) {
    pool = new ArrayBuffer(POOL_BYTES)
    poolView = new Uint8Array(pool)
    poolAt = 0
  }
  for (let i = 0; i < length; i++) poolView[poolAt + i] = id.charCodeAt(i)
  const out = new Uint8Array(pool, poolAt, length)
  poolAt = (poolAt + length + 7) & ~7
  return out
}
