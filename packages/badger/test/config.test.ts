import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { configure, isKVError, resetConfiguration } from '@kv/core'
import { afterEach, describe, expect, it } from 'vitest'
import { MAX_GC_INTERVAL_SECONDS } from '../src/config.js'
import { BadgerKV, badgerSchema, badgerSection } from '../src/index.js'
import { diskUsage } from './helpers/disk.js'
import { removeDir, tempDir } from './helpers/temp.js'

/** The seed's badger table (/work/shared/seed/key-value-store.md): every key and its default. */
const seedTable = {
  enabled: true,
  single_bucket_mode: true,
  memory_mode: false,
  sync_writes: false,
  mem_table_size: 10485760,
  value_log_file_size: 1073741823,
  value_threshold: 1048576,
  value_log_max_entries: 1000000,
  num_mem_tables: 1,
  num_level0_tables: 1,
  num_level0_tables_stall: 2,
  value_log_gc_enabled: true,
  value_log_gc_discard_ratio: 0.5,
  value_log_gc_interval_in_seconds: 120,
}

/** The seed's YAML example, with its own values (mem_table_size 64 MiB, value_log_file_size 1 GiB). */
const seedYaml = {
  enabled: true,
  single_bucket_mode: true,
  path: 'data/badger',
  memory_mode: false,
  sync_writes: false,
  mem_table_size: 67108864,
  value_log_file_size: 1073741824,
  value_threshold: 1048576,
  value_log_max_entries: 1000000,
  num_mem_tables: 1,
  num_level0_tables: 1,
  num_level0_tables_stall: 2,
  value_log_gc_enabled: true,
  value_log_gc_discard_ratio: 0.5,
  value_log_gc_interval_in_seconds: 120,
}

afterEach(() => resetConfiguration())

