/**
 * Input validation for every public operation (SPEC §3, rule 7). Backends never re-check: the
 * public methods of {@link AbstractKVStore} call these before any backend code runs, so a
 * rejected call writes nothing.
 *
 * @module
 */
import { asciiBytes, type BytesLike, copyBytes, uint8ArrayOf, utf8, utf8Length } from './bytes.js'
import { isPlainMapping } from './config/source.js'
import { InvalidArgumentError } from './errors.js'

/** The limits of SPEC §3.7 that hold for every backend. */
export const Limits = {
  /** A bucket name is at most this many bytes of UTF-8. */
  MAX_BUCKET_BYTES: 255,
  /** A key is at most this many bytes (64 KiB). */
  MAX_KEY_BYTES: 64 * 1024,
} as const

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (value instanceof ArrayBuffer) return 'an ArrayBuffer (wrap it in a Uint8Array)'
  if (value instanceof Uint8Array) return article(typeName(value, 'Uint8Array'))
  if (ArrayBuffer.isView(value))
    return `${article(typeName(value, 'typed array'))} (pass a Uint8Array)`
  if (typeof value !== 'object') return typeof value
  const name = typeName(value, '')
  return name !== '' && name !== 'Object' ? `an object (${name})` : 'an object'
}

/** `name` after its article: `a Uint8Array`, `an Int16Array`. */
function article(name: string): string {
  return `${/^([AEIO]|[aeiou])/.test(name) ? 'an' : 'a'} ${name}`
}

/** The name of `value`'s constructor, or `fallback` when it has none (a null prototype, no name). */
function typeName(value: object, fallback: string): string {
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name
  return typeof name === 'string' && name !== '' ? name : fallback
}

/**
 * A value as a message shows it: numbers as they are, strings quoted (so that "3" does not read
 * as 3), objects described. Exported for backends that check options of their own, so that their
 * messages show a bad value as core's do.
 */
export function shown(value: unknown): string {
  if (typeof value === 'number') return String(value)
  if (typeof value === 'string') return `${JSON.stringify(value)} (a string)`
  if (typeof value === 'bigint') return `${value}n (a bigint)`
  if (typeof value === 'object' || typeof value === 'function') return describe(value)
  return `${String(value)} (${article(typeof value)})`
}

/** Checks a bucket name and returns it unchanged. */
export function checkBucket(bucket: unknown, argument = 'bucket'): string {
  if (typeof bucket !== 'string') {
    throw new InvalidArgumentError(
      argument,
      `${argument} must be a non-empty string, got ${describe(bucket)}`,
    )
  }
  if (bucket.length === 0) {
    throw new InvalidArgumentError(argument, `${argument} must be a non-empty string, got ""`)
  }
  // 85 UTF-16 units take at most 255 bytes, so short names skip the byte count.
  if (bucket.length > 85 && utf8Length(bucket) > Limits.MAX_BUCKET_BYTES) {
    throw new InvalidArgumentError(
      argument,
      `${argument} must be at most ${Limits.MAX_BUCKET_BYTES} bytes of UTF-8, got ${utf8Length(bucket)}`,
    )
  }
  if (!bucket.isWellFormed()) {
    // A lone surrogate would be written as U+FFFD, so two different names would share a bucket.
    throw new InvalidArgumentError(
      argument,
      `${argument} must be well-formed Unicode (it contains a lone surrogate)`,
    )
  }
  return bucket
}

/** Converts a key or value argument to bytes, rejecting anything that is neither bytes nor a string. */
export function toBytes(input: unknown, argument: string): Uint8Array {
  if (input instanceof Uint8Array) return input
  const bytes = uint8ArrayOf(input)
  if (bytes !== undefined) return bytes
  if (typeof input === 'string') {
    // An ASCII string is well-formed, so the common case needs no second scan.
    const ascii = asciiBytes(input)
    if (ascii !== undefined) return ascii
    if (!input.isWellFormed()) {
      throw new InvalidArgumentError(
        argument,
        `${argument} is a string with a lone surrogate, which has no UTF-8 encoding; pass bytes instead`,
      )
    }
    return utf8(input)
  }
  throw new InvalidArgumentError(
    argument,
    `${argument} must be a Uint8Array or a string, got ${describe(input)}`,
  )
}

/** Checks a key and returns its bytes. */
export function checkKey(key: unknown, argument = 'key'): Uint8Array {
  const bytes = toBytes(key, argument)
  if (bytes.length > Limits.MAX_KEY_BYTES) {
    throw new InvalidArgumentError(
      argument,
      `${argument} must be at most ${Limits.MAX_KEY_BYTES} bytes (64 KiB), got ${bytes.length}`,
    )
  }
  return bytes
}

/** Checks a value against the backend's limit and returns its bytes. */
export function checkValue(value: unknown, maxBytes: number, argument = 'value'): Uint8Array {
  const bytes = toBytes(value, argument)
  checkValueSize(bytes.length, maxBytes, argument)
  return bytes
}

