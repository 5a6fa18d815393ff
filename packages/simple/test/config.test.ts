/** Registration, configuration (file section and explicit options), and the side-effect-free entry. */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { configure, getStore, isKVError, resetConfiguration, stores } from '@kv/core'
import { afterEach, describe, expect, test } from 'vitest'
import { SIMPLE_KV, SimpleKV } from '../src/index.js'
import { removeDir, runFixture, tempDir } from './helpers.js'

afterEach(() => {
  resetConfiguration()
})

describe('registration', () => {
  test('importing @kv/simple registers a closed simple_kv store, without touching the disk', () => {
    expect(SIMPLE_KV).toBe('simple_kv')
    expect(stores()).toContain('simple_kv')
    const store = getStore('simple_kv')
    expect(store).toBeInstanceOf(SimpleKV)
    expect(store.status).toBe('closed')
  })

  test('loading both builds in one process (ESM imported, CommonJS required) registers one store', async () => {
    const child = runFixture('both-builds.mjs', [])
    const { code } = await child.exited
    expect(code, child.stderr()).toBe(0)
    expect(JSON.parse(child.lines.at(-1)!)).toEqual({
      stores: ['simple_kv'],
      esmStore: true,
      twoBuilds: true,
    })
  })

  test('@kv/simple/store exports the class and registers nothing', async () => {
    const child = runFixture('no-register.mjs', [])
    const { code } = await child.exited
    expect(code, child.stderr()).toBe(0)
    expect(JSON.parse(child.lines.at(-1)!)).toEqual({ stores: [], hasClass: true })
  })
})

describe('configuration', () => {
  test('the registered store reads the simple_kv section when it opens; path defaults under data_dir', async () => {
    const dataDir = await tempDir('simple-kv-config')
    try {
      configure({ data_dir: dataDir, simple_kv: { sync_writes: true } })
      const store = getStore('simple_kv') as SimpleKV
      await store.open()
      expect(store.stats().path).toBe(join(dataDir, 'simple_kv'))
      await store.addValue('b', 'k', 'v')
      await store.close()
    } finally {
      await removeDir(dataDir)
    }
  })

  test('explicit options are checked by the section schema', () => {
    for (const options of [
      { bogus: true },
      { sync_writes: 'yes' },
      { sync_on_event_loop: 1 },
      { snapshot_wal_bytes: -1 },
      { snapshot_wal_bytes: 1.5 },
      { snapshot_wal_ratio: -0.5 },
      { snapshot_wal_ratio: '1' },
      { snapshot_interval_seconds: -1 },
      // Past 2^31 - 1 ms a Node timer fires after 1 ms: a snapshot after every write.
      { snapshot_interval_seconds: 2_147_484 },
      { path: '' },
    ]) {
      let error: unknown
      try {
        new SimpleKV(options as never)
      } catch (e) {
        error = e
      }
      expect(isKVError(error, 'KV_INVALID_CONFIG'), JSON.stringify(options)).toBe(true)
      expect((error as Error).message).toContain(`simple_kv.${Object.keys(options)[0]}`)
    }
  })

  test('the longest snapshot_interval_seconds accepted (2,147,483) fits in a Node timer', async () => {
    const dir = await tempDir('simple-kv-config')
    const overflows: Error[] = []
    const onWarning = (warning: Error): void => {
      if (warning.name === 'TimeoutOverflowWarning') overflows.push(warning)
    }
    process.on('warning', onWarning)
    try {
      const store = new SimpleKV({ path: dir, snapshot_interval_seconds: 2_147_483 })
      await store.open()
      await store.addValue('b', 'k', 'v')
      // Node reports an overflowing delay (which it replaces by 1 ms) in a warning emitted on
      // the next tick after the timer is set: by this point it has been.
      await new Promise((resolve) => setImmediate(resolve))
      await store.close()
      expect(overflows.map(String)).toEqual([])
    } finally {
      process.off('warning', onWarning)
      await removeDir(dir)
    }
  })

  test('configure() refuses an unknown key of the section', () => {
    let error: unknown
    try {
      configure({ simple_kv: { snapshot_every: 3 } as never })
    } catch (e) {
      error = e
    }
    expect(isKVError(error, 'KV_INVALID_CONFIG'), String(error)).toBe(true)
    expect((error as Error).message).toMatch(/simple_kv\.snapshot_every/)
  })

  test('a config file with a wrong type fails open() naming the key and the file', async () => {
    const dir = await tempDir('simple-kv-config')
    const file = join(dir, 'kv.yml')
    await writeFile(
      file,
      `simple_kv:\n  path: ${JSON.stringify(join(dir, 'store'))}\n  sync_writes: sometimes\n`,
    )
    const previous = process.env.KV_CONFIG
    process.env.KV_CONFIG = file
    try {
      resetConfiguration()
      const error = await new SimpleKV().open().catch((e: unknown) => e)
      expect(isKVError(error, 'KV_INVALID_CONFIG')).toBe(true)
      expect((error as Error).message).toContain('simple_kv.sync_writes')
      expect((error as Error).message).toContain(file)
    } finally {
      if (previous === undefined) delete process.env.KV_CONFIG
      else process.env.KV_CONFIG = previous
      await removeDir(dir)
    }
  })

  test('enabled: false refuses to open', async () => {
    const dir = await tempDir('simple-kv-config')
    try {
      const store = new SimpleKV({ path: dir, enabled: false })
      expect(store.isEnabled()).toBe(false)
      const error = await store.open().catch((e: unknown) => e)
      expect(isKVError(error, 'KV_BACKEND_DISABLED')).toBe(true)
    } finally {
      await removeDir(dir)
    }
  })
})
