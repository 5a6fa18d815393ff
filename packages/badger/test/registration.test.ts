import { execFile } from 'node:child_process'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { getStore, isKVError, stores } from '@kv/core'
import { describe, expect, it } from 'vitest'
import { BADGER, BadgerKV } from '../src/index.js'
import { removeDir, tempDir } from './helpers/temp.js'

const run = promisify(execFile)
const dist = new URL('../dist/index.js', import.meta.url).href

describe('registration', () => {
  it('registers a BadgerKV as "badger" on import', () => {
    expect(BADGER).toBe('badger')
    expect(stores()).toContain('badger')
    expect(getStore('badger')).toBeInstanceOf(BadgerKV)
    expect(getStore('badger').name).toBe('badger')
  })

  it('declares its import side effect for bundlers', async () => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'))
    expect(pkg.sideEffects).toBe(true)
  })

  it('does no I/O on import and loads neither engine until a store opens', async () => {
    const cwd = await tempDir('import')
    try {
      // Run in an empty directory: an import that read config or created ./data would show.
      const script = `
        const { registerHooks } = await import('node:module')
        const resolved = []
        registerHooks({ resolve: (specifier, context, next) => { const r = next(specifier, context); resolved.push(r.url); return r } })
        await import(${JSON.stringify(dist)})
        const loaded = resolved.filter((url) => url.includes('level'))
        console.log(JSON.stringify({ loaded, sawCore: resolved.some((u) => u.includes('core')) }))`
      // A config file that cannot be parsed: reading it at import would throw.
      await writeFile(join(cwd, 'kv.yml'), 'badger: [unclosed\n')
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd })
      const result = JSON.parse(stdout)
      expect(result.sawCore).toBe(true) // the hook does see the package's imports
      expect(result.loaded).toEqual([])
      expect(await readdir(cwd)).toEqual(['kv.yml'])
    } finally {
      await removeDir(cwd)
    }
  })

  it('memory mode never loads the LevelDB native addon', async () => {
    const cwd = await tempDir('memory')
    try {
      const script = `
        const process_ = process
        const dlopen = process_.dlopen
        const opened = []
        process_.dlopen = function (module, file, ...rest) { opened.push(file); return dlopen.call(this, module, file, ...rest) }
        const { BadgerKV } = await import(${JSON.stringify(dist)})
        const store = new BadgerKV({ memory_mode: true })
        await store.open()
        await store.addValue('b', 'k', 'v')
        const value = await store.getValue('b', 'k')
        await store.close()
        console.log(JSON.stringify({ opened, value: new TextDecoder().decode(value) }))`
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd })
      const result = JSON.parse(stdout)
      expect(result.value).toBe('v')
      expect(result.opened.filter((f: string) => /classic|leveldb|\.node$/.test(f))).toEqual([])
      expect(await readdir(cwd)).toEqual([])
    } finally {
      await removeDir(cwd)
    }
  })

  it('opens the LevelDB native addon in disk mode (the check above can see it)', async () => {
    const cwd = await tempDir('disk')
    try {
      const script = `
        const dlopen = process.dlopen
        const opened = []
        process.dlopen = function (module, file, ...rest) { opened.push(file); return dlopen.call(this, module, file, ...rest) }
        const { BadgerKV } = await import(${JSON.stringify(dist)})
        const store = new BadgerKV({ path: 'db' })
        await store.open()
        await store.close()
        console.log(JSON.stringify({ opened }))`
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd })
      expect(JSON.parse(stdout).opened.some((f: string) => /classic/.test(f))).toBe(true)
    } finally {
      await removeDir(cwd)
    }
  })

  it('an enabled: false configuration refuses to open', async () => {
    const store = new BadgerKV({ enabled: false, memory_mode: true })
    expect(store.isEnabled()).toBe(false)
    expect(isKVError(await store.open().catch((e: unknown) => e), 'KV_BACKEND_DISABLED')).toBe(true)
  })
})
