/**
 * How keys are written on the command line and printed: UTF-8 text by default, or hex or base64
 * for binary keys (`--key-encoding`).
 *
 * @module
 */
import { checkBucket, InvalidArgumentError } from '@kv/core'
import { fromBase64, toBase64 } from './base64.js'

/** The encodings `--key-encoding` accepts. */
export const KEY_ENCODINGS = ['utf8', 'hex', 'base64'] as const

/** One of {@link KEY_ENCODINGS}. */
export type KeyEncoding = (typeof KEY_ENCODINGS)[number]

const HEX = /^(?:[0-9a-fA-F]{2})*$/

/**
 * Node.js decodes the command line as UTF-8 and turns every byte sequence that is not valid
 * UTF-8 into U+FFFD, so `kv del raw $'\xff'` would act on the key `ef bf bd` rather than `ff`.
 * The argument as given is lost by then: a U+FFFD in it may be one the user typed or one made
 * from an invalid byte, so any is refused (KV_INVALID_ARGUMENT, exit 4) rather than guessed.
 */
function refuseReplacementCharacter(
  text: string,
  what: string,
  instead: string,
  where = 'on the command line',
): void {
  if (!text.includes('\uFFFD')) return
  throw new InvalidArgumentError(
    what,
    `${what} ${JSON.stringify(text)} is not valid UTF-8 (or holds U+FFFD, which kv cannot tell apart from an invalid byte ${where}); ${instead}`,
  )
}

const KEY_INSTEAD = 'give it in hex or base64 with -k hex or -k base64'

/** The bytes of a key (or prefix) given on the command line in `encoding`. */
export function parseKey(text: string, encoding: KeyEncoding, what = 'KEY'): Uint8Array {
  if (encoding === 'utf8') {
    refuseReplacementCharacter(text, what, KEY_INSTEAD)
    return Buffer.from(text, 'utf8')
  }
  const bytes =
    encoding === 'hex' ? (HEX.test(text) ? Buffer.from(text, 'hex') : undefined) : fromBase64(text)
  if (bytes === undefined) {
    throw new InvalidArgumentError(what, `${what} "${text}" is not valid ${encoding}`)
  }
  return bytes
}

/**
 * A bucket name given on the command line (BUCKET, `export --bucket`), checked as @kv/core
 * checks it and refused when it holds U+FFFD (see {@link refuseReplacementCharacter}): bucket
 * names are UTF-8 text, with no other encoding to give one in.
 */
export function parseBucket(text: string, what = 'bucket'): string {
  refuseReplacementCharacter(
    text,
    what,
    'bucket names are UTF-8 text, and one holding U+FFFD cannot be named on the command line (kv export without --bucket exports it)',
  )
  return checkBucket(text, what)
}

/** The VALUE argument of `kv put` as bytes, refused when it holds U+FFFD (see {@link refuseReplacementCharacter}). */
export function parseValueText(text: string): Uint8Array {
  refuseReplacementCharacter(text, 'VALUE', 'give the value with - (stdin) or --file PATH')
  return Buffer.from(text, 'utf8')
}

const PATH_INSTEAD =
  'Node.js cannot pass bytes that are not valid UTF-8 through to the file system (it turns each into U+FFFD, which names another file): rename the file (or the directory with such bytes in its name) to a UTF-8 name, or give a path without such bytes'

/**
 * A file path given on the command line (export and import FILE, `put --file`, `--config`,
 * `migrate --from-config`/`--to-config`) or in `KV_CONFIG` (`where`: `in the environment`),
 * refused when it holds U+FFFD (see {@link refuseReplacementCharacter}): Node.js hands kv the
 * path with U+FFFD for each invalid byte, so `kv export $'out\xff.ndjson'` wrote
 * `out\xef\xbf\xbd.ndjson`, and there is no other encoding to give a path in. Checked before
 * anything is opened, read or created.
 */
export function checkPath(text: string, what: string, where?: string): string {
  refuseReplacementCharacter(text, what, PATH_INSTEAD, where)
  return text
}

/** A key printed in `encoding` (UTF-8 text prints invalid sequences as U+FFFD). */
export function formatKey(key: Uint8Array, encoding: KeyEncoding): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString(encoding)
}

// ignoreBOM: a key that starts with U+FEFF keeps it (by default TextDecoder drops a leading BOM,
// so `keyText` would name another key).
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** The key as JSON: always base64 (`key`), plus `keyText` when it is valid UTF-8. */
export function keyJson(key: Uint8Array): { key: string; keyText?: string } {
  const json: { key: string; keyText?: string } = { key: toBase64(key) }
  try {
    json.keyText = strictUtf8.decode(key)
  } catch {
    // Not UTF-8: base64 only.
  }
  return json
}

/**
 * A key for a message: as a JSON string of its text when it is valid UTF-8, else its base64 in
 * quotes followed by `(base64)` (as `kv ls -k base64` prints it), so that a binary key is named
 * exactly rather than with replacement characters.
 */
export function describeKey(key: Uint8Array): string {
  const { key: base64, keyText } = keyJson(key)
  return keyText === undefined ? `"${base64}" (base64)` : JSON.stringify(keyText)
}
