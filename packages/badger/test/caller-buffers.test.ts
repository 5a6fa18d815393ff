/**
 * A caller may reuse its buffers as soon as a call returns. Node.js `Buffer`s are the case to
 * check: their `slice()` is a view of the same memory, not a copy, so a copy made with it would
 * still change with the caller's buffer.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BadgerKV, type BadgerOptions } from '../src/index.js'
import { removeDir, tempDir } from './helpers/temp.js'

const text = (bytes: Uint8Array | null) => (bytes === null ? null : Buffer.from(bytes).toString())

describe.each([
  ['single_bucket_mode: true', { single_bucket_mode: true }],
  // The bucket's database is still being opened at the first calls (see beforeEach).
  ['single_bucket_mode: false', { single_bucket_mode: false }],
  ['memory_mode: true', { memory_mode: true }],
] as [string, BadgerOptions][])("a caller's Buffers (%s)", (_name, options) => {
  let path: string
  let store: BadgerKV
  beforeEach(async () => {
    path = await tempDir('buffers')
    const config = { ...options, path, value_log_gc_enabled: false }
    store = new BadgerKV(config)
    await store.open()
    await store.addValues('b', [
      ['seed', 'v'],
      ['gone', 'v'],
    ])
    if (options.memory_mode) return // reopening would empty it
    await store.close()
    store = new BadgerKV(config)
    await store.open()
  })
  afterEach(async () => {
    await store.close()
    await removeDir(path)
  })

  it('are read when called: overwriting them before or after the call settles changes nothing stored', async () => {
    const key = Buffer.from('key-1')
    const value = Buffer.from('value-1')
    const entry = [Buffer.from('key-2'), Buffer.from('value-2')] as const
    const seed = Buffer.from('seed')
    const gone = Buffer.from('gone')
    const calls = [
      store.existsKey('b', seed),
      store.addValue('b', key, value),
      store.addValues('b', [entry]),
      store.deleteKey('b', gone),
    ]
    for (const buffer of [key, value, ...entry, seed, gone]) buffer.fill(0x41)
    expect(await Promise.all(calls)).toEqual([true, undefined, undefined, undefined])
    value.fill(0x42)
    entry[1].fill(0x42)

    expect(text(await store.getValue('b', 'key-1'))).toBe('value-1')
    expect(text(await store.getValue('b', 'key-2'))).toBe('value-2')
    const keys: (string | null)[] = []
    for await (const k of store.keys('b')) keys.push(text(k))
    expect(keys).toEqual(['key-1', 'key-2', 'seed'])
  })
})