describe('the badger: section', () => {
  it('has every key of the seed table with the table default', () => {
    const parsed = badgerSchema.parse({})
    expect(parsed).toMatchObject(seedTable)
    expect(parsed.path).toBeUndefined() // resolved at open() to <data_dir>/badger
  })

  it('adds its own keys with documented defaults', () => {
    expect(badgerSchema.parse({})).toMatchObject({
      sync_reads: true,
      compression: true,
      cache_size: 8 * 1024 * 1024,
      max_value_bytes: 64 * 1024 * 1024,
    })
  })

  it('accepts the seed YAML example as written', () => {
    expect(badgerSection.parse(seedYaml)).toMatchObject(seedYaml)
  })

  it('names the key of an unknown key or a wrong type', () => {
    const unknown = (() => {
      try {
        badgerSection.parse({ value_log_gc_ratio: 0.5 })
      } catch (error) {
        return error
      }
    })()
    expect(isKVError(unknown, 'KV_INVALID_CONFIG')).toBe(true)
    expect((unknown as { key: string }).key).toBe('badger.value_log_gc_ratio')

    for (const [key, bad] of [
      ['sync_writes', 'yes'],
      ['mem_table_size', -1],
      ['mem_table_size', 1.5],
      // The README: between 0 and 1, both excluded.
      ['value_log_gc_discard_ratio', 0],
      ['value_log_gc_discard_ratio', 1],
      ['value_log_gc_discard_ratio', 1.5],
      ['path', ''],
      ['value_log_max_entries', 2 ** 32],
      ['cache_size', -1],
      // classic-level would keep only the low 32 bits: 2 ** 32 + 64 KiB would be 64 KiB.
      ['mem_table_size', 2 ** 32],
      ['mem_table_size', 2 ** 32 + 64 * 1024],
      ['cache_size', 2 ** 32],
      // setInterval would run a longer delay after 1 ms: a pass every millisecond.
      ['value_log_gc_interval_in_seconds', 2_147_484],
      ['value_log_gc_interval_in_seconds', 30 * 24 * 3600],
    ] as const) {
      let error: unknown
      try {
        badgerSection.parse({ [key]: bad })
      } catch (e) {
        error = e
      }
      expect(isKVError(error, 'KV_INVALID_CONFIG'), `${key}: ${String(bad)}`).toBe(true)
      expect((error as { key: string }).key).toBe(`badger.${key}`)
    }
  })

  it('accepts the documented edges of the bounded keys', () => {
    const edges = {
      value_log_gc_discard_ratio: 0.01,
      value_log_max_entries: 0xffff_ffff,
      mem_table_size: 0xffff_ffff,
      cache_size: 0,
      value_log_gc_interval_in_seconds: 2_147_483,
    }
    expect(badgerSection.parse(edges)).toMatchObject(edges)
    expect(badgerSection.parse({ cache_size: 0xffff_ffff }).cache_size).toBe(0xffff_ffff)
    expect(
      badgerSection.parse({ value_log_gc_discard_ratio: 0.99 }).value_log_gc_discard_ratio,
    ).toBe(0.99)
  })

  it('the largest value_log_gc_interval_in_seconds is a delay setInterval keeps', async () => {
    // Node.js warns (TimeoutOverflowWarning) when it replaces a delay too long for it with 1 ms.
    const warnings: string[] = []
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`)
    process.on('warning', onWarning)
    const path = await tempDir('gc-interval')
    const store = new BadgerKV({ path, value_log_gc_interval_in_seconds: MAX_GC_INTERVAL_SECONDS })
    try {
      await store.open()
      // A warning is emitted on the next tick of the call that caused it.
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings).toEqual([])
    } finally {
      process.off('warning', onWarning)
      await store.close()
      await removeDir(path)
    }
  })

  it.each([
    ['single_bucket_mode: true', true],
    ['single_bucket_mode: false', false],
  ])(
    'a path that is a file, or under one, is refused with KV_INVALID_CONFIG (%s)',
    async (_, single) => {
      const dir = await tempDir('path-file')
      try {
        const file = join(dir, 'file')
        await writeFile(file, 'not a database')
        for (const path of [file, join(file, 'db')]) {
          const store = new BadgerKV({ path, single_bucket_mode: single })
          const error = await store.open().catch((e: unknown) => e)
          expect(isKVError(error, 'KV_INVALID_CONFIG'), String(error)).toBe(true)
          expect(error).toMatchObject({ key: 'badger.path' })
          expect((error as Error).message).toContain(path)
          expect(store.status).toBe('closed')
        }
        expect(await readFile(file, 'utf8')).toBe('not a database')
      } finally {
        await removeDir(dir)
      }
    },
  )

  it('explicit options are validated at construction', () => {
    let error: unknown
    try {
      new BadgerKV({ memory_mode: 'yes' as unknown as boolean })
    } catch (e) {
      error = e
    }
    expect(isKVError(error, 'KV_INVALID_CONFIG'), String(error)).toBe(true)
    expect((error as { key: string }).key).toBe('badger.memory_mode')
  })

  it('reads configure() at open(), with path defaulting to <data_dir>/badger', async () => {
    const dataDir = await tempDir('datadir')
    try {
      configure({ data_dir: dataDir, badger: { sync_writes: true } })
      const store = new BadgerKV()
      await store.open()
      expect(store.path).toBe(resolve(dataDir, 'badger'))
      await store.addValue('b', 'k', 'v')
      await store.close()
      expect(await readdir(join(dataDir, 'badger'))).toContain('CURRENT')
    } finally {
      await removeDir(dataDir)
    }
  })

  it('persistent is false in memory_mode: from options at construction, from the section at open()', async () => {
    expect(new BadgerKV({ memory_mode: true }).persistent).toBe(false)
    const dir = await tempDir('persistent')
    try {
      expect(new BadgerKV({ path: dir }).persistent).toBe(true)
      configure({ badger: { memory_mode: true } })
      const fromSection = new BadgerKV()
      await fromSection.open()
      try {
        expect(fromSection.persistent).toBe(false)
      } finally {
        await fromSection.close()
      }
      // The next open() follows a changed configuration.
      configure({ data_dir: dir, badger: { memory_mode: false } })
      await fromSection.open()
      try {
        expect(fromSection.persistent).toBe(true)
      } finally {
        await fromSection.close()
      }
    } finally {
      await removeDir(dir)
    }
  })

  it('max_value_bytes sets the value limit', async () => {
    const store = new BadgerKV({ memory_mode: true, max_value_bytes: 10 })
    await store.open()
    try {
      expect(store.limits.maxValueBytes).toBe(10)
      await store.addValue('b', 'k', '0123456789')
      const error = await store.addValue('b', 'k2', '01234567890').catch((e: unknown) => e)
      expect(isKVError(error, 'KV_INVALID_ARGUMENT')).toBe(true)
      expect(await store.existsKey('b', 'k2')).toBe(false)
    } finally {
      await store.close()
    }
  })
})

describe('max_value_bytes and calls made while open() is in progress', () => {
  const rejected = (argument: string) => ({
    status: 'rejected',
    reason: expect.objectContaining({ code: 'KV_INVALID_ARGUMENT', argument }),
  })

  it('given to the constructor, it is the limit from the start, limits included', async () => {
    const store = new BadgerKV({ memory_mode: true, max_value_bytes: 16 })
    expect(store.limits.maxValueBytes).toBe(16)
    const opening = store.open()
    const calls = Promise.allSettled([
      store.addValue('b', 'k1', new Uint8Array(17)),
      store.addValues('b', [['k2', new Uint8Array(17)]]),
      store.addValue('b', 'k3', new Uint8Array(16)),
    ])
    await opening
    try {
      expect(await calls).toEqual([
        rejected('value'),
        rejected('entries[0].value'),
        { status: 'fulfilled', value: undefined },
      ])
      expect(await store.existsKey('b', 'k1')).toBe(false)
      expect(await store.existsKey('b', 'k2')).toBe(false)
    } finally {
      await store.close()
    }
  })

  it('read from the configuration at open(), it still refuses a larger value and writes nothing', async () => {
    configure({ badger: { memory_mode: true, max_value_bytes: 16 } })
    const store = new BadgerKV()
    const opening = store.open() // the configuration, and so the limit, is read here
    const calls = Promise.allSettled([
      store.addValue('b', 'k1', new Uint8Array(17)),
      store.addValues('b', [
        ['k2', new Uint8Array(1)],
        ['k3', new Uint8Array(17)],
      ]),
    ])
    await opening
    try {
      expect(store.limits.maxValueBytes).toBe(16)
      expect(await calls).toEqual([rejected('value'), rejected('entries[1].value')])
      const keys: Uint8Array[] = []
      for await (const key of store.keys('b')) keys.push(key)
      expect(keys).toEqual([])
    } finally {
      await store.close()
    }
  })
})

describe('what the keys do on LevelDB', () => {
  const fill = async (store: BadgerKV, count: number, size: number) => {
    const value = new Uint8Array(size).fill(0x61) // highly compressible
    for (let i = 0; i < count; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => store.addValue('b', `k${i + j}`, value)),
      )
    }
  }
  const tables = async (path: string) =>
    (await readdir(path)).filter((f) => f.endsWith('.ldb')).length

  it('mem_table_size is the write buffer: a small one flushes tables, the default does not', async () => {
    const small = await tempDir('memtable')
    const large = await tempDir('memtable')
    try {
      const a = new BadgerKV({
        path: small,
        mem_table_size: 64 * 1024,
        value_log_gc_enabled: false,
      })
      const b = new BadgerKV({ path: large, value_log_gc_enabled: false })
      await a.open()
      await b.open()
      await fill(a, 1000, 1000)
      await fill(b, 1000, 1000)
      // Flushing is asynchronous; closing waits for it.
      await a.close()
      await b.close()
      expect(await tables(small)).toBeGreaterThan(0)
      expect(await tables(large)).toBe(0)
    } finally {
      await removeDir(small)
      await removeDir(large)
    }
  })

  it('compression: false stores tables without Snappy', async () => {
    const on = await tempDir('snappy')
    const off = await tempDir('snappy')
    try {
      for (const [path, compression] of [
        [on, true],
        [off, false],
      ] as const) {
        const store = new BadgerKV({ path, compression, value_log_gc_enabled: false })
        await store.open()
        await fill(store, 1000, 1000)
        // deleteBucket flushes the memtable: the data moves from the log into tables.
        await store.deleteBucket('other')
        await store.close()
        expect(await tables(path)).toBeGreaterThan(0)
      }
      expect(await diskUsage(on)).toBeLessThan((await diskUsage(off)) / 5)
    } finally {
      await removeDir(on)
      await removeDir(off)
    }
  })
})
