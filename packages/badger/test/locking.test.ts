import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, symlink, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { isKVError } from '@kv/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BadgerKV, type BadgerOptions } from '../src/index.js'
import { removeDir, tempDir } from './helpers/temp.js'

const run = promisify(execFile)
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

async function holdInChild(path: string, options: BadgerOptions): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [fixture('hold-child.mjs'), path, JSON.stringify(options)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  )
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer]
  expect(chunk.toString().trim()).toBe('ready')
  return child
}

async function release(child: ChildProcess): Promise<void> {
  child.stdin!.end()
  await once(child, 'exit')
}

describe.each([
  ['single_bucket_mode: true', { single_bucket_mode: true }],
  ['single_bucket_mode: false', { single_bucket_mode: false }],
] as [string, BadgerOptions][])('locking (%s)', (_name, options) => {
  let path: string
  beforeEach(async () => {
    path = await tempDir('lock')
  })
  afterEach(async () => {
    await removeDir(path)
  })

  it('a second process opening the same path fails with KV_LOCKED, LevelDB lock error as cause', async () => {
    const holder = await holdInChild(path, options)
    try {
      const { stdout } = await run(process.execPath, [
        fixture('lock-child.mjs'),
        path,
        JSON.stringify(options),
      ])
      const result = JSON.parse(stdout)
      expect(result.code).toBe('KV_LOCKED')
      expect(result.cause).toBe('LEVEL_LOCKED')
      expect(result.message).toMatch(/locked/)
    } finally {
      await release(holder)
    }
    // Once the holder is gone the path opens, with the holder's data.
    const store = new BadgerKV({ ...options, path })
    await store.open()
    expect(await store.existsKey('held', 'k')).toBe(true)
    await store.close()
  }, 60_000)

  it('a second store in this process fails with KV_LOCKED too, the first keeps working, and other processes stay locked out', async () => {
    const first = new BadgerKV({ ...options, path })
    await first.open()
    // Also by another name of the same directory.
    await symlink(path, `${path}-link`)
    for (const other of [path, `${path}-link`]) {
      const second = new BadgerKV({ ...options, path: other })
      const error = await second.open().catch((e: unknown) => e)
      expect(isKVError(error, 'KV_LOCKED')).toBe(true)
      // Refused before LevelDB is asked: its refusal closes a descriptor of the LOCK file, which
      // drops the lock this process holds on it.
      expect((error as Error).cause).toBeUndefined()
      expect((error as Error).message).toBe(
        `badger.path ${other} is already open in this process (another BadgerKV store holds it); close that one first, or give this store its own badger.path.`,
      )
      expect(second.status).toBe('closed')
    }
    await unlink(`${path}-link`)
    // The refused opens left the first store's lock in place: another process is still refused.
    const { stdout } = await run(process.execPath, [
      fixture('lock-child.mjs'),
      path,
      JSON.stringify(options),
    ])
    expect(JSON.parse(stdout)).toMatchObject({ code: 'KV_LOCKED', cause: 'LEVEL_LOCKED' })
    const second = new BadgerKV({ ...options, path })
    await first.addValue('b', 'k', 'v')
    expect(await first.existsKey('b', 'k')).toBe(true)
    await first.close()
    // The failed store can open once the lock is free.
    await second.open()
    expect(await second.existsKey('b', 'k')).toBe(true)
    await second.close()
  })
})

/** Whether this machine lets an unprivileged process make a mount namespace (for bind mounts). */
async function canBindMount(): Promise<boolean> {
  return run('unshare', ['-rm', 'true']).then(
    () => true,
    () => false,
  )
}

describe.each([
  ['single_bucket_mode: true', { single_bucket_mode: true }],
  ['single_bucket_mode: false', { single_bucket_mode: false }],
] as [string, BadgerOptions][])(
  'a store directory reached through a bind mount (%s)',
  (_name, options) => {
    it('a second store in this process fails with KV_LOCKED', async (context) => {
      // Bind mounts need a mount namespace: `unshare -rm` (user namespaces), which some machines
      // forbid. Nothing else makes a second path to a directory that realpath does not resolve.
      if (!(await canBindMount())) return context.skip('unshare -rm is not permitted here')
      const base = await tempDir('bind')
      try {
        const real = join(base, 'real')
        const alias = join(base, 'alias')
        await mkdir(real)
        await mkdir(alias)
        const script = 'mount --bind "$1" "$2" && exec "$3" "$4" "$1" "$2" "$5"'
        const { stdout } = await run('unshare', [
          '-rm',
          'sh',
          '-c',
          script,
          'sh',
          real,
          alias,
          process.execPath,
          fixture('bind-child.mjs'),
          JSON.stringify(options),
        ])
        expect(JSON.parse(stdout)).toEqual({ code: 'KV_LOCKED' })
      } finally {
        await removeDir(base)
      }
    }, 60_000)
  },
)

