/**
 * Splitting a byte stream into lines, pulling chunks on demand so that a reader slower than
 * the file never makes the whole file sit in memory.
 *
 * @module
 */
import { constants } from 'node:buffer'
import { ExportFormatError } from './export-format.js'

/** A line without its `\n` (a trailing `\r` is dropped too), and the bytes it took in the input. */
export interface Line {
  text: string
  bytes: number
}

// Strict: a line that is not valid UTF-8 is an error, not text with U+FFFD in place of the bad
// bytes (that would import a bucket "bad\uFFFD" for "bad\xFF"). ignoreBOM: U+FEFF is text like
// any other character; whether a BOM at the start of a file is allowed is the format's rule
// (ExportReader skips one before the header).
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** The longest line {@link readLines} takes by default: the longest string Node.js can hold. */
export const MAX_LINE_BYTES: number = constants.MAX_STRING_LENGTH

/** Options of {@link readLines}. */
export interface ReadLinesOptions {
  /** The longest line, in bytes without its `\n` (default {@link MAX_LINE_BYTES}). */
  maxLineBytes?: number
  /** Says why a line is too long, after "line N: longer than M bytes". */
  why?: string
}

/**
 * The lines of `input`, decoded as UTF-8; a last line without `\n` is still a line. Throws
 * {@link ExportFormatError} naming the line (1-based) when a line is not valid UTF-8, or when it
 * grows longer than `maxLineBytes` — before reading the rest of it, so that a file with an
 * endless line costs no more memory than the longest line allowed.
 */
export async function* readLines(
  input: AsyncIterable<Buffer | string>,
  {
    maxLineBytes = MAX_LINE_BYTES,
    why = 'the longest line this reader takes',
  }: ReadLinesOptions = {},
): AsyncGenerator<Line> {
  let rest: Buffer[] = []
  let restLength = 0
  let number = 0
  const tooLong = (): ExportFormatError =>
    new ExportFormatError(number + 1, `longer than ${maxLineBytes} bytes, ${why}`)
  for await (const raw of input) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw
    let start = 0
    let newline = chunk.indexOf(10)
    while (newline !== -1) {
      if (restLength + newline - start > maxLineBytes) throw tooLong()
      let line = chunk.subarray(start, newline)
      if (restLength > 0) {
        line = Buffer.concat([...rest, line])
        rest = []
        restLength = 0
      }
      yield toLine(line, line.length + 1, ++number)
      start = newline + 1
      newline = chunk.indexOf(10, start)
    }
    if (start < chunk.length) {
      restLength += chunk.length - start
      if (restLength > maxLineBytes) throw tooLong()
      rest.push(chunk.subarray(start))
    }
  }
  if (restLength > 0) {
    const line = Buffer.concat(rest)
    yield toLine(line, line.length, ++number)
  }
}

function toLine(line: Buffer, bytes: number, number: number): Line {
  const end = line.length > 0 && line[line.length - 1] === 13 ? line.length - 1 : line.length
  let text: string
  try {
    text = utf8.decode(line.subarray(0, end))
  } catch (cause) {
    throw new ExportFormatError(number, 'not valid UTF-8 (the format is UTF-8 text)', { cause })
  }
  return { text, bytes }
}
