/**
 * The kv export format, version 1: NDJSON (one JSON object per line, `\n`-terminated, UTF-8).
 *
 * - Line 1, the header: `{"format":"kv-export","version":1,"created":ISO-8601,"source":backend}`.
 *   Readers skip a byte order mark before it; a line that is not valid UTF-8 is an error.
 * - Then one line per entry: `{"b":bucket,"k":base64(key),"v":base64(value)}`, base64 being the
 *   standard alphabet with padding. Values are the stored bytes (a value written with
 *   `addValueCompress` is exported as its LZ4 bytes and imports as such).
 * - Last, the trailer: `{"end":true,"entries":N}`. A file without it is truncated.
 *
 * Version rule: readers ignore object keys they do not know, so new optional fields keep version
 * 1; any change an older reader would misread (a new encoding, a new kind of line) bumps the
 * version, and a reader refuses versions newer than its own.
 *
 * @module
 */
import { constants } from 'node:buffer'
import { checkBucket, checkKey, isKVError, Limits } from '@kv/core'
import { fromBase64, toBase64 } from './base64.js'
import { CliError, ExitCode } from './exit-codes.js'

const BOM = '\uFEFF'

/** The `format` value of the header line. */
export const EXPORT_FORMAT = 'kv-export'

/** The version this kv writes and the newest it reads. */
export const EXPORT_VERSION = 1

/** The header line (without its newline). */
export function headerLine(source: string, created = new Date()): string {
  return JSON.stringify({
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    created: created.toISOString(),
    source,
  })
}

// The start of an entry line for the last bucket seen: entries come bucket by bucket, so the
// bucket's JSON is encoded once per bucket rather than once per entry.
let lastBucket: string | undefined
let lastPrefix = ''

/**
 * An entry line (without its newline): `{"b":bucket,"k":base64,"v":base64}`. A line and its
 * newline are one JavaScript string, so an entry whose line would not fit in `maxLine`
 * characters with its newline (the longest string Node.js makes: a value of about 384 MiB)
 * cannot be exported: it throws a {@link CliError} (exit 4) naming the entry, instead of Node's
 * "Invalid string length".
 */
export function entryLine(
  bucket: string,
  key: Uint8Array,
  value: Uint8Array,
  maxLine: number = constants.MAX_STRING_LENGTH,
): string {
  if (bucket !== lastBucket) {
    lastBucket = bucket
    lastPrefix = `{"b":${JSON.stringify(bucket)},"k":"`
  }
  // The prefix, the key, `","v":"` (7), the value, `"}` (2); the writer adds a newline.
  const length = lastPrefix.length + base64Length(key.length) + base64Length(value.length) + 9
  if (length + 1 > maxLine) {
    throw new CliError(
      ExitCode.INVALID_INPUT,
      `cannot export the entry of bucket ${JSON.stringify(bucket)} with the ${key.length}-byte key ${JSON.stringify(toBase64(key))} (base64): its value of ${value.length} bytes makes a line of ${length + 1} characters with its newline, more than the ${maxLine} a JavaScript string holds. Copy such values with \`kv migrate\` or \`kv get\` instead.`,
    )
  }
  // base64 needs no JSON escaping.
  return `${lastPrefix}${toBase64(key)}","v":"${toBase64(value)}"}`
}

/** The trailer line (without its newline). */
export function trailerLine(entries: number): string {
  return JSON.stringify({ end: true, entries })
}

/** Bytes of base64 for `bytes` bytes. */
const base64Length = (bytes: number): number => Math.ceil(bytes / 3) * 4

/**
 * The longest line an import into a store with this value limit reads: an entry line of the
 * largest key and value, a bucket of the most bytes each written as a 6-character JSON escape, and
 * 1 MiB for fields a later writer of version 1 may add. A longer line cannot hold an entry the
 * store takes, so reading it whole would only cost memory.
 */
export function maxEntryLineBytes(maxValueBytes: number): number {
  return (
    base64Length(maxValueBytes) +
    base64Length(Limits.MAX_KEY_BYTES) +
    Limits.MAX_BUCKET_BYTES * 6 +
    1024 * 1024
  )
}

/** A line of an export file that does not follow the format. Exit code 4. */
export class ExportFormatError extends CliError {
  /** The 1-based number of the offending line. */
  readonly line: number

  constructor(line: number, message: string, options?: { cause?: unknown }) {
    super(ExitCode.INVALID_INPUT, `line ${line}: ${message}`, options)
    this.line = line
    this.name = 'ExportFormatError'
  }
}

/** The header of an export file. */
export interface ExportHeader {
  version: number
  created?: string
  source?: string
}

/** One entry of an export file. */
export interface ExportEntry {
  bucket: string
  key: Buffer
  value: Buffer
}

function object(text: string, line: number): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (cause) {
    throw new ExportFormatError(line, `not valid JSON (${(cause as Error).message})`, { cause })
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ExportFormatError(line, 'expected a JSON object')
  }
  return value as Record<string, unknown>
}

