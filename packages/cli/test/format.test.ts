/**
 * The export format reader and the line splitter, in-process.
 */
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { CliError } from '../src/exit-codes.js'
import {
  ExportFormatError,
  ExportReader,
  entryLine,
  headerLine,
  trailerLine,
} from '../src/export-format.js'
import { readLines } from '../src/lines.js'

const bytes = (...values: number[]) => Buffer.from(values)

describe('ExportReader', () => {
  it('reads what the writer writes, byte for byte', () => {
    const reader = new ExportReader()
    const key = bytes(0, 0xff, 10, 13)
    const value = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
    expect(reader.line(headerLine('badger'))).toBeUndefined()
    expect(reader.header).toMatchObject({ version: 1, source: 'badger' })
    const entry = reader.line(entryLine('b\n"', key, value))!
    expect(entry.bucket).toBe('b\n"')
    expect(entry.key.equals(key)).toBe(true)
    expect(entry.value.equals(value)).toBe(true)
    expect(reader.line(entryLine('b', bytes(1), bytes()))!.value.length).toBe(0)
    expect(reader.line(trailerLine(2))).toBeUndefined()
    expect(reader.end()).toBe(2)
  })

  it('ignores fields it does not know (the version rule)', () => {
    const reader = new ExportReader()
    reader.line(JSON.stringify({ format: 'kv-export', version: 1, future: { x: 1 } }))
    expect(reader.line(JSON.stringify({ b: 'b', k: 'AA==', v: '', ttl: 5 }))).toBeDefined()
    reader.line(JSON.stringify({ end: true, entries: 1, checksum: 'later' }))
    expect(reader.end()).toBe(1)
  })

  it('throws ExportFormatError with the line number for each kind of bad line', () => {
    const bad = (line: string, message: RegExp) => {
      const reader = new ExportReader(8)
      reader.line(headerLine('x'))
      reader.line(entryLine('b', bytes(1), bytes(2)))
      try {
        reader.line(line)
        expect.unreachable()
      } catch (error) {
        expect(error).toBeInstanceOf(ExportFormatError)
        expect((error as ExportFormatError).line).toBe(3)
        expect((error as ExportFormatError).exitCode).toBe(4)
        expect((error as Error).message).toMatch(message)
      }
    }
    bad('{', /^line 3: not valid JSON/)
    bad('"text"', /expected a JSON object/)
    bad(JSON.stringify({ k: 'AA==', v: 'AA==' }), /missing field "b"/)
    bad(JSON.stringify({ b: 'b', k: 'AA=', v: 'AA==' }), /"k" is not valid base64/)
    bad(JSON.stringify({ b: 'b', k: 'AA==', v: 'A A=' }), /"v" is not valid base64/)
    bad(JSON.stringify({ b: 'b', k: 'AA==', v: 'AA-_' }), /"v" is not valid base64/)
    bad(JSON.stringify({ b: 'x'.repeat(256), k: 'AA==', v: 'AA==' }), /bucket/)
    bad(
      JSON.stringify({ b: 'b', k: 'AA==', v: Buffer.alloc(9).toString('base64') }),
      /9 bytes, over the target store's limit of 8/,
    )
    bad(JSON.stringify({ end: false, entries: 1 }), /"end" must be true/)
    bad(JSON.stringify({ end: true }), /needs "entries"/)
    bad(JSON.stringify({ end: true, entries: 2 }), /says 2 entries but the file holds 1/)
  })

  it('checks the header: format, version, newer versions', () => {
    const first = (line: string) => () => new ExportReader().line(line)
    expect(first('')).toThrow(/line 1: not a kv export file/)
    expect(first(JSON.stringify({ format: 'other', version: 1 }))).toThrow(
      /"format" must be "kv-export"/,
    )
    expect(first(JSON.stringify({ format: 'kv-export', version: '1' }))).toThrow(
      /"version" must be a positive integer/,
    )
    expect(first(JSON.stringify({ format: 'kv-export', version: 3 }))).toThrow(
      /version 3, newer than this kv reads \(1\)/,
    )
  })

  it('skips a byte order mark before the header, and only there', () => {
    const reader = new ExportReader()
    expect(reader.line(`\uFEFF${headerLine('x')}`)).toBeUndefined()
    expect(reader.header).toMatchObject({ version: 1, source: 'x' })
    // Inside a bucket name U+FEFF is a character like any other.
    expect(reader.line(entryLine('\uFEFFb', bytes(1), bytes(2)))!.bucket).toBe('\uFEFFb')
    // At the start of any other line it is not JSON.
    expect(() => reader.line(`\uFEFF${trailerLine(1)}`)).toThrow(/^line 3: not valid JSON/)
  })

  it('reports an empty or truncated file at end()', () => {
    expect(() => new ExportReader().end()).toThrow(/line 1: the file is empty/)
    const reader = new ExportReader()
    reader.line(headerLine('x'))
    reader.line(entryLine('b', bytes(1), bytes(2)))
    expect(() => reader.end()).toThrow(/line 3: the file ends without its trailer line/)
  })
})

