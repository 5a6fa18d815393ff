/**
 * `open()` where no store can be: a path that cannot be a directory, or store files that cannot
 * be written. Typed errors naming the path and what to do, with the file-system error as `cause`.
 */
import { spawn } from 'node:child_process'
import { access, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  configure,
  type InvalidConfigError,
  isKVError,
  type KVError,
  resetConfiguration,
} from '@kv/core'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { SimpleKV } from '../src/store-entry.js'
import { FIXTURES, openStore, removeDir, tempDir } from './helpers.js'

let base: string
beforeEach(async () => {
  base = await tempDir('simple-kv-open-errors')
})
afterEach(async () => {
  resetConfiguration()
  await removeDir(base)
})

/** The error `open()` of `store` fails with (the test fails if it opens). */
async function openFailure(store: SimpleKV): Promise<KVError> {
  const error = await store.open().then(
    () => new Error('open() succeeded'),
    (e: unknown) => e,
  )
  expect(isKVError(error), String(error)).toBe(true)
  return error as KVError
}

describe('a path that cannot be a directory: KV_INVALID_CONFIG naming simple_kv.path', () => {
  test('the path is a regular file', async () => {
    const path = join(base, 'file')
    await writeFile(path, 'not a store')
    const store = new SimpleKV({ path })
    const error = await openFailure(store)
    expect(error.code).toBe('KV_INVALID_CONFIG')
    expect((error as InvalidConfigError).key).toBe('simple_kv.path')
    expect(error.message).toContain(path)
    expect((error.cause as NodeJS.ErrnoException).code).toBe('EEXIST')
    expect(store.status).toBe('closed')
    expect(await readFile(path, 'utf8')).toBe('not a store')
  })

  test('a directory of the path is a regular file', async () => {
    await writeFile(join(base, 'file'), 'not a directory')
    const path = join(base, 'file', 'store')
    const error = await openFailure(new SimpleKV({ path }))
    expect(error.code).toBe('KV_INVALID_CONFIG')
    expect((error as InvalidConfigError).key).toBe('simple_kv.path')
    expect(error.message).toContain(path)
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ENOTDIR')
  })

  test('the default path under data_dir is a regular file: the message says the path was not set', async () => {
    await writeFile(join(base, 'simple_kv'), 'not a store')
    configure({ data_dir: base })
    const error = await openFailure(new SimpleKV())
    expect(error.code).toBe('KV_INVALID_CONFIG')
    expect(error.message).toContain(join(base, 'simple_kv'))
    expect(error.message).toContain('simple_kv.path is not set')
  })
})

/**
 * Runs the try-open fixture in a child whose file-size limit (`ulimit -f`) is far below the
 * 4 MiB a WAL segment is preallocated with under `sync_writes`: creating it fails with EFBIG, as
 * a full disk fails with ENOSPC, with no disk to fill.
 */
async function tryOpenWithFileSizeLimit(
  path: string,
): Promise<{ ok: boolean; code?: string; message?: string; cause?: string }> {
  const child = spawn(
    'sh',
    [
      '-c',
      'ulimit -f 64 && exec "$@"',
      'sh',
      process.execPath,
      join(FIXTURES, 'try-open.mjs'),
      path,
      JSON.stringify({ sync_writes: true }),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let out = ''
  let err = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk))
  child.stderr.on('data', (chunk: Buffer) => (err += chunk))
  const code = await new Promise((resolve) => child.on('close', resolve))
  expect(code, err).toBe(0)
  return JSON.parse(out.trim().split('\n').at(-1)!)
}

describe('store files that cannot be written at open(): KV_BACKEND_UNAVAILABLE', () => {
  test('a file-size limit hit while creating the WAL; the store opens once the limit is lifted', async () => {
    const path = join(base, 'store')
    const result = await tryOpenWithFileSizeLimit(path)
    expect(result.ok).toBe(false)
    expect(result.code).toBe('KV_BACKEND_UNAVAILABLE')
    expect(result.cause).toBe('EFBIG')
    expect(result.message).toContain(path)
    expect(result.message).toContain('ulimit -f')
    // The failed open released its lock, and removed the segment it was writing (a
    // half-written temporary file would keep the space of a full disk)…
    await expect(access(join(path, 'LOCK'))).rejects.toMatchObject({ code: 'ENOENT' })
    expect((await readdir(path)).filter((name) => name.endsWith('.tmp'))).toEqual([])
    // …and left nothing that stops the store opening without the limit.
    const store = await openStore(path, { sync_writes: true })
    await store.addValue('b', 'k', 'v')
    await store.close()
  })
})

describe('a directory where the store keeps a file: KV_BACKEND_UNAVAILABLE naming it', () => {
  for (const name of [
    'wal-0000000000000001.log',
    'snapshot-0000000000000001.snap',
    'LOCK',
    'wal-0000000000000002.log.tmp',
  ]) {
    test(name, async () => {
      const path = join(base, 'store')
      await mkdir(join(path, name), { recursive: true })
      const error = await openFailure(new SimpleKV({ path }))
      expect(error.code).toBe('KV_BACKEND_UNAVAILABLE')
      expect(error.message).toContain(
        `${join(path, name)} is a directory where the store keeps a file of that name: move it out of the store directory`,
      )
      expect(['EISDIR', 'ERR_FS_EISDIR']).toContain((error.cause as NodeJS.ErrnoException).code)
      // Moved away, the store opens (empty: the directory held no data of it).
      await rename(join(path, name), join(base, 'moved'))
      const store = await openStore(path)
      expect(await store.existsKey('b', 'k')).toBe(false)
      await store.close()
    })
  }
})
