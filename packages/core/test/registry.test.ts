import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { configure, defineConfigSection, resetConfiguration } from '../src/config/index.js'
import { MemoryStore } from '../src/memory-store.js'
import * as kv from '../src/registry.js'
import { state } from '../src/shared-state.js'
import { AbstractKVStore, type BaseConfig, type KVStore } from '../src/store.js'

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

  it('refuses an empty name with KV_INVALID_ARGUMENT, registering nothing', () => {
    expect(() => kv.register('', new MemoryStore())).toThrow(
      expect.objectContaining({ code: 'KV_INVALID_ARGUMENT', argument: 'name' }),
    )
    expect(kv.stores()).toEqual([])
  })

  it('refuses a store that lacks a method of KVStore with KV_INVALID_ARGUMENT naming it, registering nothing', () => {
    const partial = { open: async () => {}, close: async () => {}, getValue: async () => null }
    let thrown: unknown
    try {
      kv.register('partial', partial as unknown as KVStore)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toMatchObject({ code: 'KV_INVALID_ARGUMENT', argument: 'store' })
    expect((thrown as Error).message).toMatch(
      /"partial" is not a KVStore: it has no getCompressedValue, addValue, .*buckets methods/,
    )
    for (const bad of [{}, null, 42]) {
      expect(() => kv.register('bad', bad as unknown as KVStore)).toThrow(
        expect.objectContaining({ code: 'KV_INVALID_ARGUMENT', argument: 'store' }),
      )
    }
    expect(kv.stores()).toEqual([])
  })

  it('close() closes every store although one of them throws from close() instead of rejecting', async () => {
    const good = new MemoryStore()
    await good.open()
    const failure = new Error('close() threw at once')
    const throwing = new MemoryStore()
    throwing.close = () => {
      throw failure
    }
    kv.register('throwing', throwing)
    kv.register('good', good)
    await expect(kv.close()).rejects.toBe(failure)
    expect(good.status).toBe('closed')
    kv.unregister('throwing')
  })

  it('unregister() removes a store without closing it, and says whether it was registered', async () => {
    const store = new MemoryStore()
    kv.register('m', store)
    await kv.addValue('b', 'k', 'v')
    expect(kv.unregister('m')).toBe(true)
    expect(kv.stores()).toEqual([])
    // open() runs after any close() requested before it; there must have been none, or the
    // store (which forgets on close) would have lost its data.
    await store.open()
    expect(store.status).toBe('open')
    expect(await store.existsKey('b', 'k')).toBe(true)
    expect(kv.unregister('m')).toBe(false)
    expect(kv.unregister('never')).toBe(false)
    await store.close()
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

  it('keys() lists with the prefix it was given, though the caller overwrites it before iterating', async () => {
    kv.register('m', new MemoryStore())
    await kv.addValues('b', [
      ['a-1', 'v'],
      ['b-1', 'v'],
    ])
    const prefix = new TextEncoder().encode('a-')
    const listing = kv.keys('b', { prefix })
    // Nothing has run yet: the store is looked up and its keys() called at the first next().
    prefix.set(new TextEncoder().encode('b-'))
    const keys: string[] = []
    for await (const key of listing) keys.push(new TextDecoder().decode(key))
    expect(keys).toEqual(['a-1'])
  })

  it('use() switches the active store and getStore() finds one by name', async () => {
    const a = new MemoryStore()
    const b = new MemoryStore()
    kv.register('a', a)
    kv.register('b', b)
    expect(kv.use('a')).toBe(a)
    await kv.addValue('bucket', 'k', 'v')
    expect(await a.existsKey('bucket', 'k')).toBe(true)
    expect(kv.getStore('a')).toBe(a)
    expect(kv.getStore('b')).toBe(b)
    expect(() => kv.getStore('nope')).toThrow(
      expect.objectContaining({
        code: 'KV_NO_BACKEND',
        message: expect.stringMatching(/registered: a, b/),
      }),
    )
  })

  it('close() closes every registered store, and the next use opens the active one again', async () => {
    const a = new MemoryStore()
    const b = new MemoryStore({ persistAcrossClose: true })
    kv.register('a', a)
    kv.register('b', b)
    await a.open()
    await kv.addValue('x', 'k', 'v') // b, the active store, is opened by this first use
    await kv.close()
    expect([a.status, b.status]).toEqual(['closed', 'closed'])
    // No open() here: the package-level call opens the active store again.
    expect(await kv.existsKey('x', 'k')).toBe(true)
    expect([a.status, b.status]).toEqual(['closed', 'open'])
    // And the store use() picks, on its first use too.
    kv.use('a')
    expect(await kv.existsKey('x', 'k')).toBe(false) // 'x' was written to b
    expect(a.status).toBe('open')
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

  it('keeps the store use() chose when a disabled one is registered after it; an enabled one takes over', () => {
    const a = new MemoryStore()
    const b = new MemoryStore()
    kv.register('a', a)
    kv.register('b', b)
    kv.use('a')
    // A disabled backend is treated as not registered: importing one changes nothing.
    kv.register('off', new MemoryStore({ enabled: false }))
    expect(kv.activeStore()).toBe(a)
    // An enabled one registered after the choice is the most recently registered: it is active.
    const c = new MemoryStore()
    kv.register('c', c)
    kv.register('off2', new MemoryStore({ enabled: false }))
    expect(kv.activeStore()).toBe(c)
    // Choosing again forgets the registrations before the choice.
    kv.use('b')
    expect(kv.activeStore()).toBe(b)
    // Unregistering the store that took over gives the choice back.
    kv.use('a')
    const d = new MemoryStore()
    kv.register('d', d)
    expect(kv.activeStore()).toBe(d)
    kv.unregister('d')
    expect(kv.activeStore()).toBe(a)
    // Unregistering the chosen store: the most recently registered enabled one.
    kv.unregister('a')
    expect(kv.activeStore()).toBe(c)
  })

  it('follows a use() made by an older copy of @kv/core sharing the registry (it sets only `chosen`)', () => {
    kv.register('a', new MemoryStore())
    const b = new MemoryStore()
    kv.register('b', b)
    kv.use('a')
    kv.register('c', new MemoryStore())
    // What an older copy's use('b') does to the shared state: it knows nothing of the list of
    // stores registered since this copy's choice.
    state.chosen = 'b'
    expect(kv.activeStore()).toBe(b)
    // An older copy registers (clearing the choice, as it did), then chooses `a` again: the list
    // this copy kept for its own choice of `a` is stale, the registry having changed under it.
    kv.use('a')
    kv.register('e', new MemoryStore())
    state.registered.set('older', new MemoryStore())
    state.chosen = undefined
    state.chosen = 'a'
    expect(kv.activeStore()).toBe(kv.getStore('a'))
    // And this copy registering after that is the latest again.
    const f = new MemoryStore()
    kv.register('f', f)
    expect(kv.activeStore()).toBe(f)
  })

  it('reads enabled from the configuration at first use, so configure() may follow the import', async () => {
    const section = defineConfigSection(
      'registry_test',
      z.strictObject({ enabled: z.boolean().default(true) }),
    )
    // A backend as the packages write one: it hands core its section, and core's own isEnabled()
    // resolves it (no override here).
    class Configured extends AbstractKVStore<BaseConfig> {
      constructor() {
        super('registry_test', { section, maxValueBytes: 1024 })
      }
      protected async _open(): Promise<void> {}
      protected async _close(): Promise<void> {}
      protected _get(): null {
        return null
      }
      protected _put(): void {}
      protected _delete(): void {}
      protected _deleteBucket(): void {}
      protected *_keys(): Iterable<Uint8Array> {}
      protected *_buckets(): Iterable<string> {}
    }
    kv.register('fallback', new MemoryStore())
    kv.register('configured', new Configured())
    configure({ registry_test: { enabled: false } })
    expect(kv.activeStore()).toBe(kv.getStore('fallback'))
    configure({ registry_test: { enabled: true } })
    expect(kv.activeStore()).toBe(kv.getStore('configured'))
  })

  it('keeps an open store on the configuration it opened with until it is closed (configure() reopens nothing)', async () => {
    const section = defineConfigSection(
      'reconfigure_test',
      z.strictObject({ enabled: z.boolean().default(true), label: z.string().default('default') }),
    )
    type Config = ReturnType<typeof section.resolve>
    // Its values are the label its configuration had when it opened.
    class Labelled extends AbstractKVStore<Config> {
      constructor() {
        super('reconfigure_test', { section, maxValueBytes: 1024 })
      }
      protected async _open(): Promise<void> {}
      protected async _close(): Promise<void> {}
      protected _get(): Uint8Array {
        return new TextEncoder().encode(this.config.label)
      }
      protected _put(): void {}
      protected _delete(): void {}
      protected _deleteBucket(): void {}
      protected *_keys(): Iterable<Uint8Array> {}
      protected *_buckets(): Iterable<string> {}
    }
    const label = async () => new TextDecoder().decode((await kv.getValue('b', 'k'))!)
    kv.register('labelled', new Labelled())
    kv.use('labelled')
    configure({ reconfigure_test: { label: 'first' } })
    expect(await label()).toBe('first')
    configure({ reconfigure_test: { label: 'second', enabled: false } })
    // Still open, still picked with use(): the new configuration waits for the next open().
    expect(await label()).toBe('first')
    await kv.close()
    await expect(kv.getValue('b', 'k')).rejects.toMatchObject({ code: 'KV_BACKEND_DISABLED' })
    configure({ reconfigure_test: { label: 'second' } })
    expect(await label()).toBe('second')
  })
})