describe('readLines', () => {
  const lines = async (chunks: (string | Buffer)[]) => {
    const out: [string, number][] = []
    for await (const { text, bytes: n } of readLines(Readable.from(chunks))) out.push([text, n])
    return out
  }

  it('splits across chunk boundaries and counts the bytes of each line', async () => {
    expect(await lines(['ab', 'c\nd', 'e\n\nf'])).toEqual([
      ['abc', 4],
      ['de', 3],
      ['', 1],
      ['f', 1],
    ])
  })

  it('drops \\r before \\n and keeps multi-byte characters split across chunks', async () => {
    const euro = Buffer.from('€\r\n')
    expect(await lines([euro.subarray(0, 1), euro.subarray(1)])).toEqual([['€', 5]])
  })

  it('throws ExportFormatError naming the line when a line is not valid UTF-8', async () => {
    // The bad byte sits in the second line, which is split across chunks.
    const input = [Buffer.from('{"a":1}\n{"b":"ba'), Buffer.from([0xff]), Buffer.from('"}\n{}\n')]
    const error = await lines(input).then(
      () => undefined,
      (thrown: unknown) => thrown,
    )
    expect(error).toBeInstanceOf(ExportFormatError)
    expect((error as ExportFormatError).line).toBe(2)
    expect((error as ExportFormatError).exitCode).toBe(4)
    expect((error as Error).message).toMatch(/^line 2: not valid UTF-8/)
    // A multi-byte character cut short at the end of the input is not UTF-8 either.
    await expect(lines(['ok\n', Buffer.from('€').subarray(0, 2)])).rejects.toThrow(
      /^line 2: not valid UTF-8/,
    )
  })

  it('keeps U+FEFF wherever it is, as text', async () => {
    expect(await lines([Buffer.from('\uFEFFa\n\uFEFFb')])).toEqual([
      ['\uFEFFa', 5],
      ['\uFEFFb', 4],
    ])
  })

  it('refuses a line longer than maxLineBytes as soon as it is that long, reading no further', async () => {
    let pulled = 0
    // 4 MiB in 1 KiB chunks and no newline after the first line: read whole, it would all be held.
    async function* endless() {
      yield Buffer.from('{"a":1}\n')
      for (let i = 0; i < 4096; i++) {
        pulled++
        yield Buffer.alloc(1024, 0x41)
      }
    }
    const error = await (async () => {
      for await (const _ of readLines(endless(), { maxLineBytes: 10_000 })) {
        // draining
      }
    })().then(
      () => undefined,
      (thrown: unknown) => thrown,
    )
    expect(error).toBeInstanceOf(ExportFormatError)
    expect((error as ExportFormatError).line).toBe(2)
    expect((error as Error).message).toMatch(/^line 2: longer than 10000 bytes/)
    expect(pulled).toBe(10) // the chunk that took it past 10,000 bytes, and none after
    // A line of exactly the limit is a line; the limit counts neither \n nor the line before.
    const exact = `${'x'.repeat(10)}\r\n`
    const read: string[] = []
    for await (const { text } of readLines(Readable.from([exact, exact]), { maxLineBytes: 11 }))
      read.push(text)
    expect(read).toEqual(['x'.repeat(10), 'x'.repeat(10)])
  })

  it('yields nothing for empty input', async () => {
    expect(await lines([])).toEqual([])
  })
})

describe('entryLine', () => {
  it('refuses an entry whose line and newline would not fit in a string (exit 4, naming it), at exactly that length', () => {
    const key = new TextEncoder().encode('big')
    const value = new Uint8Array(100).fill(7)
    const line = entryLine('bucket', key, value)
    expect(JSON.parse(line)).toEqual({
      b: 'bucket',
      k: 'Ymln',
      v: Buffer.from(value).toString('base64'),
    })
    // The bound is exact: the line and its newline must fit; one character less does not do.
    expect(entryLine('bucket', key, value, line.length + 1)).toBe(line)
    let error: unknown
    try {
      entryLine('bucket', key, value, line.length)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(CliError)
    expect((error as CliError).exitCode).toBe(4)
    expect((error as Error).message).toContain(
      `cannot export the entry of bucket "bucket" with the 3-byte key "Ymln" (base64): its value of 100 bytes makes a line of ${line.length + 1} characters with its newline, more than the ${line.length} a JavaScript string holds.`,
    )
  })
})
