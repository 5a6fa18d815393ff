/**
 * A LevelDB whose files are damaged while the store is closed: opening it fails with
 * KV_CORRUPT_STORE, LevelDB's LEVEL_CORRUPTION error as the cause. (classic-level rejects with
 * LEVEL_DATABASE_NOT_OPEN whose cause is LEVEL_CORRUPTION; a CURRENT that names a missing
 * MANIFEST is a LEVEL_IO_ERROR, not corruption, so it is not among the damages here.)
 */
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { isKVError } from '@kv/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bucketDirName } from '../src/bucket-dir.js'
import { BadgerKV } from '../src/index.js'
import { removeDir, tempDir } from './helpers/temp.js'

/** Damages of a closed LevelDB directory that LevelDB reports as corruption when it opens. */
const damages: [string, (db: string) => Promise<void>][] = [
  ['CURRENT without its newline', (db) => writeFile(join(db, 'CURRENT'), 'MANIFEST-000001')],
  [
    'an emptied MANIFEST',
    async (db) => {
      const manifest = (await readdir(db)).find((f) => f.startsWith('MANIFEST-'))!
      await writeFile(join(db, manifest), '')
    },
  ],
]

/** Asserts `error` is KV_CORRUPT_STORE about `file`, with LevelDB's corruption error as cause. */
function expectCorrupt(error: unknown, file: string): void {
  expect(isKVError(error, 'KV_CORRUPT_STORE'), String(error)).toBe(true)
  expect((error as { file?: string }).file).toBe(file)
  expect((error as { cause?: { code?: string } }).cause?.code).toBe('LEVEL_CORRUPTION')
}

let path: string
beforeEach(async () => {
  path = await tempDir('corrupt')
})
afterEach(async () => {
  await removeDir(path)
})

describe.each(damages)('a LevelDB with %s', (_name, damage) => {
  it('single_bucket_mode: true: open() fails with KV_CORRUPT_STORE and the store stays closed', async () => {
    const store = new BadgerKV({ path, value_log_gc_enabled: false })
    await store.open()
    await store.addValue('b', 'k', 'v')
    await store.close()
    await damage(path)

    const error = await store.open().catch((e: unknown) => e)
    expectCorrupt(error, path)
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
      expectCorrupt(await again.getValue('damaged', 'k').catch((e: unknown) => e), db)
      expect(await again.existsKey('intact', 'k')).toBe(true)
    } finally {
      await again.close()
    }
  })
})
