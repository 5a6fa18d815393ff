/**
 * The on-disk format is the README's contract (*On-disk format (version 3)*): files the store
 * writes are compared byte for byte with buffers built from the README's tables
 * (reference-format.ts). Nothing of the package's own encoding is used to build them: the header
 * CRC is zlib's, and the WAL checksum comes from a reference xxHash32, written from the
 * specification and checked here against its published values. (Round trips through the
 * package's writer and reader cannot catch a change made to both sides at once.)
 */
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { openStore, removeDir, tempDir } from './helpers.js'
import {
  batchFrame,
  bytes,
  fileHeader,
  referenceXxh32,
  snapshotFrame,
  u32,
  walFrame,
  walRecord,
} from './reference-format.js'

/** No automatic snapshots, no preallocated zeros (`sync_writes` off): the files hold exactly what the test wrote. */
const MANUAL = { snapshot_wal_bytes: 0, snapshot_interval_seconds: 0, sync_writes: false }

let dir: string
beforeEach(async () => {
  dir = await tempDir('simple-kv-format-bytes')
})
afterEach(async () => {
  await removeDir(dir)
})

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

/**
 * A batch as the README lays it out: its batch frame (number, bytes of records), its records.
 * Without records, the seal `close()` appends.
 */
function batch(sequence: number, ...records: Buffer[]): Buffer {
  const frames = records.map(walFrame)
  const length = frames.reduce((sum, f) => sum + f.length, 0)
  return Buffer.concat([batchFrame(sequence, length), ...frames])
}

test('a put is written as the README lays out a WAL segment, a batch frame, a frame and a put record; close() seals it', async () => {
  const store = await openStore(dir, MANUAL)
  await store.addValue('b', 'k', 'v')
  await store.close()
  expect(await readdir(dir)).toEqual([WAL_1])
  await expectFile(
    WAL_1,
    Buffer.concat([fileHeader('W', 1), batch(1, walRecord(1, 'b', 'k', 'v')), batch(2)]),
  )
})

test('addValues is one batch: one batch frame giving the bytes of all its records', async () => {
  const store = await openStore(dir, MANUAL)
  await store.addValue('b', 'first', '1')
  await store.addValues('b', [
    ['k1', 'one'],
    ['k2', 'a value of more than sixteen bytes'],
    ['k3', ''],
  ])
  await store.close()
  await expectFile(
    WAL_1,
    Buffer.concat([
      fileHeader('W', 1),
      batch(1, walRecord(1, 'b', 'first', '1')),
      batch(
        2,
        walRecord(1, 'b', 'k1', 'one'),
        walRecord(1, 'b', 'k2', 'a value of more than sixteen bytes'),
        walRecord(1, 'b', 'k3', ''),
      ),
      batch(3),
    ]),
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
      batch(1, walRecord(1, 'bucket', 'key', 'a value of more than sixteen bytes')),
      batch(2, walRecord(2, 'bucket', 'key')),
      batch(3, walRecord(3, 'bucket')),
      batch(4),
    ]),
  )
})

test('a close() with nothing written since the last seal adds nothing; batches written after a reopen number on and are sealed again', async () => {
  const store = await openStore(dir, MANUAL)
  await store.close()
  // No batch yet: nothing to seal.
  await expectFile(WAL_1, fileHeader('W', 1))
  for (const value of ['one', undefined, 'two', undefined]) {
    const again = await openStore(dir, MANUAL)
    if (value !== undefined) await again.addValue('b', 'k', value)
    await again.close()
  }
  await expectFile(
    WAL_1,
    Buffer.concat([
      fileHeader('W', 1),
      batch(1, walRecord(1, 'b', 'k', 'one')),
      batch(2),
      batch(3, walRecord(1, 'b', 'k', 'two')),
      batch(4),
    ]),
  )
})

test('a store that was not closed after its last batch is sealed at its next close(), even with nothing written', async () => {
  const store = await openStore(dir, MANUAL)
  await store.addValue('b', 'k', 'v')
  await store.close()
  // The file as a process killed after the put acknowledged leaves it: no seal.
  const killed = Buffer.concat([fileHeader('W', 1), batch(1, walRecord(1, 'b', 'k', 'v'))])
  await writeFile(join(dir, WAL_1), killed)
  const again = await openStore(dir, MANUAL)
  await again.close()
  await expectFile(WAL_1, Buffer.concat([killed, batch(2)]))
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
  // Nothing was written to segment 2, and segment 1, which the snapshot covers, is gone: no seal.
  await expectFile(WAL_2, fileHeader('W', 2))
})
