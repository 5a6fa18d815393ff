/**
 * Byte helpers shared by core and the backends: the one place where strings become bytes.
 *
 * @module
 */

/** What the API accepts for a key or a value: bytes, or a string encoded as UTF-8. */
export type BytesLike = Uint8Array | string

const encoder = new TextEncoder()
// ignoreBOM: a leading U+FEFF is part of the text (a bucket or key may begin with it), not a mark
// to drop.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Longest string {@link asciiBytes} tries; past it `TextEncoder` wins anyway. */
const ASCII_FAST_PATH = 64

/**
 * The bytes of a short all-ASCII string, or `undefined` when it is longer than 64 characters
 * or holds a character ≥ 0x80. For the 16-character keys typical of stores this loop is 5–7
 * times faster than `TextEncoder`, whose call overhead dominates at that size.
 */
export function asciiBytes(text: string): Uint8Array | undefined {
  if (text.length > ASCII_FAST_PATH) return undefined
  const out = new Uint8Array(text.length)
  return writeAscii(text, out) ? out : undefined
}

/**
 * The `Symbol.toStringTag` getter of typed arrays: it reads the array's own kind, in any realm,
 * and a property of the object cannot change what it answers.
 */
const typedArrayKind = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  Symbol.toStringTag,
)!.get!

/**
 * `value` as a `Uint8Array` of this realm when it is a `Uint8Array` (a `Buffer` included) of any
 * realm — the same bytes, not a copy; undefined for anything else. A `vm` context, as Jest and
 * other test runners make, has a `Uint8Array` of its own, which `instanceof` does not recognise.
 * One whose buffer is detached is empty, as a detached `Uint8Array` of this realm is.
 */
export function uint8ArrayOf(value: unknown): Uint8Array | undefined {
  if (value instanceof Uint8Array) return value
  if (!ArrayBuffer.isView(value) || typedArrayKind.call(value) !== 'Uint8Array') return undefined
  // A SharedArrayBuffer has no `detached` (it cannot be detached).
  const buffer = (value as Uint8Array).buffer as ArrayBuffer
  return buffer.detached
    ? new Uint8Array(0)
    : new Uint8Array(buffer, value.byteOffset, value.byteLength)
}

/**
 * Writes the characters of `text` into `out` (which has exactly `text.length` bytes) as ASCII.
 * Returns false, with `out` partly written, when a character is ≥ 0x80.
 */
export function writeAscii(text: string, out: Uint8Array): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    if (unit >= 0x80) return false
    out[i] = unit
  }
  return true
}

/** UTF-8 encoding of a well-formed string. */
export function utf8(text: string): Uint8Array {
  return asciiBytes(text) ?? encoder.encode(text)
}

/** Decodes UTF-8 strictly: invalid bytes throw a `TypeError` instead of becoming U+FFFD. */
export function fromUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes)
}

/**
 * Number of bytes `text` takes in UTF-8, without allocating.
 * Lone surrogates count as 3 bytes, as `TextEncoder` would write U+FFFD for them.
 */
export function utf8Length(text: string): number {
  let length = text.length
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    if (unit < 0x80) continue
    if (unit < 0x800) length += 1
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        // A surrogate pair: two UTF-16 units, four UTF-8 bytes.
        length += 2
        i++
        continue
      }
      length += 2
    } else length += 2
  }
  return length
}

/**
 * `bytes` as a latin1 string, one character per byte: a Map key for bytes, whose string order is
 * their byte order.
 */
export function latin1Id(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1')
}

/** Lexicographic comparison of two byte strings, as LevelDB and `keys()` order them. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!
    if (d !== 0) return d
  }
  return a.length - b.length
}

/** True when `a` and `b` hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** True when `bytes` begins with `prefix`. */
export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > bytes.length) return false
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false
  return true
}

/**
 * The smallest byte string greater than every string that starts with `prefix`, or `undefined`
 * when there is none (the prefix is empty or all 0xFF). Used for exclusive range ends.
 */
export function prefixSuccessor(prefix: Uint8Array): Uint8Array | undefined {
  let end = prefix.length
  while (end > 0 && prefix[end - 1] === 0xff) end--
  if (end === 0) return undefined
  const next = new Uint8Array(prefix.subarray(0, end)) // a copy: slice() of a Buffer is a view
  next[end - 1]! += 1
  return next
}

/**
 * A copy of `bytes` that owns its memory, as a plain `Uint8Array`. Not `bytes.slice()`: on a
 * Node.js `Buffer`, which callers pass and engines return, `slice()` is a view of the same memory.
 */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes)
}
