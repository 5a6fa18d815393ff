/**
 * One open store per directory: across processes (the LOCK file), within a process (a second
 * store object, another thread), and a lock left by a dead process is taken over — never one
 * that a live owner holds, however takeovers race.
 */
import { execFileSync, spawn } from 'node:child_process'
import { chmod, link, mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { isKVError } from '@kv/core'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { acquireLock, readLock, removeStale } from '../src/lock.js'
import { SimpleKV } from '../src/store-entry.js'
import { FIXTURES, openStore, removeDir, runFixture, tempDir } from './helpers.js'

let dir: string
beforeEach(async () => {
  dir = await tempDir('simple-kv-lock')
})
afterEach(async () => {
  await removeDir(dir)
})

async function tryOpenInChild(
  path: string,
): Promise<{ ok: boolean; code?: string; message?: string }> {
  const child = runFixture('try-open.mjs', [path])
  const { code } = await child.exited
  expect(code, child.stderr()).toBe(0)
  return JSON.parse(child.lines.at(-1)!)
}

/** The pid in the LOCK file of `dir`. */
async function lockOwner(): Promise<string> {
  return (await readFile(join(dir, 'LOCK'), 'utf8')).trim()
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'])
  await new Promise((resolve) => child.on('exit', resolve))
  return child.pid!
}

describe('between processes', () => {
  test('a second process gets KV_LOCKED naming the path and the owner', async () => {
    const store = await openStore(dir)
    try {
      const result = await tryOpenInChild(dir)
      expect(result.ok).toBe(false)
      expect(result.code).toBe('KV_LOCKED')
      expect(result.message).toContain(dir)
      expect(result.message).toContain(`process ${process.pid}`)
    } finally {
      await store.close()
    }
    // Released on close: the other process can open it now.
    expect((await tryOpenInChild(dir)).ok).toBe(true)
  })

  test('this process gets KV_LOCKED while another process holds the store', async () => {
    const holder = runFixture('hold.mjs', [dir])
    try {
      const ready = await holder.waitFor((line) => line.startsWith('ready '))
      const pid = Number(ready.split(' ')[1])
      const error = await new SimpleKV({ path: dir }).open().catch((e: unknown) => e)
      expect(isKVError(error, 'KV_LOCKED')).toBe(true)
      expect((error as Error).message).toContain(`process ${pid}`)
    } finally {
      holder.process.kill('SIGKILL')
      await holder.exited
    }
  })

  test('the lock of a process killed with SIGKILL is taken over, with its data', async () => {
    const holder = runFixture('hold.mjs', [dir])
    const ready = await holder.waitFor((line) => line.startsWith('ready '))
    const pid = ready.split(' ')[1]
    holder.process.kill('SIGKILL')
    await holder.exited
    // The dead process's lock is still there…
    expect((await readFile(join(dir, 'LOCK'), 'utf8')).trim()).toBe(pid)
    // …and does not stop a new owner.
    const store = await openStore(dir)
    expect(Buffer.from((await store.getValue('held', 'by'))!).toString()).toBe(pid)
    expect((await readFile(join(dir, 'LOCK'), 'utf8')).trim()).toBe(String(process.pid))
    await store.close()
  })
})

describe('a process that may not write to the store directory', () => {
  /** Tries to open the store at `path` in a child that runs as uid and gid 65534 (nobody). */
  async function tryOpenAsNobody(
    path: string,
  ): Promise<{ ok: boolean; code?: string; message?: string; cause?: string }> {
    const child = runFixture('try-open-as.mjs', ['65534', path])
    const { code } = await child.exited
    expect(code, child.stderr()).toBe(0)
    return JSON.parse(child.lines.at(-1)!)
  }

  test('gets KV_LOCKED while another process holds the store; the permissions error once none does', async (context) => {
    // Only root can start a process as another user, and root itself writes anywhere.
    if (process.getuid?.() !== 0)
      return context.skip('needs root: the child drops to uid 65534 to lack write access')
    // Readable and searchable by all (tempDir makes it 0700), writable by root alone.
    await chmod(dir, 0o755)
    const holder = runFixture('hold.mjs', [dir])
    let pid: string
    try {
      pid = (await holder.waitFor((line) => line.startsWith('ready '))).split(' ')[1]!
      const result = await tryOpenAsNobody(dir)
      expect(result).toMatchObject({ ok: false, code: 'KV_LOCKED' })
      expect(result.message).toContain(dir)
      expect(result.message).toContain(`process ${pid}`)
      // Advice this process can follow: not "close it there" or "remove LOCK".
      expect(result.message).toContain('may not create files')
      expect(result.message).not.toContain('remove')
    } finally {
      holder.process.kill('SIGKILL')
      await holder.exited
    }
    // The holder is dead: its lock is stale, which a process that cannot write does not take
    // over. The file system's error, and the lock left as it was.
    const stale = await tryOpenAsNobody(dir)
    expect(stale).toMatchObject({ ok: false, code: 'KV_BACKEND_UNAVAILABLE', cause: 'EACCES' })
    expect(stale.message).toContain('Give the process read and write access')
    expect(await lockOwner()).toBe(pid)
    expect((await readdir(dir)).filter((name) => name.startsWith('LOCK'))).toEqual(['LOCK'])
    // No lock at all: the same error.
    await rm(join(dir, 'LOCK'))
    expect(await tryOpenAsNobody(dir)).toMatchObject({
      ok: false,
      code: 'KV_BACKEND_UNAVAILABLE',
      cause: 'EACCES',
    })
    // Root opens it: the data of the dead holder is there.
    const store = await openStore(dir)
    expect(Buffer.from((await store.getValue('held', 'by'))!).toString()).toBe(pid)
    await store.close()
  })
})

describe('stale lock files', () => {
  test('a lock naming a pid that is not running is taken over', async () => {
    await writeFile(join(dir, 'LOCK'), `${await deadPid()}\n`)
    const store = await openStore(dir)
    // Taken over, not merely ignored: the lock now names this process, so others are kept out.
    expect(await lockOwner()).toBe(String(process.pid))
    await store.addValue('b', 'k', 'v')
    await store.close()
  })

  test('a lock naming this process, which does not hold it, is taken over (a restarted container)', async () => {
    await writeFile(join(dir, 'LOCK'), `${process.pid}\n`)
    const store = await openStore(dir)
    expect(await lockOwner()).toBe(String(process.pid))
    await store.close()
  })

  test('an unreadable lock file is taken over', async () => {
    await writeFile(join(dir, 'LOCK'), 'not a pid')
    const store = await openStore(dir)
    expect(await lockOwner()).toBe(String(process.pid))
    await store.close()
  })
})

describe('within one process', () => {
  test('a second store object over the same directory gets KV_LOCKED until the first closes', async () => {
    const first = await openStore(dir)
    const second = new SimpleKV({ path: dir })
    const error = await second.open().catch((e: unknown) => e)
    expect(isKVError(error, 'KV_LOCKED')).toBe(true)
    // The README: the message names the path and the owner's pid (here, this process).
    expect((error as Error).message).toContain(dir)
    expect((error as Error).message).toContain(`pid ${process.pid}`)
    expect(second.status).toBe('closed')
    await first.close()
    await second.open()
    await second.close()
  })

  test('the same directory reached through another path is the same store', async () => {
    const first = await openStore(dir)
    const error = await new SimpleKV({ path: join(dir, '.', '..', dir.split('/').at(-1)!) })
      .open()
      .catch((e: unknown) => e)
    expect(isKVError(error, 'KV_LOCKED')).toBe(true)
    await first.close()
  })

  test('the same directory through a bind mount is refused as a second store object (not as another thread)', async (context) => {
    // Bind mounts need a mount namespace: `unshare -rm` (user namespaces), which some machines
    // forbid. Nothing else makes a second path to a directory that realpath does not resolve.
    try {
      execFileSync('unshare', ['-rm', 'true'], { stdio: 'ignore' })
    } catch {
      return context.skip('unshare -rm is not permitted here')
    }
    const real = join(dir, 'real')
    const alias = join(dir, 'alias')
    await mkdir(real)
    await mkdir(alias)
    const output = execFileSync(
      'unshare',
      [
        '-rm',
        'sh',
        '-c',
        'mount --bind "$1" "$2" && exec "$3" "$4" "$1" "$2"',
        'sh',
        real,
        alias,
        process.execPath,
        join(FIXTURES, 'bind-open.mjs'),
      ],
      { encoding: 'utf8' },
    )
    const result = JSON.parse(output.trim().split('\n').at(-1)!)
    expect(result).toMatchObject({ ok: false, code: 'KV_LOCKED' })
    expect(result.message).toContain('by another store object')
  })

  test('closing removes the lock file', async () => {
    const store = await openStore(dir)
    await store.close()
    await expect(readFile(join(dir, 'LOCK'))).rejects.toMatchObject({ code: 'ENOENT' })
  })
})

describe('temporary lock files left by processes killed while taking the lock', () => {
  test('are removed once the lock is held, unless an attempt may still be using them', async () => {
    // What a SIGKILL between creating `LOCK.<pid>.<hex>.tmp` and removing it leaves, one per
    // kill: named by the pid of a process that is gone, or by this pid (an earlier process
    // that had it, as in a restarted container).
    const dead = `LOCK.${await deadPid()}.0123abcd.tmp`
    const samePidGone = `LOCK.${process.pid}.89abcdef.tmp`
    // Attempts that may be in progress, whose `link` must not fail with ENOENT: another running
    // process's file, and one of this pid that a descriptor of ours has open (a worker's).
    const sleeper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'])
    const live = `LOCK.${sleeper.pid}.00ff00ff.tmp`
    const ownOpen = `LOCK.${process.pid}.fedcba98.tmp`
    const unrelated = 'LOCK.notes.tmp'
    for (const name of [dead, samePidGone, live, ownOpen, unrelated]) {
      await writeFile(join(dir, name), '1\n')
    }
    const handle = await open(join(dir, ownOpen), 'r')
    try {
      const store = await openStore(dir)
      const left = (await readdir(dir)).filter((name) => name.startsWith('LOCK.'))
      expect(left.sort()).toEqual([live, ownOpen, unrelated].sort())
      await store.close()
    } finally {
      await handle.close()
      sleeper.kill('SIGKILL')
    }
  })
})

describe('a temporary lock file that cannot be removed', () => {
  test('the lock is taken anyway, and its owner keeps the descriptor that shows it held', async (context) => {
    // An append-only directory (chattr +a) takes new files and links but refuses to remove
    // any, root included: removing the temporary file fails once LOCK is linked to it.
    const storeDir = join(dir, 'append-only')
    await mkdir(storeDir)
    const chattr = (flag: string) => execFileSync('chattr', [flag, storeDir], { stdio: 'ignore' })
    try {
      chattr('+a')
    } catch {
      // Needs CAP_LINUX_IMMUTABLE and a file system with inode flags (ext4, xfs, btrfs).
      context.skip()
    }
    try {
      const lock = await acquireLock(storeDir)
      // Held: another descriptor of this process (the owner's) has LOCK open, so another
      // thread would get KV_LOCKED; a lost descriptor would leave it open to takeover.
      expect(await readLock(join(storeDir, 'LOCK'))).toMatchObject({
        pid: process.pid,
        heldHere: true,
      })
      const left = (await readdir(storeDir)).filter((name) => name !== 'LOCK')
      expect(left).toEqual([expect.stringMatching(/^LOCK\.\d+\.[0-9a-f]{8}\.tmp$/)])
      chattr('-a')
      await lock.release()
      await expect(readFile(join(storeDir, 'LOCK'))).rejects.toMatchObject({ code: 'ENOENT' })
    } finally {
      chattr('-a')
    }
  })
})

/** A worker thread running fixtures/worker-open.mjs over `path`, and the messages it posts. */
function startWorker(path: string): { worker: Worker; next(): Promise<unknown> } {
  const worker = new Worker(join(FIXTURES, 'worker-open.mjs'), { workerData: { path } })
  const queued: unknown[] = []
  const waiting: ((message: unknown) => void)[] = []
  worker.on('message', (message: unknown) => {
    const resolve = waiting.shift()
    if (resolve) resolve(message)
    else queued.push(message)
  })
  worker.on('error', (error) => {
    for (const resolve of waiting.splice(0)) resolve({ error: String(error) })
  })
  return {
    worker,
    next: () =>
      queued.length > 0
        ? Promise.resolve(queued.shift())
        : new Promise((resolve) => waiting.push(resolve)),
  }
}

/** The value of `bucket/key` in `store`, as a string. */
async function read(store: SimpleKV, bucket: string, key: string): Promise<string | undefined> {
  const value = await store.getValue(bucket, key)
  return value === null ? undefined : Buffer.from(value).toString()
}

describe('between threads of one process', () => {
  // Threads share the pid, so a LOCK naming this pid does not tell them apart: before, a worker
  // took the main thread's lock over as stale and both wrote the same WAL.
  test('a worker gets KV_LOCKED while the main thread holds the store, and opens it once closed', async () => {
    const store = await openStore(dir)
    const refused = startWorker(dir)
    try {
      const result = (await refused.next()) as { ok: boolean; code?: string; message?: string }
      expect(result.ok).toBe(false)
      expect(result.code).toBe('KV_LOCKED')
      expect(result.message).toContain(dir)
      expect(result.message).toContain('another thread')
    } finally {
      await refused.worker.terminate()
    }
    await store.addValue('thread', 'main', 'written by the main thread')
    await store.close()

    const later = startWorker(dir)
    try {
      expect(await later.next()).toEqual({ ok: true })
      later.worker.postMessage('close')
      expect(await later.next()).toBe('closed')
    } finally {
      await later.worker.terminate()
    }
    const reopened = await openStore(dir)
    expect(await read(reopened, 'thread', 'main')).toBe('written by the main thread')
    expect(await read(reopened, 'thread', 'worker')).toBe('written by the worker')
    await reopened.close()
  })

  test('the main thread gets KV_LOCKED while a worker holds the store', async () => {
    const holder = startWorker(dir)
    try {
      expect(await holder.next()).toEqual({ ok: true })
      const error = await new SimpleKV({ path: dir }).open().catch((e: unknown) => e)
      expect(isKVError(error, 'KV_LOCKED')).toBe(true)
      expect((error as Error).message).toContain(`pid ${process.pid}`)
      expect((error as Error).message).toContain('another thread')
      holder.worker.postMessage('close')
      expect(await holder.next()).toBe('closed')
    } finally {
      await holder.worker.terminate()
    }
    const store = await openStore(dir)
    expect(await read(store, 'thread', 'worker')).toBe('written by the worker')
    await store.close()
  })

  test('the lock of a worker that ended without closing its store is taken over, with its data', async () => {
    const holder = startWorker(dir)
    expect(await holder.next()).toEqual({ ok: true })
    // Node closes a worker's descriptors when it ends: nothing of that store can write any more.
    await holder.worker.terminate()
    expect(await lockOwner()).toBe(String(process.pid))
    const store = await openStore(dir)
    expect(await read(store, 'thread', 'worker')).toBe('written by the worker')
    await store.close()
  })
})

describe('racing takeovers', () => {
  // Three processes: A judges a lock stale; B takes it over and holds it; A then acts on its
  // judgement. Before, A moved B's lock aside to look at it, and a third process could create
  // LOCK in that instant: A's attempt to put B's back then failed, and B and C both held it.
  test('a takeover judged on a lock that another process has since taken over leaves that lock alone', async () => {
    const path = join(dir, 'LOCK')
    const dead = await deadPid()
    await writeFile(path, `${dead}\n`)
    const judged = await readLock(path)
    expect(judged?.pid).toBe(dead)

    const holder = runFixture('hold.mjs', [dir])
    try {
      const pid = (await holder.waitFor((line) => line.startsWith('ready '))).split(' ')[1]
      const before = await stat(path, { bigint: true })
      expect(await removeStale(path, judged!)).toBeUndefined()
      const after = await stat(path, { bigint: true })
      expect(after.ino).toBe(before.ino)
      expect(await lockOwner()).toBe(pid)
      // B still keeps everyone else out.
      const result = await tryOpenInChild(dir)
      expect(result.code).toBe('KV_LOCKED')
      expect(result.message).toContain(`process ${pid}`)
    } finally {
      holder.process.kill('SIGKILL')
      await holder.exited
    }
  })

  test('…also when the new lock got the inode number of the stale one', async () => {
    const path = join(dir, 'LOCK')
    const owner = await acquireLock(dir)
    try {
      const live = (await readLock(path))!
      // What A read of the stale file that had this inode number before it was removed.
      const judged = { ...live, pid: await deadPid(), heldHere: false }
      expect(await removeStale(path, judged)).toBeUndefined()
      expect((await stat(path, { bigint: true })).ino).toBe(live.ino)
      expect(await lockOwner()).toBe(String(process.pid))
      // The claim it made is gone.
      expect((await readdir(dir)).filter((name) => name.startsWith('LOCK.'))).toEqual([])
    } finally {
      await owner.release()
    }
    await expect(readFile(path)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  test('a takeover interrupted after its claim leaves the store KV_LOCKED, naming the claim, until it is removed', async () => {
    const path = join(dir, 'LOCK')
    await writeFile(path, `${await deadPid()}\n`)
    // What a taker killed between claiming the stale lock and removing it leaves.
    const claim = `${path}.takeover.${(await stat(path, { bigint: true })).ino}`
    await link(path, claim)
    const error = await new SimpleKV({ path: dir }).open().catch((e: unknown) => e)
    expect(isKVError(error, 'KV_LOCKED')).toBe(true)
    expect((error as Error).message).toContain(claim)
    await rm(claim)
    const store = await openStore(dir)
    expect(await lockOwner()).toBe(String(process.pid))
    await store.close()
  })
})
