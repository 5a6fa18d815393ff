/**
 * Where `kv put` takes its value from: the VALUE argument (UTF-8 text), a file (`--file PATH`)
 * or stdin (VALUE `-`). Exactly one of them.
 *
 * @module
 */
import { createReadStream, fstatSync } from 'node:fs'
import { InvalidArgumentError, isKVError } from '@kv/core'
import { CliError, ExitCode } from './exit-codes.js'
import { checkPath, parseValueText } from './keys.js'

/** Where the value comes from, chosen before anything is read (usage errors first). */
export type ValueSource =
  | { kind: 'argument'; value: Uint8Array }
  | { kind: 'file'; path: string }
  | { kind: 'stdin' }

/** The source of the value of `kv put`: exactly one of the argument, `--file` and stdin. */
export function valueSource(argument: string | undefined, file: string | undefined): ValueSource {
  if (argument !== undefined && file !== undefined) {
    throw new CliError(ExitCode.USAGE, 'give the value either as VALUE or with --file, not both')
  }
  if (file !== undefined) return { kind: 'file', path: checkPath(file, '--file') }
  if (argument === undefined) {
    throw new CliError(
      ExitCode.USAGE,
      'missing VALUE: give it as an argument, as - to read stdin, or with --file PATH',
    )
  }
  return argument === '-'
    ? { kind: 'stdin' }
    : { kind: 'argument', value: parseValueText(argument) }
}

/**
 * Reads `input` whole, unless it is longer than `maxBytes`: then it stops reading as soon as it
 * is (an endless `yes |` or `/dev/zero` must not fill the memory) and throws `KV_INVALID_ARGUMENT`
 * (exit 4), as the store would for the whole value.
 */
async function readAtMost(
  input: AsyncIterable<Buffer> & { destroy(): void },
  maxBytes: number,
  from: string,
): Promise<Buffer> {
  const chunks: Buffer[] = []
  let length = 0
  for await (const chunk of input) {
    length += chunk.length
    if (length > maxBytes) {
      // Leaving the loop early destroys the stream; stdin too, so nothing keeps kv waiting.
      input.destroy()
      throw new InvalidArgumentError(
        'value',
        `value from ${from} is over this backend's limit of ${maxBytes} bytes (kv stopped reading it after ${length} bytes)`,
      )
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks, length)
}

/**
 * The bytes of the value from `source`, at most `maxBytes` (the store's value limit; for
 * `--compressed` the raw value must fit it too).
 */
export async function readValue(source: ValueSource, maxBytes: number): Promise<Uint8Array> {
  switch (source.kind) {
    case 'argument':
      return source.value
    case 'stdin':
      // Node.js reads a directory on stdin (`kv put b k - < dir`) as an empty stream, which
      // would store an empty value: refused as `--file dir` is.
      if (stdinIsDirectory()) {
        throw new CliError(
          ExitCode.INVALID_INPUT,
          'cannot read the value from stdin: EISDIR: it is a directory',
        )
      }
      try {
        return await readAtMost(process.stdin, maxBytes, 'stdin')
      } catch (cause) {
        throw unreadable(cause, 'from stdin')
      }
    case 'file':
      try {
        return await readAtMost(createReadStream(source.path), maxBytes, source.path)
      } catch (cause) {
        throw unreadable(cause, `file ${source.path}`)
      }
  }
}

/** A failure to read the value: the limit's refusal as it is, anything else exit 4 naming `what`. */
function unreadable(cause: unknown, what: string): unknown {
  if (isKVError(cause, 'KV_INVALID_ARGUMENT')) return cause
  return new CliError(
    ExitCode.INVALID_INPUT,
    `cannot read the value ${what}: ${(cause as Error).message}`,
    { cause },
  )
}

function stdinIsDirectory(): boolean {
  try {
    return fstatSync(0).isDirectory()
  } catch {
    // No stdin to stat (closed): reading it says what is wrong.
    return false
  }
}
