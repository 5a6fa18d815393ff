import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { isKVError } from '@kv/core'
import { describe, expect, it } from 'vitest'
import { BadgerKV, type BadgerOptions } from '../src/index.js'
import { diskUsage } from './helpers/disk.js'
import { removeDir, tempDir } from './helpers/temp.js'

const rejects = async (promise: Promise<unknown>, argument: string) => {
  const error = await promise.catch((e: unknown) => e)
  expect(isKVError(error, 'KV_INVALID_ARGUMENT'), String(error)).toBe(true)
  expect((error as { argument: string }).argument).toBe(argument)
}

describe.each([
  ['single_bucket_mode: true', { single_bucket_mode: true }],
  ['single_bucket_mode: false', { single_bucket_mode: false }],
] as [string, BadgerOptions][])('bad input (%s)', (_name, options) => {
  it('is rejected with a typed error and writes nothing', async () => {
    const path = await tempDir('invalid')
    const store = new BadgerKV({
      ...options,
      path,
      max_value_bytes: 1024,
      value_log_gc_enabled: false,
    })
    await store.open()
    try {
      await store.addValue('existing', 'k', 'v')
      const before = await diskUsage(path)
      await rejects(store.addValue('x'.repeat(256), 'k', 'v'), 'bucket')
      await rejects(store.addValue('', 'k', 'v'), 'bucket')
      await rejects(store.addValue('\ud800', 'k', 'v'), 'bucket')
      await rejects(store.addValue('new', new Uint8Array(64 * 1024 + 1), 'v'), 'key')
      await rejects(store.addValue('new', 'k', new Uint8Array(1025)), 'value')
      await rejects(
        store.addValueCompress('new', 'k', crypto.getRandomValues(new Uint8Array(1020))),
        'value (compressed)',
      )
      await rejects(store.addValue('new', 42 as unknown as string, 'v'), 'key')
      await rejects(store.deleteBucket(7 as unknown as string), 'bucket')
      expect(await diskUsage(path)).toBe(before)
      const buckets: string[] = []
      for await (const b of store.buckets()) buckets.push(b)
      expect(buckets).toEqual(['existing'])
      if (!options.single_bucket_mode) expect((await readdir(join(path, 'buckets'))).length).toBe(1)
      // The limit is exact.
      await store.addValue('new', 'k', new Uint8Array(1024))
      expect((await store.getValue('new', 'k'))?.length).toBe(1024)
    } finally {
      await store.close()
      await removeDir(path)
    }
  })
})
