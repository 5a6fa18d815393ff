/**
 * A LevelDB whose files are damaged while the store is closed: opening it fails with
 * KV_CORRUPT_STORE, LevelDB's error as the cause. (classic-level rejects with
 * LEVEL_DATABASE_NOT_OPEN whose cause is LEVEL_CORRUPTION; a CURRENT that names a missing
 * MANIFEST is a LEVEL_IO_ERROR to LevelDB, which the store reports as damage too.)
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { isKVError } from '@kv/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bucketDirName } from '../src/bucket-dir.js'
import { BadgerKV } from '../src/index.js'
import { removeDir, tempDir } from './helpers/temp.js'

/** Damages of a closed LevelDB directory, and the code of LevelDB's error when it opens. */
const damages: [string, (db: string) => Promise<void>, string][] = [
  [
    'CURRENT without its newline',
    (db) => writeFile(join(db, 'CURRENT'), 'MANIFEST-000001'),
    'LEVEL_CORRUPTION',
  ],
  [
    'an emptied MANIFEST',
    async (db) => {
      const manifest = (await readdir(db)).find((f) => f.startsWith('MANIFEST-'))!
      await writeFile(join(db, manifest), '')
    },
    'LEVEL_CORRUPTION',
  ],
  [
    'a CURRENT that names a missing MANIFEST',
    async (db) => {
      const manifest = (await readdir(db)).find((f) => f.startsWith('MANIFEST-'))!
      await rm(join(db, manifest))
    },
    'LEVEL_IO_ERROR',
  ],
]

/** Asserts `error` is KV_CORRUPT_STORE about `file`, with LevelDB's error (`code`) as cause. */
function expectCorrupt(error: unknown, file: string, code: string): void {
  expect(isKVError(error, 'KV_CORRUPT_STORE'), String(error)).toBe(true)
  expect((error as { file?: string }).file).toBe(file)
  expect((error as { cause?: { code?: string } }).cause?.code).toBe(code)
}

let path: string
beforeEach(async () => {
  path = await tempDir('corrupt')
})
afterEach(async () => {
  await removeDir(path)
})

describe.each(damages)('a LevelDB with %s', (_name, damage, code) => {
  it('single_bucket_mode: true: open() fails with KV_CORRUPT_STORE and the store stays closed', async () => {
    const store = new BadgerKV({ path, value_log_gc_enabled: false })
    await store.open()
    await store.addValue('b', 'k', 'v')
    await store.close()
    await damage(path)

    const error = await store.open().catch((e: unknown) => e)
    expectCorrupt(error, path, code)
    expect(store.status).toBe('closed')
  })

  it("single_bucket_mode: false: the bucket's first read fails with KV_CORRUPT_STORE, other buckets work", async () => {
    const options = { path, single_bucket_mode: false, value_log_gc_enabled: false }
    const store = new BadgerKV(options)
    await store.open()
    await store.addValue('damaged', 'k', 'v')
    await store.addValue('intact', 'k', 'v')
    await store.close()
    const db = join(path, 'buckets', bucketDirName('damaged'), 'db')
    await damage(db)

    // A bucket's database opens on first use, so that is where its damage shows.
    const again = new BadgerKV(options)
    await again.open()
    try {
      expectCorrupt(await again.getValue('damaged', 'k').catch((e: unknown) => e), db, code)
      expect(await again.existsKey('intact', 'k')).toBe(true)
    } finally {
      await again.close()
    }
  })

  it('single_bucket_mode: false: deleteBucket removes a damaged bucket, and a write issued after it starts it afresh', async () => {
    const options = { path, single_bucket_mode: false, value_log_gc_enabled: false }
    const store = new BadgerKV(options)
    await store.open()
    await store.addValue('damaged', 'k', 'v')
    await store.close()
    const db = join(path, 'buckets', bucketDirName('damaged'), 'db')
    await damage(db)

    const again = new BadgerKV(options)
    await again.open()
    try {
      // Issued together: the read that fails to open the database, then the way out of it.
      const [read, deleted, written] = await Promise.allSettled([
        again.getValue('damaged', 'k'),
        again.deleteBucket('damaged'),
        again.addValue('damaged', 'fresh', 'v'),
      ])
      expectCorrupt((read as PromiseRejectedResult).reason, db, code)
      expect([deleted.status, written.status]).toEqual(['fulfilled', 'fulfilled'])
      const keys: string[] = []
      for await (const key of again.keys('damaged')) keys.push(new TextDecoder().decode(key))
      expect(keys).toEqual(['fresh'])
    } finally {
      await again.close()
    }
  })
})

