/**
 * Per-bucket mode keeps every bucket it has used open, each with several file descriptors, so a
 * process's descriptor limit bounds the buckets in use. Past it, opening a bucket's database
 * fails: the caller gets a typed KV_BACKEND_UNAVAILABLE that says what to do (not
 * classic-level's own error), the buckets already open keep working, nothing is lost, and the
 * same call succeeds once descriptors are free again. Run in a child under `ulimit -n 64`.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { removeDir, tempDir } from './helpers/temp.js'

const run = promisify(execFile)
const child = fileURLToPath(new URL('./fixtures/descriptor-limit-child.mjs', import.meta.url))

let path: string
beforeEach(async () => {
  path = await tempDir('fds')
})
afterEach(() => removeDir(path))

it('a bucket that cannot be opened for want of descriptors is KV_BACKEND_UNAVAILABLE, and opens on retry once they are free', async () => {
  const { stdout } = await run('bash', [
    '-c',
    'ulimit -n 64 && exec "$0" "$@"',
    process.execPath,
    child,
    path,
  ])
  const result = JSON.parse(stdout)
  expect(result.failed.code).toBe('KV_BACKEND_UNAVAILABLE')
  expect(result.failed.cause).toBe('LEVEL_IO_ERROR')
  expect(result.failed.message).toMatch(/Too many open files/)
  expect(result.failed.message).toMatch(/ulimit -n/)
  expect(result.failed.message).toMatch(/single_bucket_mode: true/)
  expect(result.firstMeanwhile).toBe('v1')
  expect(result.retried).toEqual({ ok: true })
  expect(result.after).toEqual({ first: 'v1', second: 'v2', third: 'v3' })
})

it('a bucket whose directory cannot be created for want of descriptors is KV_BACKEND_UNAVAILABLE, and is created on retry', async () => {
  const { stdout } = await run('bash', [
    '-c',
    'ulimit -n 64 && exec "$0" "$@"',
    process.execPath,
    child,
    path,
  ])
  const result = JSON.parse(stdout)
  // No descriptor at all: writing the bucket's name file fails, before LevelDB is involved.
  expect(result.noneFree.code).toBe('KV_BACKEND_UNAVAILABLE')
  expect(result.noneFree.cause).toBe('EMFILE')
  expect(result.noneFree.message).toMatch(/too many open files/)
  expect(result.noneFree.message).toMatch(/ulimit -n/)
  expect(result.retriedNoneFree).toEqual({ ok: true })
  expect(result.after.third).toBe('v3')
})
