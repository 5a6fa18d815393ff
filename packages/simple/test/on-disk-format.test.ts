/**
 * The on-disk format is the README's contract (*On-disk format (version 2)*): files the store
 * writes are compared byte for byte with buffers built here from the README's tables. Nothing
 * of the package's own encoding is used to build them: the header CRC is zlib's, and the WAL
 * checksum comes from the xxHash32 below, written from the specification and checked against
 * its published values. (Round trips through the package's writer and reader cannot catch a
 * change made to both sides at once.)
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { openStore, removeDir, tempDir } from './helpers.js'

/** No automatic snapshots, no preallocated zeros (`sync_writes` off): the files hold exactly what the test wrote. */
const MANUAL = { snapshot_wal_bytes: 0, snapshot_interval_seconds: 0, sync_writes: false }

let dir: string
beforeEach(async () => {
  dir = await tempDir('simple-kv-format-bytes')
})
afterEach(async () => {
  await removeDir(dir)
})

/**
 * xxHash32 as its specification states it
 * (https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md), in BigInt arithmetic
 * modulo 2^32: slow and plain, and sharing nothing with the package's implementation.
 */
function referenceXxh32(data: Uint8Array, seed = 0n): number {
  const [P1, P2, P3, P4, P5] = [0x9e3779b1n, 0x85ebca77n, 0xc2b2ae3dn, 0x27d4eb2fn, 0x165667b1n]
  const M = 0xffffffffn
  const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (32n - r))) & M
  const lane = (i: number) =>
    BigInt(data[i]!) |
    (BigInt(data[i + 1]!) << 8n) |
    (BigInt(data[i + 2]!) << 16n) |
    (BigInt(data[i + 3]!) << 24n)
  const round = (acc: bigint, input: bigint) => (rotl((acc + input * P2) & M, 13n) * P1) & M
  let i = 0
  let acc: bigint
  if (data.length >= 16) {
    const v = [(seed + P1 + P2) & M, (seed + P2) & M, seed, (seed - P1) & M]
    for (; i + 16 <= data.length; i += 16) {
      for (let k = 0; k < 4; k++) v[k] = round(v[k]!, lane(i + 4 * k))
    }
    acc = (rotl(v[0]!, 1n) + rotl(v[1]!, 7n) + rotl(v[2]!, 12n) + rotl(v[3]!, 18n)) & M
  } else {
    acc = (seed + P5) & M
  }
  acc = (acc + BigInt(data.length)) & M
  for (; i + 4 <= data.length; i += 4) acc = (rotl((acc + lane(i) * P3) & M, 17n) * P4) & M
  for (; i < data.length; i++) acc = (rotl((acc + BigInt(data[i]!) * P5) & M, 11n) * P1) & M
  acc ^= acc >> 15n
  acc = (acc * P2) & M
  acc ^= acc >> 13n
  acc = (acc * P3) & M
  acc ^= acc >> 16n
  return Number(acc)
}

const bytes = (text: string) => Buffer.from(text, 'utf8')
const u32 = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n >>> 0)
  return b
}

/** README: magic `KVSIMPLE`, kind, 0, version u16 (2), sequence u64, CRC-32 of bytes 0..19. */
function fileHeader(kind: 'W' | 'S', sequence: number): Buffer {
  const header = Buffer.alloc(24)
  header.write('KVSIMPLE', 0, 'latin1')
  header.write(kind, 8, 'latin1')
  header[9] = 0
  header.writeUInt16LE(2, 10)
  header.writeBigUInt64LE(BigInt(sequence), 12)
  header.writeUInt32LE(crc32(header.subarray(0, 20)), 20)
  return header
}

/** README: payload length L, bitwise NOT of L, checksum of the payload, the payload. */
function frame(payload: Buffer, checksum: (data: Buffer) => number): Buffer {
  return Buffer.concat([u32(payload.length), u32(~payload.length), u32(checksum(payload)), payload])
}

/** README's WAL record: op, bucket length, bucket, then key length and key, then the value. */
function walRecord(op: 1 | 2 | 3, bucket: string, key?: string, value?: string): Buffer {
  const parts = [Buffer.from([op, bytes(bucket).length]), bytes(bucket)]
  if (key !== undefined) parts.push(u32(bytes(key).length), bytes(key))
  if (value !== undefined) parts.push(bytes(value))
  return Buffer.concat(parts)
}

const walFrame = (payload: Buffer) => frame(payload, referenceXxh32)
const snapshotFrame = (payload: Buffer) => frame(payload, (data) => crc32(data))

const WAL_1 = 'wal-0000000000000001.log'
const WAL_2 = 'wal-0000000000000002.log'
const SNAPSHOT_1 = 'snapshot-0000000000000001.snap'

async function expectFile(name: string, expected: Buffer): Promise<void> {
  // Hex, so that a mismatch shows where the bytes differ.
  expect((await readFile(join(dir, name))).toString('hex'), name).toBe(expected.toString('hex'))
}

test('the reference xxHash32 of this test gives the published values (seed 0)', () => {
  expect(referenceXxh32(new Uint8Array(0))).toBe(0x02cc5d05)
  expect(referenceXxh32(bytes('abc'))).toBe(0x32d153ff)
  // 39 bytes: two 16-byte stripes, one 4-byte lane, three single bytes.
  expect(referenceXxh32(bytes('Nobody inspects the spammish repetition'))).toBe(0xe2293b2f)
})

test('a put is written as the README lays out a WAL segment, a frame and a put record', async () => {
  const store = await openStore(dir, MANUAL)
  await store.addValue('b', 'k', 'v')
  await store.close()
  expect(await readdir(dir)).toEqual([WAL_1])
  await expectFile(
    WAL_1,
    Buffer.concat([fileHeader('W', 1), walFrame(walRecord(1, 'b', 'k', 'v'))]),
  )
})

test('a delete and a bucket delete are written as the README lays out their records', async () => {
  const store = await openStore(dir, MANUAL)
  // A payload over 16 bytes: its checksum goes through xxHash32's stripes too.
  await store.addValue('bucket', 'key', 'a value of more than sixteen bytes')
  await store.deleteKey('bucket', 'key')
  await store.deleteBucket('bucket')
  await store.close()
  await expectFile(
    WAL_1,
    Buffer.concat([
      fileHeader('W', 1),
      walFrame(walRecord(1, 'bucket', 'key', 'a value of more than sixteen bytes')),
      walFrame(walRecord(2, 'bucket', 'key')),
      walFrame(walRecord(3, 'bucket')),
    ]),
  )
})

test('a one-entry snapshot is written as the README lays out a snapshot and its items', async () => {
  const store = await openStore(dir, MANUAL)
  await store.addValue('b', 'k', 'v')
  await store.snapshot()
  await store.close()
  // The snapshot covers segment 1, which is retired; appends went on in an empty segment 2.
  expect((await readdir(dir)).sort()).toEqual([SNAPSHOT_1, WAL_2])
  const entryCount = Buffer.alloc(8)
  entryCount.writeBigUInt64LE(1n)
  const block = Buffer.concat([
    Buffer.from([0x01, 1]), // bucket item: 0x01, B, name
    bytes('b'),
    Buffer.from([0x02]), // entry item: 0x02, K (u32), key, V (u32), value
    u32(1),
    bytes('k'),
    u32(1),
    bytes('v'),
    Buffer.from([0xff]), // end marker: 0xFF, N (u64)
    entryCount,
  ])
  await expectFile(SNAPSHOT_1, Buffer.concat([fileHeader('S', 1), snapshotFrame(block)]))
  await expectFile(WAL_2, fileHeader('W', 2))
})
