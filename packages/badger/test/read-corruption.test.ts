/**
 * Damage that opening does not reveal: LevelDB opens a table file only when a read needs it, so
 * a table whose footer is damaged shows at the first read of its keys, on a store already open.
 * The reads reject with KV_CORRUPT_STORE (`file`: the database directory), LevelDB's
 * LEVEL_CORRUPTION as the cause, whichever way they read (`sync_reads`).
 */
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { isKVError } from '@kv/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bucketDirName } from '../src/bucket-dir.js'
import { BadgerKV } from '../src/index.js'
import { removeDir, tempDir } from './helpers/temp.js'

let path: string
beforeEach(async () => {
  path = await tempDir('read-corrupt')
})
afterEach(() => removeDir(path))

/** Flips a byte of the magic number that ends each table file of `db`; returns how many. */
async function damageTables(db: string): Promise<number> {
  const tables = (await readdir(db)).filter((name) => name.endsWith('.ldb'))
  for (const table of tables) {
    const bytes = await readFile(join(db, table))
    bytes[bytes.length - 1]! ^= 0xff
    await writeFile(join(db, table), bytes)
  }
  return tables.length
}

/** Reads a listing to its end. */
async function drain(listing: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of listing);
}

/** Asserts that `read` rejects with KV_CORRUPT_STORE about `db`, LevelDB's error as its cause. */
async function expectCorrupt(read: Promise<unknown>, db: string, name: string): Promise<void> {
  const error = await read.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(isKVError(error, 'KV_CORRUPT_STORE'), `${name}: ${String(error)}`).toBe(true)
  expect((error as { file?: string }).file, name).toBe(db)
  expect((error as { cause?: { code?: string } }).cause?.code, name).toBe('LEVEL_CORRUPTION')
  expect((error as Error).message, name).toMatch(/ClassicLevel\.repair\(\)/)
}

describe.each([
  { single_bucket_mode: true, sync_reads: true },
  { single_bucket_mode: true, sync_reads: false },
  { single_bucket_mode: false, sync_reads: true },
  { single_bucket_mode: false, sync_reads: false },
])('single_bucket_mode: $single_bucket_mode, sync_reads: $sync_reads', (options) => {
  it('getValue, existsKey, keys() and buckets() over a damaged table reject with KV_CORRUPT_STORE', async () => {
    const store = new BadgerKV({ ...options, path, value_log_gc_enabled: false })
    await store.open()
    for (let i = 0; i < 100; i++) await store.addValue('b', `k${i}`, `v${i}`)
    await store.close()
    // LevelDB turns the log into a table when it opens the database (per-bucket mode: at the
    // bucket's first use).
    await store.open()
    expect(await store.existsKey('b', 'k1')).toBe(true)
    await store.close()
    const db = options.single_bucket_mode ? path : join(path, 'buckets', bucketDirName('b'), 'db')
    expect(await damageTables(db)).toBeGreaterThan(0)

    await store.open()
    try {
      await expectCorrupt(store.getValue('b', 'k1'), db, 'getValue')
      await expectCorrupt(store.existsKey('b', 'k1'), db, 'existsKey')
      await expectCorrupt(drain(store.keys('b')), db, 'keys')
      await expectCorrupt(drain(store.buckets()), db, 'buckets')
      await expectCorrupt(store.stats(), db, 'stats')
    } finally {
      await store.close()
    }
  })

  it('a value_log_gc pass over a damaged table: KV_CORRUPT_STORE from the pass (per-bucket, a bucket not open yet) or from the writes after it', async () => {
    const store = new BadgerKV({ ...options, path, value_log_gc_enabled: false })
    await store.open()
    for (let i = 0; i < 100; i++) await store.addValue('b', `k${i}`, `v${i}`)
    await store.close()
    await store.open()
    // Deletes of absent keys make `b` due without touching its table; the counts outlive close().
    for (let i = 0; i < 200; i++) await store.deleteKey('b', `absent${i}`)
    await store.close()
    const db = options.single_bucket_mode ? path : join(path, 'buckets', bucketDirName('b'), 'db')
    expect(await damageTables(db)).toBeGreaterThan(0)

    await store.open()
    try {
      if (options.single_bucket_mode) {
        // LevelDB's compactRange reports nothing; the compaction's error stops the database's
        // writes, which then reject with it.
        await store.runGc()
        await expectCorrupt(store.addValue('b', 'after', 'v'), db, 'a write after the pass')
      } else {
        await expectCorrupt(store.runGc(), db, 'runGc')
      }
    } finally {
      await store.close()
    }
  })
})
