/**
 * The document stored for one entry, in both id schemes:
 *
 *     { "content": <value, base64url with padding>, "bucket": <bucket>,
 *       "key": <hex of key bytes 0..16000>, "key2": <16000..32000>, … "key5": <64000..65536> }
 *
 * `content` keeps the Go framework's layout (Go's base64.URLEncoding). The key is stored as
 * lowercase hex, whose string order is the keys' byte order; it is split over five keyword fields
 * because Lucene refuses a term over 32766 bytes and a key may be 64 KiB (128 KiB of hex). The
 * fields a short key does not need hold `""`, which sorts first, so sorting by key, key2, …, key5
 * is byte order and every sort value is a string. Documents written by the Go framework hold only
 * `content`.
 *
 * @module
 */
import { CorruptStoreError } from '@kv/core'

/** The keyword fields that hold the key's hex, in sort order. */
export const KEY_FIELDS = ['key', 'key2', 'key3', 'key4', 'key5'] as const
/** Key bytes per key field: 32000 hex characters, under Lucene's 32766-byte term limit. */
export const KEY_BYTES_PER_FIELD = 16_000

/** A stored document's `_source` as this backend reads it. */
export interface StoredSource {
  content?: unknown
  bucket?: unknown
  key?: unknown
  key2?: unknown
  key3?: unknown
  key4?: unknown
  key5?: unknown
}

const bytesView = (bytes: Uint8Array): Buffer =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/** Base64url with `=` padding, as Go's base64.URLEncoding writes it. */
export function encodeContent(value: Uint8Array): string {
  const text = bytesView(value).toString('base64url')
  return text + '='.repeat((4 - (text.length % 4)) % 4)
}

const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/

/** Decodes `content`; a value that is not base64url is a damaged document. */
export function decodeContent(content: unknown, where: () => string): Uint8Array {
  if (
    typeof content !== 'string' ||
    !BASE64URL.test(content) ||
    content.replace(/=+$/, '').length % 4 === 1
  ) {
    throw new CorruptStoreError(
      `${where()} has no valid "content" field (expected the value in base64url); it was not written by kv or the Go framework`,
    )
  }
  return new Uint8Array(Buffer.from(content, 'base64url'))
}

/** The key's hex split over {@link KEY_FIELDS}. */
export function keyFields(key: Uint8Array): Record<(typeof KEY_FIELDS)[number], string> {
  const hex = bytesView(key).toString('hex')
  const size = KEY_BYTES_PER_FIELD * 2
  return {
    key: hex.slice(0, size),
    key2: hex.slice(size, 2 * size),
    key3: hex.slice(2 * size, 3 * size),
    key4: hex.slice(3 * size, 4 * size),
    key5: hex.slice(4 * size),
  }
}

/**
 * The sort values (over {@link KEY_FIELDS}) just below every key that starts with `prefix` (not
 * empty), and above every key below those: `keys()` starts its `search_after` there instead of
 * sending a `prefix` query, which a cluster with `search.allow_expensive_queries: false` refuses.
 *
 * The prefix's hex with its last character decremented and `\x7f` appended, in the key field
 * where the prefix ends (the fields before it hold the prefix's full 32000-character parts, as
 * every key starting with it does). Compared as bytes, a key field holding hex (all below
 * `\x7f`): a key starting with the prefix is greater at that last character; a key at or above
 * the prefix is greater at its first difference; a key below it is smaller at or before that last
 * character, or equal there and then smaller (`\x7f` is above every hex digit). The fields after
 * it never decide the order, since no key holds that value.
 */
export function sortValuesBelow(prefix: Uint8Array): string[] {
  const parts = keyFields(prefix)
  const values: string[] = KEY_FIELDS.map((field) => parts[field])
  let last = values.length - 1
  while (values[last] === '') last--
  const part = values[last]!
  values[last] =
    `${part.slice(0, -1)}${String.fromCharCode(part.charCodeAt(part.length - 1) - 1)}\x7f`
  return values
}

/** The document for (`bucket`, `key`, `value`). */
export function buildSource(
  bucket: string,
  key: Uint8Array,
  value: Uint8Array,
): Record<string, string> {
  return { content: encodeContent(value), bucket, ...keyFields(key) }
}

/** The key bytes from the key fields' values (a hit's sort values or a source's fields). */
export function keyFromHex(parts: readonly unknown[]): Uint8Array {
  return new Uint8Array(
    Buffer.from(parts.map((part) => (typeof part === 'string' ? part : '')).join(''), 'hex'),
  )
}

/** Who a stored document says it belongs to. */
export type Owner = { kind: 'unknown' } | { kind: 'entry'; bucket: string; keyHex: string }

/** Reads the owner of a document: `unknown` for a Go-written one (no bucket, no key). */
export function ownerOf(source: StoredSource): Owner {
  if (source.bucket === undefined && source.key === undefined) return { kind: 'unknown' }
  const keyHex = KEY_FIELDS.map((field) =>
    typeof source[field] === 'string' ? source[field] : '',
  ).join('')
  return { kind: 'entry', bucket: String(source.bucket), keyHex }
}

/** Whether `owner` is (`bucket`, `key`). */
export function isOwner(owner: Owner, bucket: string, key: Uint8Array): boolean {
  return (
    owner.kind === 'entry' &&
    owner.bucket === bucket &&
    owner.keyHex === bytesView(key).toString('hex')
  )
}

/**
 * The bytes of `JSON.stringify(source)` for a document {@link buildSource} made, without building
 * that string (the value may be hundreds of MiB): `content` (base64url) and the key fields (hex)
 * hold only characters JSON writes as they are, one byte each; the bucket is measured.
 */
export function documentBytes(source: Record<string, string>): number {
  let bytes = 2 // {}
  let fields = 0
  for (const [field, value] of Object.entries(source)) {
    const valueBytes =
      field === 'bucket' ? Buffer.byteLength(JSON.stringify(value)) : value.length + 2
    bytes += field.length + 3 + valueBytes // "field":value
    fields++
  }
  return bytes + Math.max(0, fields - 1) // commas
}