/**
 * Reads an export file line by line, checking each: `line()` returns the entry on that line (or
 * `undefined` for the header and trailer) and throws {@link ExportFormatError} for a bad one;
 * `end()` checks that the file was complete.
 */
export class ExportReader {
  #line = 0
  #header: ExportHeader | undefined
  #entries = 0
  #ended = false
  readonly #maxValueBytes: number

  /** `maxValueBytes`: the target store's limit, so an oversized value fails at its line. */
  constructor(maxValueBytes = Number.POSITIVE_INFINITY) {
    this.#maxValueBytes = maxValueBytes
  }

  /** The number of the last line read. */
  get lineNumber(): number {
    return this.#line
  }

  /** The header, once line 1 has been read. */
  get header(): ExportHeader | undefined {
    return this.#header
  }

  /** Checks the next line (without its newline). */
  line(text: string): ExportEntry | undefined {
    const n = ++this.#line
    if (this.#header === undefined) {
      // A byte order mark before the header (some editors start UTF-8 files with one) is skipped,
      // as JSON lets a reader do; anywhere else U+FEFF is a character like any other.
      this.#header = this.#readHeader(n === 1 && text.startsWith(BOM) ? text.slice(1) : text, n)
      return undefined
    }
    if (this.#ended) {
      // Blank lines after the trailer (an editor's extra newline) are harmless.
      if (text.trim() === '') return undefined
      throw new ExportFormatError(n, 'unexpected line after the trailer line')
    }
    if (text === '') throw new ExportFormatError(n, 'empty line')
    const fields = object(text, n)
    if (fields.end !== undefined) {
      this.#readTrailer(fields, n)
      return undefined
    }
    const entry = this.#readEntry(fields, n)
    this.#entries++
    return entry
  }

  /** Checks that the file ended with its trailer; returns the number of entries. */
  end(): number {
    if (this.#header === undefined)
      throw new ExportFormatError(1, 'the file is empty; expected the header line')
    if (!this.#ended) {
      throw new ExportFormatError(
        this.#line + 1,
        'the file ends without its trailer line {"end":true,...}: it is truncated (an interrupted export or copy?)',
      )
    }
    return this.#entries
  }

  #readHeader(text: string, n: number): ExportHeader {
    let fields: Record<string, unknown>
    try {
      fields = object(text, n)
    } catch (error) {
      throw new ExportFormatError(
        n,
        `not a kv export file: the first line must be the header {"format":"${EXPORT_FORMAT}","version":${EXPORT_VERSION},...}`,
        { cause: error },
      )
    }
    if (fields.format !== EXPORT_FORMAT) {
      throw new ExportFormatError(
        n,
        `not a kv export file: the header's "format" must be "${EXPORT_FORMAT}"`,
      )
    }
    const version = fields.version
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
      throw new ExportFormatError(
        n,
        `the header's "version" must be a positive integer, not ${JSON.stringify(version)}`,
      )
    }
    if (version > EXPORT_VERSION) {
      throw new ExportFormatError(
        n,
        `the file is in export format version ${version}, newer than this kv reads (${EXPORT_VERSION}): upgrade @kv/cli`,
      )
    }
    return {
      version,
      ...(typeof fields.created === 'string' ? { created: fields.created } : {}),
      ...(typeof fields.source === 'string' ? { source: fields.source } : {}),
    }
  }

  #readTrailer(fields: Record<string, unknown>, n: number): void {
    if (fields.end !== true)
      throw new ExportFormatError(n, '"end" must be true in the trailer line')
    const entries = fields.entries
    if (typeof entries !== 'number' || !Number.isInteger(entries) || entries < 0) {
      throw new ExportFormatError(n, 'the trailer line needs "entries", a non-negative integer')
    }
    if (entries !== this.#entries) {
      throw new ExportFormatError(
        n,
        `the trailer says ${entries} entries but the file holds ${this.#entries}: the file is damaged`,
      )
    }
    this.#ended = true
  }

  #readEntry(fields: Record<string, unknown>, n: number): ExportEntry {
    const { b, k, v } = fields
    for (const [name, value] of [
      ['b', b],
      ['k', k],
      ['v', v],
    ] as const) {
      if (value === undefined) throw new ExportFormatError(n, `missing field "${name}"`)
      if (typeof value !== 'string')
        throw new ExportFormatError(n, `field "${name}" must be a string`)
    }
    const bucket = b as string
    const key = fromBase64(k as string)
    if (key === undefined) throw new ExportFormatError(n, 'field "k" is not valid base64')
    const value = fromBase64(v as string)
    if (value === undefined) throw new ExportFormatError(n, 'field "v" is not valid base64')
    try {
      checkBucket(bucket)
      checkKey(key)
    } catch (error) {
      if (isKVError(error)) throw new ExportFormatError(n, error.message, { cause: error })
      throw error
    }
    if (value.length > this.#maxValueBytes) {
      throw new ExportFormatError(
        n,
        `the value is ${value.length} bytes, over the target store's limit of ${this.#maxValueBytes} bytes`,
      )
    }
    return { bucket, key, value }
  }
}
