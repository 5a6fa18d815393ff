/**
 * Per-bucket mode on a file system that is really full, and then read-only: `deleteBucket`, the
 * way to give space back, works on a full disk; when it fails it leaves the bucket readable; and
 * a bucket that cannot be created is a typed error. A child process runs
 * `fixtures/small-disk-child.mjs` in a user and mount namespace of its own over a small tmpfs
 * (`unshare -Urm`: no root, no loop device), whose inodes it uses up: creating a file or a
 * directory then fails with ENOSPC, as on a full disk.
 */
import { execFile, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { removeDir, tempDir } from './helpers/temp.js'

const run = promisify(execFile)
const child = fileURLToPath(new URL('./fixtures/small-disk-child.mjs', import.meta.url))

let mount: string
beforeEach(async () => {
  mount = await tempDir('small-disk')
})
afterEach(() => removeDir(mount))

// biome-ignore lint/suspicious/noExplicitAny: the child's JSON report
async function runOnSmallDisk(options: object): Promise<any> {
  const { stdout } = await run('unshare', [
    '-Urm',
    'sh',
    '-c',
    'mount -t tmpfs -o size=16m,nr_inodes=256 kv-small-disk "$1" && shift && exec "$@"',
    'sh',
    mount,
    process.execPath,
    child,
    mount,
    JSON.stringify(options),
  ])
  return JSON.parse(stdout)
}

/**
 * Whether this machine lets an unprivileged process mount a tmpfs in namespaces of its own: some
 * containers forbid user namespaces (seccomp, `kernel.unprivileged_userns_clone=0`), and there is
 * no other way to fill a disk without root. Where they are refused, this file is skipped.
 */
function namespacesAllowed(): boolean {
  const probe = mkdtempSync(join(tmpdir(), 'kv-badger-userns-'))
  try {
    const result = spawnSync('unshare', [
      '-Urm',
      'sh',
      '-c',
      'mount -t tmpfs -o size=1m kv-probe "$1"',
      'sh',
      probe,
    ])
    return result.status === 0
  } finally {
    rmSync(probe, { recursive: true, force: true })
  }
}

describe.skipIf(!namespacesAllowed()).each([{ sync_writes: false }, { sync_writes: true }])(
  'single_bucket_mode: false, sync_writes: $sync_writes',
  ({ sync_writes }) => {
    it('deleteBucket frees a full disk; a failed one leaves the bucket readable; a bucket that cannot be created is KV_BACKEND_UNAVAILABLE', async () => {
      const report = await runOnSmallDisk({ single_bucket_mode: false, sync_writes })
      expect(report.readA).toEqual({ ok: 'value of a' })
      // The disk is full: nothing more can be created on it.
      expect(report.full.fillers).toBeGreaterThan(0)
      expect(report.full.room).toBe(false)

      // The first write to a new bucket cannot create its directory.
      expect(report.newBucket).toMatchObject({ code: 'KV_BACKEND_UNAVAILABLE', cause: 'ENOSPC' })
      expect(report.newBucket.message).toMatch(/no space left on device/)
      expect(report.newBucket.message).toMatch(/Free space on its disk/)

      // Deleting a bucket works on the full disk, and gives its space back.
      expect(report.deleteA).toEqual({ ok: true })
      expect(report.readAAfter).toEqual({ ok: null })
      expect(report.readB).toEqual({ ok: 'value of b' })
      expect(report.roomAfterDelete).toBe(true)

      // A deletion that fails (read-only file system) leaves the bucket as it was, readable.
      expect(report.deleteBReadOnly).toMatchObject({
        code: 'KV_BACKEND_UNAVAILABLE',
        cause: 'EROFS',
      })
      expect(report.deleteBReadOnly.message).toMatch(/left as it was/)
      expect(report.deleteBReadOnly.message).toMatch(/mounted read-only: remount it read-write/)
      expect(report.readBReadOnly).toEqual({ ok: 'value of b' })
      // Writable again, the bucket takes writes, and deletes.
      expect(report.writeB).toEqual({ ok: true })
      expect(report.deleteB).toEqual({ ok: true })
      expect(report.readBAfter).toEqual({ ok: null })
      // Opening the store on a full disk is what fails (README): deleting needs it open.
      expect(report.openFull).toMatchObject({ code: 'KV_BACKEND_UNAVAILABLE' })
      expect(report.openFull.message).toMatch(/\/meta\b.*No space left on device/)
      expect(report.openFull.message).toMatch(/Free space on its disk/)
      expect(report.reopened).toEqual({ ok: [] })
    }, 60_000)
  },
)
