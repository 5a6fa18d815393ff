/**
 * Splitting a byte stream into lines, pulling chunks on demand so that a reader slower than
 * the file never makes the whole file sit in memory.
 *
 * @module
 */

/** A line without its `\n` (a trailing `\r` is dropped too), and the bytes it took in the input. */
export interface Line {
  text: string
  bytes: number
}

/** The lines of `input`; a last line without `\n` is still a line. */
export async function* readLines(input: AsyncIterable<Buffer | string>): AsyncGenerator<Line> {
  let rest: Buffer[] = []
  let restLength = 0
  for await (const raw of input) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw
    let start = 0
    let newline = chunk.indexOf(10)
    while (newline !== -1) {
      let line = chunk.subarray(start, newline)
      if (restLength > 0) {
        line = Buffer.concat([...rest, line])
        rest = []
        restLength = 0
      }
      yield toLine(line, line.length + 1)
      start = newline + 1
      newline = chunk.indexOf(10, start)
    }
    if (start < chunk.length) {
      rest.push(chunk.subarray(start))
      restLength += chunk.length - start
    }
  }
  if (restLength > 0) {
    const line = Buffer.concat(rest)
    yield toLine(line, line.length)
  }
}

function toLine(line: Buffer, bytes: number): Line {
  const end = line.length > 0 && line[line.length - 1] === 13 ? line.length - 1 : line.length
  return { text: line.toString('utf8', 0, end), bytes }
}
