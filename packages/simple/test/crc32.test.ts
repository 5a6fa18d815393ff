/** The CRC-32 of the format: the standard check value, and JavaScript and zlib agreeing. */
import * as zlib from 'node:zlib'
import { expect, test } from 'vitest'
import { crc32, crc32Js } from '../src/crc32.js'
import { rng } from './fixtures/ops.mjs'

test('CRC-32 of "123456789" is the standard check value 0xCBF43926', () => {
  const data = Buffer.from('123456789')
  expect(crc32(data)).toBe(0xcbf43926)
  expect(crc32Js(data)).toBe(0xcbf43926)
})

test('the JavaScript CRC agrees with zlib on every length and alignment', () => {
  const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32
  const random = rng(5)
  const data = Buffer.from(Array.from({ length: 4096 }, () => Math.floor(random() * 256)))
  for (let length = 0; length < 600; length += 7) {
    for (const start of [0, 1, 3, 8]) {
      const expected = native
        ? native(data.subarray(start, start + length))
        : crc32Js(data, start, start + length)
      expect(crc32Js(data, start, start + length)).toBe(expected)
      expect(crc32(data, start, start + length)).toBe(expected)
    }
  }
})
