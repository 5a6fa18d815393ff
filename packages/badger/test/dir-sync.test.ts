/**
 * With `sync_writes`: every directory the store creates is synced into its parent after it is
 * created, so that a power loss cannot forget it (`meta/` in both modes; in per-bucket mode
 * `buckets/`, `trash/` and each bucket's directories). Seen from outside with strace, as
 * @kv/core's store-directory test does: which directories are created (mkdir) and which are
 * opened and fsynced, in order. Where strace is missing (or ptrace is not allowed) there is no
 * other way to see an fsync, and the test is skipped.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, rm } from 'node:fs/promises'
import { join, sep } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bucketDirName } from '../src/bucket-dir.js'
import { removeDir, tempDir } from './helpers/temp.js'

const strace = ['/usr/bin/strace', '/bin/strace'].find(
  (path) => existsSync(path) && spawnSync(path, ['-o', '/dev/null', 'true']).status === 0,
)

type Event = { kind: 'mkdir' | 'open' | 'fsync'; path: string }

/**
 * The directories created (successful mkdir), the paths opened (successful openat) and synced
 * (fsync of a descriptor opened on a path), in the order strace saw them return. The thread that syncs a descriptor may not be the
 * one that opened it: descriptors are matched process-wide. A call strace shows in two parts
 * (`<unfinished ...>`, then `<... call resumed>`) is put back together.
 */
function events(trace: string): Event[] {
  const out: Event[] = []
  const fds = new Map<string, string>()
  const unfinished = new Map<string, string>()
  for (const line of trace.split('\n')) {
    const space = line.indexOf(' ')
    const pid = line.slice(0, space)
    let text = line.slice(space + 1).trim()
    if (text.endsWith('<unfinished ...>')) {
      unfinished.set(pid, text.slice(0, -'<unfinished ...>'.length))
      continue
    }
    const resumed = /^<\.\.\. \w+ resumed>/.exec(text)
    if (resumed) {
      text = (unfinished.get(pid) ?? '') + text.slice(resumed[0].length)
      unfinished.delete(pid)
    }
    const call = /^(openat|mkdirat|mkdir)\((?:AT_FDCWD, )?"([^"]*)".*=\s*(\d+)/.exec(text)
    if (call) {
      if (call[1] === 'openat') {
        fds.set(call[3]!, call[2]!)
        out.push({ kind: 'open', path: call[2]! })
      } else out.push({ kind: 'mkdir', path: call[2]! })
      continue
    }
    const sync = /^fsync\((\d+)\s*\)\s*=\s*0/.exec(text)
    const synced = sync && fds.get(sync[1]!)
    if (synced) out.push({ kind: 'fsync', path: synced })
  }
  return out
}

/** Index of the first event of `kind` on `path` after `from`, or -1. */
function find(list: Event[], kind: Event['kind'], path: string, from = -1): number {
  return list.findIndex((e, i) => i > from && e.kind === kind && e.path === path)
}

/**
 * Runs `steps` (the body of an async function of `store`, a BadgerKV with `options`, which it
 * closes at the end) in a child process of the built package under strace; its events.
 */
async function traced(base: string, options: object, steps: string): Promise<Event[]> {
  const trace = join(base, 'trace.txt')
  const dist = new URL('../dist/index.js', import.meta.url).href
  const script = `import(${JSON.stringify(dist)}).then(async ({ BadgerKV }) => { const store = new BadgerKV(${JSON.stringify(options)}); ${steps}; await store.close() })`
  execFileSync(strace!, [
    '-f',
    '-e',
    'trace=openat,fsync,mkdir,mkdirat',
    '-o',
    trace,
    process.execPath,
    '-e',
    script,
  ])
  return events(await readFile(trace, 'utf8'))
}

describe.skipIf(strace === undefined)('with sync_writes: directory syncs (strace)', () => {
  let base: string
  beforeEach(async () => {
    base = await tempDir('dir-sync')
  })
  afterEach(() => removeDir(base))

  it.each([true, false])(
    'syncs path after creating meta/, before LevelDB puts files in it (single_bucket_mode: %s)',
    async (single) => {
      const path = join(base, 'store')
      const options = {
        path,
        single_bucket_mode: single,
        sync_writes: true,
        value_log_gc_enabled: false,
      }
      const meta = join(path, 'meta')
      const list = await traced(base, options, 'await store.open()')
      const created = find(list, 'mkdir', meta)
      expect(created).toBeGreaterThanOrEqual(0)
      const firstFile = list.findIndex(
        (e, i) => i > created && e.kind === 'open' && e.path.startsWith(meta + sep),
      )
      expect(firstFile).toBeGreaterThan(created)
      // Before the files: later syncs of path (LevelDB's, when it writes the manifest of a
      // single-bucket store; per-bucket mode's, for buckets/ and trash/) came after LevelDB had
      // written and synced meta's files, which a power loss in between could lose with meta/.
      const synced = find(list, 'fsync', path, created)
      expect(synced).toBeGreaterThan(created)
      expect(synced).toBeLessThan(firstFile)

      // Created by an open without sync_writes: the next open with it syncs path before
      // LevelDB opens meta's files (the directory it found may never have been synced).
      const unsynced = join(base, 'unsynced')
      await traced(base, { ...options, path: unsynced, sync_writes: false }, 'await store.open()')
      const reopened = await traced(base, { ...options, path: unsynced }, 'await store.open()')
      const metaFile = reopened.findIndex(
        (e) => e.kind === 'open' && e.path.startsWith(join(unsynced, 'meta') + sep),
      )
      const pathSynced = find(reopened, 'fsync', unsynced)
      expect(pathSynced).toBeGreaterThanOrEqual(0)
      expect(pathSynced).toBeLessThan(metaFile)

      // A meta/ removed from a per-bucket store that is otherwise laid out: created again and
      // synced, although buckets/ and trash/ are there (nothing else syncs path then).
      if (!single) {
        await rm(meta, { recursive: true })
        const again = await traced(base, options, 'await store.open()')
        const made = find(again, 'mkdir', meta)
        expect(made).toBeGreaterThanOrEqual(0)
        expect(find(again, 'fsync', path, made)).toBeGreaterThan(made)
      }
    },
  )

  it('per-bucket mode: syncs path after creating buckets/ and trash/, and a bucket directory after creating its db/', async () => {
    const path = join(base, 'store')
    const options = {
      path,
      single_bucket_mode: false,
      sync_writes: true,
      value_log_gc_enabled: false,
    }
    const list = await traced(
      base,
      options,
      "await store.open(); await store.addValue('b', 'k', 'v')",
    )
    const bucketsDir = join(path, 'buckets')
    const bucket = join(bucketsDir, bucketDirName('b'))
    const db = join(bucket, 'db')

    const buckets = find(list, 'mkdir', bucketsDir)
    const trash = find(list, 'mkdir', join(path, 'trash'))
    expect(buckets).toBeGreaterThanOrEqual(0)
    expect(trash).toBeGreaterThanOrEqual(0)
    expect(find(list, 'fsync', path, Math.max(buckets, trash))).toBeGreaterThan(0)

    const created = find(list, 'mkdir', db)
    expect(created).toBeGreaterThanOrEqual(0)
    expect(find(list, 'fsync', bucket, created)).toBeGreaterThan(0)
    // And, as before, the bucket's directory into buckets/.
    expect(find(list, 'fsync', bucketsDir, find(list, 'mkdir', bucket))).toBeGreaterThan(0)
  })
})
