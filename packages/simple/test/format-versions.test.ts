/**
 * Stores written in an older format version: format 1 checksummed WAL records with CRC-32,
 * format 2 with xxHash32, format 3 starts each batch with a batch frame. A store of version 1 or
 * 2 opens with all its data, is appended to in a new version-3 segment (its own segments are left
 * as they are: appends never mix versions in one file), and retires them as usual.
 */
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { isKVError } from '@kv/core'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { FORMAT_VERSION } from '../src/format.js'
import {
  collectWarnings,
  dump,
  FIXTURES,
  openStore,
  removeDir,
  sleep,
  tempDir,
  until,
} from './helpers.js'
import { batchFrame, fileHeader, walFrame, walRecord } from './reference-format.js'

const MANUAL = { snapshot_wal_bytes: 0, snapshot_interval_seconds: 0 }
const V1_STORE = join(FIXTURES, 'format-v1-store')
const WAL_2 = 'wal-0000000000000002.log'
const WAL_3 = 'wal-0000000000000003.log'

/** The fixture's content as its own build listed it (keys there are latin1), keys in hex. */
async function expectedContent(): Promise<Record<string, Record<string, string>>> {
  const listed = JSON.parse(
    await readFile(join(FIXTURES, 'format-v1-store.expected.json'), 'utf8'),
  ) as Record<string, Record<string, string>>
  const out: Record<string, Record<string, string>> = {}
  for (const [bucket, entries] of Object.entries(listed)) {
    out[bucket] = {}
    for (const [key, value] of Object.entries(entries))
      out[bucket][Buffer.from(key, 'latin1').toString('hex')] = value
  }
  return out
}

const versionOf = async (path: string) => (await readFile(path)).readUInt16LE(10)

let dir: string
beforeEach(async () => {
  dir = await tempDir('simple-kv-format')
  await cp(V1_STORE, dir, { recursive: true })
})
afterEach(async () => {
  await removeDir(dir)
})

test('the fixture is a version-1 store and this package writes a later version', async () => {
  expect(await versionOf(join(V1_STORE, WAL_2))).toBe(1)
  expect(await versionOf(join(V1_STORE, 'snapshot-0000000000000001.snap'))).toBe(1)
  expect(FORMAT_VERSION).toBe(3)
})

test('a version-1 store opens with all its data and takes new writes in a version-3 segment', async () => {
  const original = await readFile(join(dir, WAL_2))
  const expected = await expectedContent()
  expect(Object.keys(expected).sort()).toEqual(['alpha', 'beta', 'gamma'])

  const store = await openStore(dir, MANUAL)
  expect(await dump(store)).toEqual(expected)
  expect(store.stats().walSegment).toBe(3)
  await store.addValue('alpha', 'key-000', 'written by format 3')
  await store.deleteKey('beta', 'tab\tand\nnewline')
  await store.close()

  // The old segment is untouched; the new one is version 3.
  expect((await readFile(join(dir, WAL_2))).equals(original)).toBe(true)
  expect(await versionOf(join(dir, WAL_3))).toBe(3)

  const after = structuredClone(expected)
  after.alpha![Buffer.from('key-000').toString('hex')] =
    Buffer.from('written by format 3').toString('hex')
  delete after.beta![Buffer.from('tab\tand\nnewline').toString('hex')]
  const reopened = await openStore(dir, MANUAL)
  expect(await dump(reopened)).toEqual(after)
  // A snapshot covers both segments and retires them.
  await reopened.snapshot()
  await reopened.close()
  const files = (await readdir(dir)).filter((name) => name !== 'LOCK').sort()
  expect(files).toEqual(['snapshot-0000000000000003.snap', 'wal-0000000000000004.log'])
  expect(await versionOf(join(dir, 'snapshot-0000000000000003.snap'))).toBe(3)
  const last = await openStore(dir, MANUAL)
  expect(await dump(last)).toEqual(after)
  await last.close()
})

