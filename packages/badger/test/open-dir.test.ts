/**
 * A database directory that cannot be created. classic-level creates it (mkdir -p) before LevelDB
 * opens it and reports Node's error (EACCES, EEXIST, …) wrapped in LEVEL_DATABASE_NOT_OPEN, which
 * names no path: the store must turn that into KV_BACKEND_UNAVAILABLE naming the directory.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bucketDirName } from '../src/bucket-dir.js'
import { BadgerKV } from '../src/index.js'
import { removeDir, tempDir } from './helpers/temp.js'

const run = promisify(execFile)
const child = fileURLToPath(new URL('./fixtures/open-child.mjs', import.meta.url))

describe('a database directory that cannot be created', () => {
  let path: string
  beforeEach(async () => {
    path = await tempDir('open-dir')
  })
  afterEach(async () => {
    await chmod(path, 0o755).catch(() => {})
    await removeDir(path)
  })

  it.each([true, false])(
    'open() rejects with KV_BACKEND_UNAVAILABLE naming meta/ when a file stands in its place (single_bucket_mode: %s)',
    async (single) => {
      await writeFile(join(path, 'meta'), 'not a directory')
      const store = new BadgerKV({ path, single_bucket_mode: single, value_log_gc_enabled: false })
      const error = await store.open().catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 'KV_BACKEND_UNAVAILABLE', cause: { code: 'EEXIST' } })
      expect((error as Error).message).toContain(join(path, 'meta'))
      expect((error as Error).message).toContain('move it away')
      // Once the file is gone, the store opens.
      await rm(join(path, 'meta'))
      await store.open()
      await store.close()
    },
  )

  it('per-bucket mode: the first use of a bucket whose db/ cannot be created rejects with KV_BACKEND_UNAVAILABLE, buckets() too', async () => {
    const options = { path, single_bucket_mode: false, value_log_gc_enabled: false }
    let store = new BadgerKV(options)
    await store.open()
    await store.addValue('b', 'k', 'v')
    await store.close()
    const db = join(path, 'buckets', bucketDirName('b'), 'db')
    await rm(db, { recursive: true })
    await writeFile(db, 'not a directory')
    store = new BadgerKV(options)
    await store.open()
    try {
      const read = await Promise.resolve(store.getValue('b', 'k')).catch((e: unknown) => e)
      expect(read).toMatchObject({ code: 'KV_BACKEND_UNAVAILABLE', cause: { code: 'EEXIST' } })
      expect((read as Error).message).toContain(db)
      const write = await store.addValue('b', 'k2', 'v').catch((e: unknown) => e)
      expect(write).toMatchObject({ code: 'KV_BACKEND_UNAVAILABLE', cause: { code: 'EEXIST' } })
      const listing = await (async () => {
        for await (const _ of store.buckets());
      })().catch((e: unknown) => e)
      expect(listing).toMatchObject({ code: 'KV_BACKEND_UNAVAILABLE', cause: { code: 'EEXIST' } })
      // Fixed, the same call succeeds (the database is new: its data went with db/).
      await rm(db)
      await store.addValue('b', 'k2', 'v')
      expect(await store.existsKey('b', 'k2')).toBe(true)
    } finally {
      await store.close()
    }
  })

  // An existing path the process may not write to. Root writes everywhere: as root the child
  // drops the capabilities that let it (capsh), as the core package's store-directory test does.
  const root = process.getuid?.() === 0
  const capsh = ['/usr/sbin/capsh', '/sbin/capsh'].find((p) => existsSync(p))
  it.skipIf(process.platform === 'win32' || (root && capsh === undefined))(
    'open() rejects with KV_BACKEND_UNAVAILABLE naming meta/ when path is not writable (as root: needs capsh)',
    async () => {
      await mkdir(join(path, 'store'))
      const store = join(path, 'store')
      await chmod(store, 0o555)
      const args = [child, JSON.stringify({ path: store, value_log_gc_enabled: false })]
      const command = `${JSON.stringify(process.execPath)} ${args.map((a) => `'${a}'`).join(' ')}`
      const { stdout } = root
        ? await run(capsh!, ['--drop=cap_dac_override,cap_dac_read_search', '--', '-c', command])
        : await run(process.execPath, args)
      const result = JSON.parse(stdout)
      expect(result).toMatchObject({ code: 'KV_BACKEND_UNAVAILABLE', isKVError: true })
      expect(result.message).toContain(join(store, 'meta'))
      expect(result.message).toContain('Give the process read and write access')
      expect(result.cause).toMatch(/EACCES/)
    },
  )
})
