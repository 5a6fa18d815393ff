/**
 * `kv put` reads a value from stdin or --file only as far as the store's value limit, and checks
 * the bucket and key before reading at all: an endless input must not fill the memory.
 */
import { execFileSync, spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, cleanEnv, finish, start, type Workspace, workspace } from './helpers.js'

/** More than any limit here by far: a reader that takes it all did not stop at the limit. */
const ENDLESS = 16 * 1024 * 1024

/**
 * Writes up to {@link ENDLESS} bytes to `stream`, ending it only if all were taken. True when
 * the reader went away first, i.e. it stopped reading and exited by itself.
 */
async function feed(stream: Writable): Promise<boolean> {
  stream.on('error', () => {})
  const chunk = Buffer.alloc(64 * 1024, 'y\n')
  for (let sent = 0; sent < ENDLESS; sent += chunk.length) {
    const failed = await new Promise<boolean>((resolve) =>
      stream.write(chunk, (error) => resolve(error != null)),
    )
    if (failed) return true
  }
  stream.end()
  return false
}

describe('kv put with a value from stdin or --file', () => {
  let ws: Workspace
  const args = (...rest: string[]) => ['--backend', 'badger', ...rest]

  beforeAll(async () => {
    ws = await workspace('data_dir: ./data\nbadger:\n  max_value_bytes: 1024\n')
  })
  afterAll(async () => {
    await ws.cleanup()
  })

  async function putFromStdin(...rest: string[]) {
    const child = start(ws.dir, args('put', ...rest))
    const result = finish(child, undefined, true)
    const stoppedEarly = await feed(child.stdin!)
    return { ...(await result), stoppedEarly }
  }

  it('stops reading stdin past the value limit and exits 4 (KV_INVALID_ARGUMENT), storing nothing', async () => {
    const put = await putFromStdin('b', 'endless', '-')
    expect(put.code, put.stderr).toBe(4)
    expect(put.stderr).toMatch(
      /value from stdin is over this backend's limit of 1024 bytes .*\[KV_INVALID_ARGUMENT\]\n$/,
    )
    expect(put.stoppedEarly).toBe(true)
    expect((await ws.kv(args('exists', 'b', 'endless'))).code).toBe(3)
  })

  it('with --compressed, stops at the limit of the raw value as well', async () => {
    const put = await putFromStdin('--compressed', 'b', 'endless', '-')
    expect(put.code, put.stderr).toBe(4)
    expect(put.stderr).toMatch(/over this backend's limit of 1024 bytes.*\[KV_INVALID_ARGUMENT\]/)
    expect(put.stoppedEarly).toBe(true)
  })

  it('refuses a bad bucket or key before reading stdin at all (exit 4)', async () => {
    const bucket = await putFromStdin('', 'k', '-')
    expect(bucket.code).toBe(4)
    expect(bucket.stderr).toMatch(/bucket must be a non-empty string.*\[KV_INVALID_ARGUMENT\]/)
    expect(bucket.stoppedEarly).toBe(true)
    const longKey = Buffer.alloc(64 * 1024 + 1, 'k').toString('base64')
    const key = await putFromStdin('-k', 'base64', 'b', longKey, '-')
    expect(key.code).toBe(4)
    expect(key.stderr).toMatch(/key must be at most 65536 bytes.*\[KV_INVALID_ARGUMENT\]/)
    expect(key.stoppedEarly).toBe(true)
  })

  it('stops reading a --file that does not end (a FIFO) past the value limit (exit 4)', async () => {
    const fifo = join(ws.dir, 'endless.fifo')
    execFileSync('mkfifo', [fifo])
    const result = ws.kv(args('put', 'b', 'fifo', '--file', fifo))
    const stoppedEarly = await feed(createWriteStream(fifo))
    const put = await result
    expect(put.code, put.stderr).toBe(4)
    expect(put.stderr).toMatch(
      /value from .*endless\.fifo is over this backend's limit of 1024 bytes.*\[KV_INVALID_ARGUMENT\]/,
    )
    expect(stoppedEarly).toBe(true)
  })

  it('opens the store only once stdin has ended, so `kv get | kv put` on one store works', async () => {
    // The default value limit (64 MiB): a megabyte passes a pipe (64 KiB) only as put reads it.
    const other = await workspace()
    try {
      const child = start(other.dir, args('put', 'b', 'piped', '-'))
      const result = finish(child, undefined, true)
      const value = Buffer.alloc(1024 * 1024, 1)
      await new Promise<void>((resolve) => child.stdin!.write(value, () => resolve()))
      // put is reading stdin now; the badger store (one process at a time) must still be free.
      const meanwhile = await other.kv(args('exists', 'b', 'piped'))
      child.stdin!.end()
      expect(meanwhile.code, meanwhile.stderr).toBe(3)
      const put = await result
      expect(put.code, put.stderr).toBe(0)
      expect((await other.kv(args('get', 'b', 'piped'))).stdout).toEqual(value)
    } finally {
      await other.cleanup()
    }
  })

  it('stores a value of exactly the limit, raw or compressed, and refuses one byte more', async () => {
    const limit = Buffer.alloc(1024, 7)
    for (const compressed of [[], ['--compressed']]) {
      const put = await ws.kv(args('put', ...compressed, 'b', 'full', '-'), { input: limit })
      expect(put.code, put.stderr).toBe(0)
      const got = await ws.kv(args('get', ...compressed, 'b', 'full'))
      expect(got.stdout).toEqual(limit)
      const over = await ws.kv(args('put', ...compressed, 'b', 'over', '-'), {
        input: Buffer.alloc(1025, 7),
      })
      expect(over.code).toBe(4)
      expect(over.stderr).toMatch(/limit of 1024 bytes.*\[KV_INVALID_ARGUMENT\]/)
    }
    const file = await ws.file('full.bin', limit)
    expect((await ws.kv(args('put', 'b', 'from-file', '--file', file))).code).toBe(0)
    expect((await ws.kv(args('get', 'b', 'from-file'))).stdout).toEqual(limit)
  })

  it('refuses a directory on stdin as it refuses --file DIRECTORY (exit 4), storing nothing', async () => {
    const dir = join(ws.dir, 'a-directory')
    await mkdir(dir)
    const file = await ws.kv(args('put', 'b', 'from-dir', '--file', dir))
    expect(file.code).toBe(4)
    expect(file.stderr).toMatch(/^kv: cannot read the value file .*a-directory: EISDIR/)
    // Through a shell: the redirection makes the directory the process's stdin.
    const child = spawn(
      '/bin/sh',
      [
        '-c',
        `exec "$0" "$1" --backend badger put b from-dir - < a-directory`,
        process.execPath,
        BIN,
      ],
      {
        cwd: ws.dir,
        env: cleanEnv(),
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    )
    const stdin = await finish(child)
    expect(stdin.code, stdin.stderr).toBe(4)
    expect(stdin.stderr).toBe('kv: cannot read the value from stdin: EISDIR: it is a directory\n')
    expect((await ws.kv(args('exists', 'b', 'from-dir'))).code).toBe(3)
  })
})
