/**
 * Writes cut short by a full disk. A child process runs `fixtures/size-limited.mjs` under
 * `ulimit -f`: the kernel then does what it does when a disk fills up — the write(2) that
 * reaches the limit writes what fits and returns a short count, the next one fails (EFBIG here,
 * ENOSPC on a full disk). Real files, a real kernel, no root needed. The store is then reopened
 * here, without the limit, to see what survived.
 */
import { spawn } from 'node:child_process'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { collectWarnings, FIXTURES, openStore, removeDir, tempDir } from './helpers.js'

const MANUAL = { snapshot_wal_bytes: 0, snapshot_interval_seconds: 0 }
const SNAPSHOT_1 = 'snapshot-0000000000000001.snap'
const SNAPSHOT_2 = 'snapshot-0000000000000002.snap'
const WAL_2 = 'wal-0000000000000002.log'
const WAL_3 = 'wal-0000000000000003.log'
/**
 * `ulimit -f` blocks: 400 KiB with dash (512-byte blocks), 800 KiB with bash; the child reads
 * which. Either way a snapshot of 1.2 times that fits in one 1 MiB block, so the short write is
 * the snapshot's last: no later write(2) fails to reveal it.
 */
const LIMIT_BLOCKS = 800
/** Snapshot blocks are written when they reach 1 MiB (README, *On-disk format*). */
const BLOCK_BYTES = 1024 * 1024
/** Bytes of the file header (README, *On-disk format*). */
const FILE_HEADER_BYTES = 24

let dir: string
beforeEach(async () => {
  dir = await tempDir('simple-kv-disk-full')
})
afterEach(async () => {
  await removeDir(dir)
})

/**
 * Runs a scenario of size-limited.mjs under `ulimit -f` and returns the JSON line it printed; the
 * child must end as `ending` says.
 */
function runLimited<T>(
  scenario: string,
  ending: 'exit 0' | 'SIGKILL',
): Promise<T & { limit: number }> {
  const child = spawn(
    '/bin/sh',
    [
      '-c',
      'ulimit -f "$1" && shift && exec "$@"',
      'sh',
      String(LIMIT_BLOCKS),
      process.execPath,
      join(FIXTURES, 'size-limited.mjs'),
      scenario,
      dir,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk))
  return new Promise((resolve, reject) =>
    child.on('close', (code, signal) =>
      (ending === 'SIGKILL' ? signal === 'SIGKILL' : code === 0)
        ? resolve(JSON.parse(out))
        : reject(new Error(`size-limited.mjs ${scenario}: code ${code}, signal ${signal}\n${err}`)),
    ),
  )
}

/** The codes of the warnings emitted while `body` runs. */
async function warningCodes(body: () => Promise<void>): Promise<string[]> {
  return (await collectWarnings(body)).map((w) => w.code ?? w.name)
}

test('a snapshot cut short by a full disk rejects with KV_BACKEND_UNAVAILABLE and retires nothing', async () => {
  const result = await runLimited<{ first: string; second: string; acknowledged: number }>(
    'snapshot',
    'exit 0',
  )
  // The first snapshot fits under the limit; the second needs about twice as much, and is one
  // block: a block header, a bucket item, the entries (`k<i>`, 1,000-byte values), the end item.
  const entryBytes = (i: number) => 9 + `k${i}`.length + 1000
  let snapshotBytes = FILE_HEADER_BYTES + 12 + 3 + 9
  for (let i = 0; i < result.acknowledged; i++) snapshotBytes += entryBytes(i)
  expect(snapshotBytes).toBeGreaterThan(result.limit)
  expect(snapshotBytes).toBeLessThan(BLOCK_BYTES)
  expect(result.first).toBe('resolved')
  expect(result.second).toBe('KV_BACKEND_UNAVAILABLE (EFBIG)')
  // The older snapshot and the segment the failed one would have covered are still there; the
  // failed one's temporary file is gone.
  const files = (await readdir(dir)).sort()
  expect(files).toEqual([SNAPSHOT_1, WAL_2, WAL_3])
  expect(files).not.toContain(SNAPSHOT_2)

  const store = await openStore(dir, MANUAL)
  expect(store.stats().entries).toBe(result.acknowledged)
  for (let i = 0; i < result.acknowledged; i++) {
    expect((await store.getValue('b', `k${i}`))?.length, `k${i}`).toBe(1000)
  }
  await store.close()
})

test('a WAL write rejected because the disk is full is not in the store after SIGKILL and reopen', async () => {
  // The child is killed the moment its first write is rejected (the first record of the batch
  // that failed), so whatever the store would do later does not count.
  const result = await runLimited<{
    code: string
    cause: string
    acknowledged: string[]
    rejected: string
  }>('wal', 'SIGKILL')
  expect(result.code).toBe('KV_BACKEND_UNAVAILABLE')
  expect(result.cause).toBe('EFBIG')
  // The case that matters: the limit fell after at least one whole record of the rejected batch
  // (a put of `r<round>-<i>` with a 1,000-byte value in bucket 'b', framed as the README says), so
  // the failed write(2) left whole records behind, not only a partial one.
  const recordBytes = (key: string) => 12 + 2 + 1 + 4 + key.length + 1000
  const before = result.acknowledged.reduce((sum, key) => sum + recordBytes(key), FILE_HEADER_BYTES)
  expect(result.limit - before).toBeGreaterThanOrEqual(recordBytes(result.rejected))

  const warnings = await warningCodes(async () => {
    const store = await openStore(dir, MANUAL)
    for (const key of result.acknowledged)
      expect((await store.getValue('b', key))?.length, key).toBe(1000)
    expect(await store.existsKey('b', result.rejected)).toBe(false)
    // Nor any other record of that batch: all of them were rejected.
    expect(store.stats().entries).toBe(result.acknowledged.length)
    await store.close()
  })
  // What the failed batch wrote was cut off before the rejection: no torn tail is left either.
  expect(warnings).toEqual([])
})
