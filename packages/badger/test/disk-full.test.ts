/**
 * Writes failing for want of space while the store is open. A child process runs
 * `fixtures/size-limited-child.mjs` under a soft `ulimit -f`: LevelDB's write(2) past the limit
 * fails with EFBIG, as on a full disk with ENOSPC. Real files, a real kernel, no root needed.
 * The child writes until a write is rejected, tries each operation, then lifts the limit (the
 * disk has room again), writes once more and SIGKILLs itself; the store is then reopened here,
 * without the limit, to see what survived.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BadgerKV, type BadgerOptions } from '../src/index.js'
import { valueFor } from './fixtures/size-limited-plan.mjs'
import { removeDir, tempDir } from './helpers/temp.js'

const run = promisify(execFile)
const child = fileURLToPath(new URL('./fixtures/size-limited-child.mjs', import.meta.url))
/** bash's `ulimit -f` counts KiB: 2 MiB, well under the 10 MiB memtable, so the log hits it first. */
const LIMIT_KIB = 2048

interface Failure {
  code?: string
  cause?: string
  message?: string
  ok?: unknown
}
interface Report {
  limit: number
  acknowledged: string[]
  failed: Failure & { key: string }
  after: Record<string, Failure>
  afterLifted: Failure
}

/** Runs the child under the limit; it must end killed by its own SIGKILL. */
async function runLimited(path: string, options: BadgerOptions): Promise<Report> {
  try {
    await run(
      'bash',
      [
        '-c',
        'ulimit -S -f "$1" && shift && exec "$@"',
        'bash',
        String(LIMIT_KIB),
        process.execPath,
        child,
        path,
        JSON.stringify(options),
      ],
      { maxBuffer: 64 * 1024 * 1024 },
    )
  } catch (error) {
    const { signal, stdout, stderr } = error as { signal?: string; stdout: string; stderr: string }
    if (signal === 'SIGKILL') return JSON.parse(stdout)
    throw new Error(`size-limited-child.mjs ended with ${signal ?? 'an exit code'}:\n${stderr}`)
  }
  throw new Error('size-limited-child.mjs exited instead of killing itself')
}

/** A refusal of a write on a database out of space: typed, LevelDB's error as the cause. */
function expectRefused(failure: Failure | undefined, name: string): void {
  expect(failure, name).toMatchObject({ code: 'KV_BACKEND_UNAVAILABLE', cause: 'LEVEL_IO_ERROR' })
  // What happened and what to do: the file-size limit, then a reopen (LevelDB's log may hold
  // part of the failed write).
  expect(failure!.message, name).toMatch(/File too large/)
  expect(failure!.message, name).toMatch(/ulimit -f/)
  expect(failure!.message, name).toMatch(/close the store and open it again/)
}

let path: string
beforeEach(async () => {
  path = await tempDir('disk-full')
})
afterEach(() => removeDir(path))

describe.each([
  { single_bucket_mode: true, sync_writes: false },
  { single_bucket_mode: true, sync_writes: true },
  { single_bucket_mode: false, sync_writes: false },
  { single_bucket_mode: false, sync_writes: true },
])('single_bucket_mode: $single_bucket_mode, sync_writes: $sync_writes', (options) => {
  it('a write that finds no space is KV_BACKEND_UNAVAILABLE; writes stay refused until reopened; nothing acknowledged is lost', async () => {
    const report = await runLimited(path, options)
    // The log filled up: about the limit's worth of 1,000-byte values was acknowledged first.
    expect(report.limit).toBe(LIMIT_KIB * 1024)
    expect(report.acknowledged.length).toBeGreaterThan((0.9 * report.limit) / 1000)
    expectRefused(report.failed, 'the failed write')
    expect(report.failed.message).toContain(path)

    const { after } = report
    expectRefused(after.addValue, 'addValue')
    expectRefused(after.addValues, 'addValues')
    expectRefused(after.deleteKey, 'deleteKey')
    if (options.single_bucket_mode) {
      // One database for every bucket: all of them are refused.
      expectRefused(after.otherBucket, 'addValue to another bucket')
    } else {
      // A database per bucket: the others still take writes.
      expect(after.otherBucket).toEqual({ ok: true })
    }
    // Reads still work, and see every acknowledged write.
    expect(after.getValue).toEqual({ ok: 1000 })
    expect(after.keys).toEqual({ ok: report.acknowledged.length })
    // With room again LevelDB would take a write, and lose it (and those after it) at the
    // next open, behind the part of the failed one left in its log: the store still refuses.
    expectRefused(report.afterLifted, 'a write once the limit is lifted')
    if (options.single_bucket_mode) expectRefused(after.deleteBucket, 'deleteBucket')

    const store = new BadgerKV({ ...options, path, value_log_gc_enabled: false })
    await store.open()
    for (const key of report.acknowledged) {
      expect(await store.getValue('b', key), key).toEqual(valueFor(key))
    }
    let listed = 0
    for await (const _ of store.keys('b')) listed++
    expect(listed).toBe(report.acknowledged.length)
    for (const key of [report.failed.key, 'late', 'late-1', 'lifted']) {
      expect(await store.existsKey('b', key), key).toBe(false)
    }
    expect(await store.existsKey('other', 'k')).toBe(!options.single_bucket_mode)
    // Reopened, the database takes writes again.
    await store.addValue('b', 'lifted', valueFor('lifted'))
    expect(await store.getValue('b', 'lifted')).toEqual(valueFor('lifted'))
    await store.close()
  })
})
