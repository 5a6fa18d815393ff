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
})