test('a version-1 store gets a timed snapshot without a write (its records are in its own segment), then none while idle', async () => {
  const expected = await expectedContent()
  const store = await openStore(dir, { snapshot_wal_bytes: 0, snapshot_interval_seconds: 0.1 })
  try {
    // Appends go to the empty version-3 segment 3; the records are in segment 2.
    expect(store.stats()).toMatchObject({ walSegment: 3, walBytes: 24, snapshot: 1 })
    await until(() => store.stats().snapshot === 3, 'a timed snapshot covered segments 2 and 3')
    await until(() => !store.stats().snapshotInProgress, 'the snapshot finished')
    await sleep(500)
    expect(store.stats().snapshot).toBe(3)
    expect(await dump(store)).toEqual(expected)
  } finally {
    await store.close()
  }
  expect((await readdir(dir)).filter((name) => name !== 'LOCK').sort()).toEqual([
    'snapshot-0000000000000003.snap',
    'wal-0000000000000004.log',
  ])
  const reopened = await openStore(dir, MANUAL)
  expect(await dump(reopened)).toEqual(expected)
  await reopened.close()
})

test('a damaged record in a version-1 segment fails open() with its offset', async () => {
  const path = join(dir, WAL_2)
  const bytes = await readFile(path)
  // The first record starts after the 24-byte file header; flip a byte of its payload.
  const damaged = Buffer.from(bytes)
  damaged[24 + 12 + 3]! ^= 0x40
  await writeFile(path, damaged)
  const error = await openStore(dir, MANUAL).then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(isKVError(error) && error.code).toBe('KV_CORRUPT_STORE')
  expect(error).toMatchObject({ file: path, offset: 24 })
  expect((await readFile(path)).equals(damaged)).toBe(true)
})

test('a file of a format version newer than this package fails open() with KV_NOT_SUPPORTED', async () => {
  const path = join(dir, WAL_2)
  const bytes = Buffer.from(await readFile(path))
  bytes.writeUInt16LE(FORMAT_VERSION + 1, 10)
  // The header's own CRC-32 covers the version: recompute it so only the version is "wrong".
  const { crc32 } = await import('../src/crc32.js')
  bytes.writeUInt32LE(crc32(bytes, 0, 20), 20)
  await writeFile(path, bytes)
  await expect(openStore(dir, MANUAL)).rejects.toMatchObject({
    code: 'KV_NOT_SUPPORTED',
    message: expect.stringMatching(
      /format version 4; this version of @kv\/simple reads versions 1 to 3/,
    ),
  })
})

