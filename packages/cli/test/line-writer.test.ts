/**
 * LineWriter coalesces small texts into chunks, and hands a text as large as a chunk to the
 * stream on its own: joined with what waits, an export line near the longest string Node.js
 * makes would pass it.
 */
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { LineWriter } from '../src/output.js'

function recorder(): { stream: Writable; chunks: string[] } {
  const chunks: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString())
      callback()
    },
  })
  return { stream, chunks }
}

describe('LineWriter', () => {
  it('joins small texts into one chunk, and writes a text of a chunk or more on its own, after what waited', async () => {
    const { stream, chunks } = recorder()
    const writer = new LineWriter(stream, 16)
    await writer.write('a\n')
    await writer.write('b\n')
    expect(chunks).toEqual([])
    const big = `${'x'.repeat(20)}\n`
    await writer.write(big)
    expect(chunks).toEqual(['a\nb\n', big])
    await writer.write('c\n')
    await writer.flush()
    expect(chunks).toEqual(['a\nb\n', big, 'c\n'])
  })

  it('keeps the order of the calls when they are not awaited, a large text among them', async () => {
    const { stream, chunks } = recorder()
    const writer = new LineWriter(stream, 16)
    const big = `${'x'.repeat(20)}\n`
    const b = `${'b'.repeat(9)}\n`
    const c = `${'c'.repeat(9)}\n`
    // b and c together fill a chunk: the write of c flushes them while the large text is on its way.
    const writes = [writer.write('a\n'), writer.write(big), writer.write(b), writer.write(c)]
    await Promise.all(writes)
    await writer.flush()
    expect(chunks.join('')).toBe(`a\n${big}${b}${c}`)
  })
})