describe('a LevelDB whose CURRENT file is gone', () => {
  // LevelDB would take the directory for a new database (CURRENT names the manifest) and delete
  // the table and log files as obsolete: every entry lost. The store refuses to open it.
  const databaseFiles = async (db: string) =>
    (await readdir(db)).filter((name) => /^(MANIFEST-\d+|\d+\.(ldb|sst|log))$/.test(name)).sort()

  it('single_bucket_mode: true: open() fails with KV_CORRUPT_STORE and leaves the files; with CURRENT back, the data is there', async () => {
    const store = new BadgerKV({ path, value_log_gc_enabled: false })
    await store.open()
    await store.addValue('b', 'k', 'v')
    await store.close()
    await store.open() // the log becomes a table
    await store.close()
    const current = await readFile(join(path, 'CURRENT'))
    await rm(join(path, 'CURRENT'))
    const files = await databaseFiles(path)
    expect(files.length).toBeGreaterThan(0)

    const error = await store.open().catch((e: unknown) => e)
    expect(isKVError(error, 'KV_CORRUPT_STORE'), String(error)).toBe(true)
    expect((error as { file?: string }).file).toBe(path)
    expect((error as Error).message).toMatch(/no CURRENT file/)
    expect(store.status).toBe('closed')
    expect(await databaseFiles(path)).toEqual(files)

    await writeFile(join(path, 'CURRENT'), current)
    await store.open()
    expect(new TextDecoder().decode((await store.getValue('b', 'k'))!)).toBe('v')
    await store.close()
  })

  it("single_bucket_mode: false: the bucket's first read fails with KV_CORRUPT_STORE and leaves its files", async () => {
    const options = { path, single_bucket_mode: false, value_log_gc_enabled: false }
    const store = new BadgerKV(options)
    await store.open()
    await store.addValue('b', 'k', 'v')
    await store.addValue('other', 'k', 'v')
    await store.close()
    const db = join(path, 'buckets', bucketDirName('b'), 'db')
    await rm(join(db, 'CURRENT'))
    const files = await databaseFiles(db)

    await store.open()
    try {
      const error = await store.getValue('b', 'k').catch((e: unknown) => e)
      expect(isKVError(error, 'KV_CORRUPT_STORE'), String(error)).toBe(true)
      expect((error as { file?: string }).file).toBe(db)
      expect(await databaseFiles(db)).toEqual(files)
      expect(new TextDecoder().decode((await store.getValue('other', 'k'))!)).toBe('v')
    } finally {
      await store.close()
    }
  })
})

describe('a LevelDB directory left by a process killed while LevelDB created it', () => {
  it('MANIFEST-000001 and no CURRENT (no data yet): the store opens it as a new database', async () => {
    // LevelDB writes MANIFEST-000001, then CURRENT, then the first log; a kill in between
    // leaves this, which holds no data.
    const store = new BadgerKV({ path, value_log_gc_enabled: false })
    await store.open()
    await store.close()
    const manifest = (await readdir(path)).find((f) => f.startsWith('MANIFEST-'))!
    const bytes = await readFile(join(path, manifest))
    await rm(path, { recursive: true })
    await mkdir(path)
    await writeFile(join(path, 'MANIFEST-000001'), bytes)

    await store.open()
    await store.addValue('b', 'k', 'v')
    expect(new TextDecoder().decode((await store.getValue('b', 'k'))!)).toBe('v')
    await store.close()
  })
})

describe('a LevelDB that cannot be opened for another I/O reason', () => {
  it('open() fails with KV_BACKEND_UNAVAILABLE (cause: LEVEL_IO_ERROR), promising nothing about its files', async () => {
    const store = new BadgerKV({ path, value_log_gc_enabled: false })
    await store.open()
    await store.addValue('b', 'k', 'v')
    await store.close()
    // A directory where LevelDB reads its CURRENT file.
    await rm(join(path, 'CURRENT'))
    await mkdir(join(path, 'CURRENT'))

    const error = await store.open().catch((e: unknown) => e)
    expect(isKVError(error, 'KV_BACKEND_UNAVAILABLE'), String(error)).toBe(true)
    expect((error as { cause?: { code?: string } }).cause?.code).toBe('LEVEL_IO_ERROR')
    expect((error as Error).message).toMatch(/Check the disk and the files under badger\.path/)
    expect((error as Error).message).not.toMatch(/nothing written before was lost/)
    expect(store.status).toBe('closed')
  })
})