describe('a version-2 store (records without batch frames), built from the README', () => {
  const WAL_1 = 'wal-0000000000000001.log'
  const WAL_2_V2 = 'wal-0000000000000002.log'
  /** Segment 1 of version 2: three records, then what `tail` adds. */
  const version2Segment = (tail: Buffer = Buffer.alloc(0)) =>
    Buffer.concat([
      fileHeader('W', 1, 2),
      walFrame(walRecord(1, 'b', 'k1', 'one')),
      walFrame(walRecord(1, 'b', 'k2', 'two')),
      walFrame(walRecord(2, 'b', 'k1')),
      tail,
    ])

  beforeEach(async () => {
    // The version-1 fixture is not wanted here.
    for (const name of await readdir(dir)) await rm(join(dir, name))
  })

  test('opens with its data; appends go to a new version-3 segment; reopening keeps all', async () => {
    const original = version2Segment()
    await writeFile(join(dir, WAL_1), original)
    const store = await openStore(dir, MANUAL)
    expect(await dump(store)).toEqual({ b: { [hex('k2')]: hex('two') } })
    expect(store.stats().walSegment).toBe(2)
    await store.addValues('b', [
      ['k3', 'three'],
      ['k1', 'back'],
    ])
    await store.close()
    expect((await readFile(join(dir, WAL_1))).equals(original)).toBe(true)
    expect(await versionOf(join(dir, WAL_2_V2))).toBe(3)
    const expected = {
      b: { [hex('k1')]: hex('back'), [hex('k2')]: hex('two'), [hex('k3')]: hex('three') },
    }
    const reopened = await openStore(dir, MANUAL)
    expect(await dump(reopened)).toEqual(expected)
    await reopened.addValue('b', 'k4', 'four')
    await reopened.close()
    const last = await openStore(dir, MANUAL)
    expect(await dump(last)).toEqual({ b: { ...expected.b, [hex('k4')]: hex('four') } })
    await last.close()
  })

  test('a version-2 segment holding no records (appends go to a new segment) takes no timed snapshot', async () => {
    await writeFile(join(dir, WAL_1), fileHeader('W', 1, 2))
    const store = await openStore(dir, { snapshot_wal_bytes: 0, snapshot_interval_seconds: 0.1 })
    try {
      expect(store.stats()).toMatchObject({ walSegment: 2, walBytes: 24, snapshot: 0 })
      await sleep(500)
      expect(store.stats().snapshot).toBe(0)
    } finally {
      await store.close()
    }
    expect((await readdir(dir)).filter((name) => name !== 'LOCK').sort()).toEqual([WAL_1, WAL_2_V2])
  })

  test('a torn last record is cut off by the version-2 rule before appends move to version 3', async () => {
    // Half of a fourth record: its frame is cut off by the end of the file.
    const fourth = walFrame(walRecord(1, 'b', 'k4', 'four'))
    const torn = version2Segment(fourth.subarray(0, 20))
    await writeFile(join(dir, WAL_1), torn)
    const warnings = await collectWarnings(async () => {
      const store = await openStore(dir, MANUAL)
      expect(await dump(store)).toEqual({ b: { [hex('k2')]: hex('two') } })
      await store.close()
    })
    const torns = warnings.filter((w) => w.code === 'KV_WAL_TORN_TAIL')
    expect(torns).toHaveLength(1)
    expect(torns[0]!.message).toContain(`byte ${torn.length - 20}`)
    expect((await readFile(join(dir, WAL_1))).length).toBe(torn.length - 20)
  })

  test('damage followed by a record is corruption in a version-2 segment', async () => {
    const damaged = version2Segment()
    // The second record's payload: a record follows it.
    const second = 24 + walFrame(walRecord(1, 'b', 'k1', 'one')).length
    damaged[second + 14]! ^= 1
    await writeFile(join(dir, WAL_1), damaged)
    const error = await openStore(dir, MANUAL).then(
      () => undefined,
      (caught: unknown) => caught,
    )
    expect(isKVError(error) && error.code).toBe('KV_CORRUPT_STORE')
    expect(error).toMatchObject({ file: join(dir, WAL_1), offset: second })
  })
})

describe('a version-3 segment whose batches are out of shape, built from the README', () => {
  const WAL_1 = 'wal-0000000000000001.log'
  const record = (key: string) => walFrame(walRecord(1, 'b', key, 'v'))

  beforeEach(async () => {
    for (const name of await readdir(dir)) await rm(join(dir, name))
  })

  /** Opens a store whose only segment is `segment`; the error it fails with. */
  async function openFails(segment: Buffer): Promise<unknown> {
    await writeFile(join(dir, WAL_1), segment)
    return openStore(dir, MANUAL).then(
      () => undefined,
      (caught: unknown) => caught,
    )
  }

  test('a record where a batch frame must start is corruption at its offset', async () => {
    const first = record('k1')
    const segment = Buffer.concat([
      fileHeader('W', 1),
      batchFrame(1, first.length),
      first,
      record('k2'), // no batch frame before it, and a seal after it
      batchFrame(2, 0),
    ])
    const error = await openFails(segment)
    expect(error).toMatchObject({
      code: 'KV_CORRUPT_STORE',
      file: join(dir, WAL_1),
      offset: 24 + 29 + first.length,
      message: expect.stringMatching(/a record stands where a batch frame must start/),
    })
  })

  test('a batch numbered out of turn is corruption at its offset', async () => {
    const first = record('k1')
    const segment = Buffer.concat([
      fileHeader('W', 1),
      batchFrame(1, first.length),
      first,
      batchFrame(3, 0),
    ])
    const error = await openFails(segment)
    expect(error).toMatchObject({
      code: 'KV_CORRUPT_STORE',
      offset: 24 + 29 + first.length,
      message: expect.stringMatching(/batch 3 follows batch 1/),
    })
  })
})

const hex = (text: string) => Buffer.from(text).toString('hex')
