/**
 * The on-disk format as the README's tables state it (*On-disk format (version 3)*), built here
 * without the package's own encoding: the header CRC is zlib's, and the WAL checksum comes from
 * the xxHash32 below, written from its specification (on-disk-format.test.ts checks it against
 * the published values). Tests compare the store's files with these bytes, or write stores of an
 * older version with them.
 */
import { crc32 } from 'node:zlib'

/**
 * xxHash32 as its specification states it
 * (https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md), in BigInt arithmetic
 * modulo 2^32: slow and plain, and sharing nothing with the package's implementation.
 */
export function referenceXxh32(data: Uint8Array, seed = 0n): number {
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

export const bytes = (text: string | Uint8Array): Buffer =>
  typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.from(text)

export const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n >>> 0)
  return b
}

const u64 = (n: number): Buffer => {
  const b = Buffer.alloc(8)
  b.writeBigUInt64LE(BigInt(n))
  return b
}

/** Bytes of the file header: records start after it. */
export const FILE_HEADER_BYTES = 24

/**
 * README: magic `KVSIMPLE`, kind, 0, version u16 (3 unless given), sequence u64, CRC-32 of bytes
 * 0..19.
 */
export function fileHeader(kind: 'W' | 'S', sequence: number, version = 3): Buffer {
  const header = Buffer.alloc(FILE_HEADER_BYTES)
  header.write('KVSIMPLE', 0, 'latin1')
  header.write(kind, 8, 'latin1')
  header[9] = 0
  header.writeUInt16LE(version, 10)
  header.writeBigUInt64LE(BigInt(sequence), 12)
  header.writeUInt32LE(crc32(header.subarray(0, 20)), 20)
  return header
}

/** README: payload length L, bitwise NOT of L, checksum of the payload, the payload. */
export function frame(payload: Buffer, checksum: (data: Buffer) => number): Buffer {
  return Buffer.concat([u32(payload.length), u32(~payload.length), u32(checksum(payload)), payload])
}

/** README's WAL record: op, bucket length, bucket, then key length and key, then the value. */
export function walRecord(
  op: 1 | 2 | 3,
  bucket: string,
  key?: string | Uint8Array,
  value?: string | Uint8Array,
): Buffer {
  const parts = [Buffer.from([op, bytes(bucket).length]), bytes(bucket)]
  if (key !== undefined) parts.push(u32(bytes(key).length), bytes(key))
  if (value !== undefined) parts.push(bytes(value))
  return Buffer.concat(parts)
}

/** A WAL frame (xxHash32, versions 2 and 3). */
export const walFrame = (payload: Buffer): Buffer => frame(payload, referenceXxh32)

/** A snapshot frame (CRC-32). */
export const snapshotFrame = (payload: Buffer): Buffer => frame(payload, (data) => crc32(data))

/** README's batch frame (version 3): a WAL frame of op 4, the batch's number, its records' bytes. */
export function batchFrame(sequence: number, recordBytes: number): Buffer {
  return walFrame(Buffer.concat([Buffer.from([4]), u64(sequence), u64(recordBytes)]))
}

/** Bytes of a batch frame: a 12-byte frame header and a 17-byte payload. */
export const BATCH_FRAME_BYTES = 12 + 1 + 8 + 8

/** Bytes of a framed put record: frame header, op, B, bucket, K (u32), key, value. */
export function putRecordBytes(
  bucket: string,
  key: string | Uint8Array,
  value: string | Uint8Array,
): number {
  return 12 + 2 + bytes(bucket).length + 4 + bytes(key).length + bytes(value).length
}
