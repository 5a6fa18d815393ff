/**
 * One open store per directory: across processes (the LOCK file), within a process (a second
 * store object), and a lock left by a dead process is taken over.
 */
import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { isKVError } from '@kv/core'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { SimpleKV } from '../src/store-entry.js'
import { openStore, removeDir, runFixture, tempDir } from './helpers.js'

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

  test('closing removes the lock file', async () => {
    const store = await openStore(dir)
    await store.close()
    await expect(readFile(join(dir, 'LOCK'))).rejects.toMatchObject({ code: 'ENOENT' })
  })
})