/** Throws when `length` exceeds the backend's value limit. */
export function checkValueSize(length: number, maxBytes: number, argument = 'value'): void {
  if (length > maxBytes) {
    throw new InvalidArgumentError(
      argument,
      `${argument} is ${length} bytes, over this backend's limit of ${maxBytes} bytes`,
    )
  }
}

/** A checked `[key, value]` pair of `addValues`. */
export type Entry = readonly [key: Uint8Array, value: Uint8Array]

/** Throws, naming the pair, when a value of checked `entries` exceeds the limit. */
export function checkEntrySizes(entries: readonly Entry[], maxValueBytes: number): void {
  for (let i = 0; i < entries.length; i++) {
    checkValueSize(entries[i]![1].length, maxValueBytes, `entries[${i}].value`)
  }
}

/**
 * Checks the pairs of `addValues` and returns their bytes, in order. The whole iterable is read
 * and checked before the caller writes anything; an error names the pair (`entries[3].value`).
 */
export function checkEntries(entries: unknown, maxValueBytes: number): Entry[] {
  if (
    typeof entries !== 'object' ||
    entries === null ||
    typeof (entries as Iterable<unknown>)[Symbol.iterator] !== 'function'
  ) {
    const async =
      typeof entries === 'object' &&
      entries !== null &&
      typeof (entries as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
    throw new InvalidArgumentError(
      'entries',
      async
        ? 'entries must be an iterable of [key, value] pairs (an array, a Map), got an async iterable: collect it first (await Array.fromAsync(entries)), or write its pairs in batches'
        : `entries must be an iterable of [key, value] pairs (an array, a Map), got ${describe(entries)}`,
    )
  }
  const checked: Entry[] = []
  for (const pair of entries as Iterable<unknown>) {
    const at = `entries[${checked.length}]`
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new InvalidArgumentError(
        at,
        `${at} must be a [key, value] pair (an array of two), got ${Array.isArray(pair) ? `an array of ${pair.length}` : describe(pair)}`,
      )
    }
    checked.push([
      checkKey(pair[0], `${at}.key`),
      checkValue(pair[1], maxValueBytes, `${at}.value`),
    ])
  }
  return checked
}

/** Options of `keys()`. */
export interface KeysOptions {
  /** Only keys that start with these bytes (a string is UTF-8). */
  prefix?: BytesLike | undefined
  /**
   * At most this many keys: a non-negative integer, or `Infinity` for no limit (the default; as
   * in abstract-level).
   */
  limit?: number | undefined
}

/** `keys()` options after validation. */
export interface NormalizedKeysOptions {
  prefix: Uint8Array | undefined
  /** `Infinity` when no limit was given. */
  limit: number
}

/**
 * The options of `keys()` with a `Uint8Array` prefix replaced by a copy, anything else as given
 * (they are checked later, at the first `next()`): the caller may reuse its prefix buffer as soon
 * as `keys()` returns.
 */
export function keepPrefix<T>(options: T): T {
  if (typeof options !== 'object' || options === null) return options
  const { prefix } = options as KeysOptions
  const bytes = uint8ArrayOf(prefix)
  return bytes !== undefined ? { ...options, prefix: copyBytes(bytes) } : options
}

/**
 * Checks the options of `keys()`. The prefix returned is a copy, which a backend may read across
 * awaits (the public `keys()` copies the caller's buffer earlier still, when it is called).
 */
export function checkKeysOptions(options: unknown): NormalizedKeysOptions {
  if (options === undefined || options === null)
    return { prefix: undefined, limit: Number.POSITIVE_INFINITY }
  // A Map or an array has no `prefix` or `limit` property: taken as an object, its entries would
  // be ignored without a word.
  if (!isPlainMapping(options)) {
    throw new InvalidArgumentError(
      'options',
      `options must be a plain object such as { prefix, limit }, got ${describe(options)}`,
    )
  }
  const { prefix, limit } = options as KeysOptions
  for (const name of Object.keys(options)) {
    if (name !== 'prefix' && name !== 'limit') {
      throw new InvalidArgumentError(
        'options',
        `options.${name} is not an option of keys(); use prefix or limit`,
      )
    }
  }
  if (
    limit !== undefined &&
    (typeof limit !== 'number' ||
      !(Number.isInteger(limit) || limit === Number.POSITIVE_INFINITY) ||
      limit < 0)
  ) {
    throw new InvalidArgumentError(
      'options.limit',
      `options.limit must be a non-negative integer (or Infinity for no limit), got ${shown(limit)}`,
    )
  }
  return {
    prefix: prefix === undefined ? undefined : copyBytes(checkKey(prefix, 'options.prefix')),
    limit: limit ?? Number.POSITIVE_INFINITY,
  }
}
