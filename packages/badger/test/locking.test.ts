import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
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

  it('a second store in this process fails with KV_LOCKED too, and the first keeps working', async () => {
    const first = new BadgerKV({ ...options, path })
    await first.open()
    const second = new BadgerKV({ ...options, path })
    const error = await second.open().catch((e: unknown) => e)
    expect(isKVError(error, 'KV_LOCKED')).toBe(true)
    expect((error as Error & { cause: { code: string } }).cause.code).toBe('LEVEL_LOCKED')
    expect(second.status).toBe('closed')
    await first.addValue('b', 'k', 'v')
    expect(await first.existsKey('b', 'k')).toBe(true)
    await first.close()
    // The failed store can open once the lock is free.
    await second.open()
    expect(await second.existsKey('b', 'k')).toBe(true)
    await second.close()
  })
})

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
