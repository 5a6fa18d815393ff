/**
 * Stores written in an older format version: format 1 checksummed WAL records with CRC-32,
 * format 2 with xxHash32. A version-1 store opens with all its data, is appended to in a new
 * version-2 segment (its own segments are left as they are), and retires them as usual.
 */
import { cp, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { isKVError } from '@kv/core'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { FORMAT_VERSION } from '../src/format.js'
import { dump, FIXTURES, openStore, removeDir, tempDir } from './helpers.js'

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
  expect(FORMAT_VERSION).toBe(2)
})

test('a version-1 store opens with all its data and takes new writes in a version-2 segment', async () => {
  const original = await readFile(join(dir, WAL_2))
  const expected = await expectedContent()
  expect(Object.keys(expected).sort()).toEqual(['alpha', 'beta', 'gamma'])

  const store = await openStore(dir, MANUAL)
  expect(await dump(store)).toEqual(expected)
  expect(store.stats().walSegment).toBe(3)
  await store.addValue('alpha', 'key-000', 'written by format 2')
  await store.deleteKey('beta', 'tab\tand\nnewline')
  await store.close()

  // The old segment is untouched; the new one is version 2.
  expect((await readFile(join(dir, WAL_2))).equals(original)).toBe(true)
  expect(await versionOf(join(dir, WAL_3))).toBe(2)

  const after = structuredClone(expected)
  after.alpha![Buffer.from('key-000').toString('hex')] =
    Buffer.from('written by format 2').toString('hex')
  delete after.beta![Buffer.from('tab\tand\nnewline').toString('hex')]
  const reopened = await openStore(dir, MANUAL)
  expect(await dump(reopened)).toEqual(after)
  // A snapshot covers both segments and retires them.
  await reopened.snapshot()
  await reopened.close()
  const files = (await readdir(dir)).filter((name) => name !== 'LOCK').sort()
  expect(files).toEqual(['snapshot-0000000000000003.snap', 'wal-0000000000000004.log'])
  expect(await versionOf(join(dir, 'snapshot-0000000000000003.snap'))).toBe(2)
  const last = await openStore(dir, MANUAL)
  expect(await dump(last)).toEqual(after)
  await last.close()
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
      /format version 3; this version of @kv\/simple reads versions 1 to 2/,
    ),
  })
})
