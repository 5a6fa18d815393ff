/**
 * Assertions the suites share, built on `node:assert/strict` only. Byte strings are compared
 * as hex so that a failure shows where they differ; long ones are summarised.
 *
 * @module
 */
import assert from 'node:assert/strict'
import type { KeysOptions, KVStore } from '@kv/core'

/** Lower-case hex of `bytes`, e.g. `61002cff`. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex')
}

/** A printable name for a key or bucket in messages: JSON-escaped text, or hex for bytes. */
export function show(value: string | Uint8Array): string {
  return typeof value === 'string' ? JSON.stringify(value) : `0x${hex(value) || '(empty)'}`
}

/** Everything an async iterable yields, in order. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of iterable) out.push(item)
  return out
}

/** Asserts that `actual` is a `Uint8Array` holding exactly the bytes of `expected`. */
export function assertBytes(actual: unknown, expected: Uint8Array, what: string): void {
  assert.ok(actual instanceof Uint8Array, `${what}: expected a Uint8Array, got ${describe(actual)}`)
  if (expected.length <= 256) {
    assert.equal(hex(actual), hex(expected), `${what}: the bytes differ`)
    return
  }
  assert.equal(
    actual.length,
    expected.length,
    `${what}: expected ${expected.length} bytes, got ${actual.length}`,
  )
  // Values run to the backend's limit (64 MiB and more): compare natively, and look for the first
  // difference only when there is one.
  if (Buffer.from(actual.buffer, actual.byteOffset, actual.length).equals(expected)) return
  const at = actual.findIndex((byte, i) => byte !== expected[i])
  assert.equal(at, -1, `${what}: the bytes differ first at offset ${at}`)
}

/** Asserts that the store holds `expected` under (`bucket`, `key`), read with `getValue`. */
export async function assertValue(
  store: KVStore,
  bucket: string,
  key: Uint8Array | string,
  expected: Uint8Array,
): Promise<void> {
  const where = `bucket ${show(bucket)} key ${show(key)}`
  assertBytes(await store.getValue(bucket, key), expected, `getValue(${where})`)
  assert.equal(await store.existsKey(bucket, key), true, `existsKey(${where}) should be true`)
}

/** Asserts that (`bucket`, `key`) reads as missing from both getters and `existsKey`. */
export async function assertMissing(
  store: KVStore,
  bucket: string,
  key: Uint8Array | string,
  after?: string,
): Promise<void> {
  const where = `bucket ${show(bucket)} key ${show(key)}${after === undefined ? '' : `, after ${after}`}`
  assert.equal(await store.getValue(bucket, key), null, `getValue(${where}) should be null`)
  assert.equal(
    await store.getCompressedValue(bucket, key),
    null,
    `getCompressedValue(${where}) should be null`,
  )
  assert.equal(await store.existsKey(bucket, key), false, `existsKey(${where}) should be false`)
}

/** The keys of `bucket` as hex strings, in the order `keys()` yields them. */
export async function keysHex(
  store: KVStore,
  bucket: string,
  options?: KeysOptions,
): Promise<string[]> {
  const keys = await collect(store.keys(bucket, options))
  for (const key of keys)
    assert.ok(
      key instanceof Uint8Array,
      `keys(${show(bucket)}) yielded ${describe(key)}, not a Uint8Array`,
    )
  return keys.map(hex)
}

/**
 * Asserts that `actual` and `expected` (hex keys, or bucket names) are the same list, entry by
 * entry. A failure gives both lengths and the first position where they differ, with a few
 * entries around it, rather than a diff of thousands of lines.
 */
export function assertSameList(
  actual: readonly string[],
  expected: readonly string[],
  what: string,
): void {
  const length = Math.max(actual.length, expected.length)
  let at = 0
  while (at < length && actual[at] === expected[at]) at++
  if (at === length) return
  const around = (list: readonly string[]): string =>
    JSON.stringify(list.slice(Math.max(0, at - 2), at + 3))
  assert.fail(
    `${what}: expected ${expected.length} entries, got ${actual.length}; they differ first at ` +
      `position ${at}: expected ${at < expected.length ? JSON.stringify(expected[at]) : 'the end'}, ` +
      `got ${at < actual.length ? JSON.stringify(actual[at]) : 'the end'} ` +
      `(expected ${around(expected)}, got ${around(actual)} from position ${Math.max(0, at - 2)})`,
  )
}

/** The names `buckets()` yields, in order. */
export function bucketNames(store: KVStore): Promise<string[]> {
  return collect(store.buckets())
}

/** The error codes of @kv/core that the suite checks for. */
export type ExpectedCode = 'KV_INVALID_ARGUMENT' | 'KV_NOT_OPEN' | 'KV_CORRUPT_VALUE'

/**
 * Asserts that `action` rejects (or throws) with an error whose `code` is `code`. With
 * `argument`, also that the message names it (and `error.argument`, when present, contains it:
 * `options.limit` names `limit`).
 */
export async function assertRejectsWith(
  action: () => unknown,
  code: ExpectedCode,
  what: string,
  argument?: string,
): Promise<void> {
  let error: unknown
  try {
    await action()
  } catch (caught) {
    error = caught
  }
  assert.ok(error !== undefined, `${what}: expected a rejection with ${code}, but it succeeded`)
  const { code: actual, message } = error as { code?: unknown; message?: unknown }
  assert.equal(
    actual,
    code,
    `${what}: expected code ${code}, got ${String(actual)} (${String(message ?? error)})`,
  )
  if (argument === undefined) return
  assert.ok(
    typeof message === 'string' && message.includes(argument),
    `${what}: the message should name the argument "${argument}": ${String(message)}`,
  )
  const named = (error as { argument?: unknown }).argument
  if (named !== undefined) {
    assert.ok(
      String(named).includes(argument),
      `${what}: error.argument is ${String(named)}, not ${argument}`,
    )
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value !== 'object') return typeof value
  return value.constructor?.name ?? 'an object'
}
