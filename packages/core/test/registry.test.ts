import { afterEach, describe, expect, it } from 'vitest'
import { configure, resetConfiguration } from '../src/config/index.js'
import { MemoryStore } from '../src/memory-store.js'
import * as kv from '../src/registry.js'

afterEach(async () => {
  await kv.close()
  for (const name of kv.stores()) kv.unregister(name)
  resetConfiguration()
})

describe('registry', () => {
  it('throws KV_NO_BACKEND from every package-level function when nothing is registered', async () => {
    await expect(kv.getValue('b', 'k')).rejects.toMatchObject({
      code: 'KV_NO_BACKEND',
      message: expect.stringMatching(/import one/),
    })
    await expect(kv.addValue('b', 'k', 'v')).rejects.toMatchObject({ code: 'KV_NO_BACKEND' })
    await expect(kv.addValues('b', [['k', 'v']])).rejects.toMatchObject({ code: 'KV_NO_BACKEND' })
    await expect(kv.existsKey('b', 'k')).rejects.toMatchObject({ code: 'KV_NO_BACKEND' })
    await expect(kv.deleteKey('b', 'k')).rejects.toMatchObject({ code: 'KV_NO_BACKEND' })
    await expect(kv.addValueCompress('b', 'k', 'v')).rejects.toMatchObject({
      code: 'KV_NO_BACKEND',
    })
    await expect(kv.getCompressedValue('b', 'k')).rejects.toMatchObject({ code: 'KV_NO_BACKEND' })
    await expect(kv.deleteBucket('b')).rejects.toMatchObject({ code: 'KV_NO_BACKEND' })
    await expect(kv.keys('b')[Symbol.asyncIterator]().next()).rejects.toMatchObject({
      code: 'KV_NO_BACKEND',
    })
    await expect(kv.buckets()[Symbol.asyncIterator]().next()).rejects.toMatchObject({
      code: 'KV_NO_BACKEND',
    })
  })

  it('refuses a second store under the same name', () => {
    kv.register('one', new MemoryStore())
    expect(() => kv.register('one', new MemoryStore())).toThrow(
      expect.objectContaining({ code: 'KV_DUPLICATE_BACKEND' }),
    )
    expect(kv.stores()).toEqual(['one'])
  })

  it('makes the most recently registered store active and opens it on first use', async () => {
    const first = new MemoryStore()
    const second = new MemoryStore()
    kv.register('first', first)
    kv.register('second', second)
    expect(second.status).toBe('closed')
    await kv.addValue('b', 'k', 'v')
    expect(second.status).toBe('open')
    expect(first.status).toBe('closed')
    expect(await second.getValue('b', 'k')).toEqual(new Uint8Array([0x76]))
  })

  it('delegates every operation, including compression and the extensions', async () => {
    kv.register('m', new MemoryStore())
    await kv.addValueCompress('b', 'doc', 'hello hello hello hello')
    expect(new TextDecoder().decode((await kv.getCompressedValue('b', 'doc'))!)).toBe(
      'hello hello hello hello',
    )
    expect(await kv.existsKey('b', 'doc')).toBe(true)
    const names: string[] = []
    for await (const name of kv.buckets()) names.push(name)
    expect(names).toEqual(['b'])
    const keys: string[] = []
    for await (const key of kv.keys('b')) keys.push(new TextDecoder().decode(key))
    expect(keys).toEqual(['doc'])
    await kv.deleteKey('b', 'doc')
    expect(await kv.getValue('b', 'doc')).toBeNull()
    await kv.addValues('d', [
      ['one', '1'],
      ['two', '2'],
    ])
    expect(await kv.getValue('d', 'two')).toEqual(new Uint8Array([0x32]))
    await kv.addValue('c', 'x', '')
    await kv.deleteBucket('c')
    expect(await kv.existsKey('c', 'x')).toBe(false)
  })

  it('use() switches the active store and getStore() finds one by name', async () => {
    const a = new MemoryStore()
    kv.register('a', a)
    kv.register('b', new MemoryStore())
    expect(kv.use('a')).toBe(a)
    await kv.addValue('bucket', 'k', 'v')
    expect(await a.existsKey('bucket', 'k')).toBe(true)
    expect(kv.getStore('b')).not.toBe(a)
    expect(() => kv.getStore('nope')).toThrow(
      expect.objectContaining({
        code: 'KV_NO_BACKEND',
        message: expect.stringMatching(/registered: a, b/),
      }),
    )
  })

  it('close() closes every registered store, and the next use opens the active one again', async () => {
    const a = new MemoryStore({ persistAcrossClose: true })
    const b = new MemoryStore()
    kv.register('a', a)
    kv.register('b', b)
    await a.open()
    await kv.addValue('x', 'k', 'v')
    await kv.close()
    expect([a.status, b.status]).toEqual(['closed', 'closed'])
    await kv.use('a').open()
    expect(await kv.existsKey('x', 'k')).toBe(false) // 'x' was written to b
    expect(b.status).toBe('closed')
  })

  it('skips a store whose configuration says enabled: false', async () => {
    const on = new MemoryStore()
    const off = new MemoryStore({ enabled: false })
    kv.register('on', on)
    kv.register('off', off)
    expect(kv.activeStore()).toBe(on)
    expect(() => kv.use('off')).toThrow(expect.objectContaining({ code: 'KV_BACKEND_DISABLED' }))
    await expect(off.open()).rejects.toMatchObject({
      code: 'KV_BACKEND_DISABLED',
      message: expect.stringMatching(/enabled: false/),
    })
    kv.unregister('on')
    expect(() => kv.activeStore()).toThrow(
      expect.objectContaining({
        code: 'KV_NO_BACKEND',
        message: expect.stringMatching(/disabled/),
      }),
    )
  })

  it('reads enabled from the configuration at first use, so configure() may follow the import', async () => {
    const { defineConfigSection } = await import('../src/config/sections.js')
    const { z } = await import('zod')
    const section = defineConfigSection(
      'registry_test',
      z.strictObject({ enabled: z.boolean().default(true) }),
    )
    class Configured extends MemoryStore {
      override isEnabled(): boolean {
        return section.resolve().enabled
      }
    }
    kv.register('fallback', new MemoryStore())
    kv.register('configured', new Configured())
    configure({ registry_test: { enabled: false } })
    expect(kv.activeStore()).toBe(kv.getStore('fallback'))
    configure({ registry_test: { enabled: true } })
    expect(kv.activeStore()).toBe(kv.getStore('configured'))
  })
})