describe('layout on disk', () => {
  it('refuses to open a directory written in the other single_bucket_mode', async () => {
    const path = await tempDir('layout')
    try {
      const perBucket = new BadgerKV({ path, single_bucket_mode: false })
      await perBucket.open()
      await perBucket.addValue('b', 'k', 'v')
      await perBucket.close()
      const single = new BadgerKV({ path, single_bucket_mode: true })
      const error = await single.open().catch((e: unknown) => e)
      expect(isKVError(error, 'KV_INVALID_CONFIG')).toBe(true)

      const other = await tempDir('layout')
      try {
        const s = new BadgerKV({ path: other, single_bucket_mode: true })
        await s.open()
        await s.close()
        const p = new BadgerKV({ path: other, single_bucket_mode: false })
        expect(isKVError(await p.open().catch((e: unknown) => e), 'KV_INVALID_CONFIG')).toBe(true)
      } finally {
        await removeDir(other)
      }
    } finally {
      await removeDir(path)
    }
  })
})

describe('two stores of different single_bucket_mode on one fresh path', () => {
  let path: string
  beforeEach(async () => {
    path = `${await tempDir('mixed')}/store`
  })
  afterEach(async () => {
    await removeDir(join(path, '..'))
  })

  /** The path opens in `mode` with `bucket`'s value, and is refused in the other mode. */
  async function usableIn(single: boolean, bucket: string, value: string): Promise<void> {
    const store = new BadgerKV({ path, single_bucket_mode: single })
    await store.open()
    expect(new TextDecoder().decode((await store.getValue(bucket, 'k'))!)).toBe(value)
    await store.close()
    const other = new BadgerKV({ path, single_bucket_mode: !single })
    expect(await other.open().catch((e: unknown) => e)).toMatchObject({
      code: 'KV_INVALID_CONFIG',
    })
  }

  it('in one process, opened together: one opens, the other is refused, and the path stays usable', async () => {
    const single = new BadgerKV({ path, single_bucket_mode: true })
    const perBucket = new BadgerKV({ path, single_bucket_mode: false })
    const [a, b] = await Promise.allSettled([single.open(), perBucket.open()])
    const winner = a.status === 'fulfilled' ? single : perBucket
    const loser = a.status === 'fulfilled' ? b : a
    expect([a.status, b.status].sort()).toEqual(['fulfilled', 'rejected'])
    expect(['KV_LOCKED', 'KV_INVALID_CONFIG']).toContain(
      ((loser as PromiseRejectedResult).reason as { code: string }).code,
    )
    await winner.addValue('acct', 'k', 'v')
    await winner.close()
    await usableIn(winner === single, 'acct', 'v')
  })

  it('in two processes, started together: one opens, the other is refused, and the path stays usable', async () => {
    const child = (single: boolean) =>
      run(process.execPath, [
        fixture('lock-child.mjs'),
        path,
        JSON.stringify({ single_bucket_mode: single }),
      ]).then(({ stdout }) => JSON.parse(stdout))
    const [single, perBucket] = await Promise.all([child(true), child(false)])
    const outcomes = [single, perBucket]
    expect(outcomes.filter((o) => o.opened === true)).toHaveLength(1)
    const refused = outcomes.find((o) => o.opened !== true)
    expect(['KV_LOCKED', 'KV_INVALID_CONFIG']).toContain(refused.code)
    // The winner's mode opens the path (the child wrote nothing: an empty bucket reads null).
    const winnerSingle = single.opened === true
    const store = new BadgerKV({ path, single_bucket_mode: winnerSingle })
    await store.open()
    await store.addValue('acct', 'k', 'v')
    await store.close()
    await usableIn(winnerSingle, 'acct', 'v')
  }, 60_000)
})
