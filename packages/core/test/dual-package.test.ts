/**
 * A process may load both builds of @kv/core (one dependency `import`s it, another `require`s
 * it). They must share one registry and one configuration, or a backend registered through one
 * build would be invisible to the package-level functions of the other.
 */
import { createRequire } from 'node:module'
import { afterAll, expect, it } from 'vitest'

// The built files (turbo builds before testing), typed by the source they are built from.
type Core = typeof import('../src/index.js')
const require = createRequire(import.meta.url)
const esm = (await import(new URL('../dist/index.js', import.meta.url).href)) as Core
const cjs = require('../dist/index.cjs') as Core

afterAll(async () => {
  await esm.close()
  for (const name of esm.stores()) esm.unregister(name)
  esm.resetConfiguration()
})

it('shares the registry between the ESM and CommonJS builds', async () => {
  expect(cjs.register).not.toBe(esm.register) // really two module instances
  cjs.register('from-cjs', new cjs.MemoryStore())
  expect(esm.stores()).toEqual(['from-cjs'])
  await esm.addValue('b', 'k', 'v')
  expect(await cjs.getValue('b', 'k')).toEqual(new Uint8Array([0x76]))
  expect(() => esm.register('from-cjs', new esm.MemoryStore())).toThrow(
    expect.objectContaining({ code: 'KV_DUPLICATE_BACKEND' }),
  )
})

it('recognises the errors of either build with isKVError (instanceof tells one build only)', async () => {
  const fromCjs = new cjs.InvalidArgumentError('key', 'bad key')
  expect(fromCjs instanceof esm.KVError).toBe(false)
  expect(esm.isKVError(fromCjs)).toBe(true)
  expect(esm.isKVError(fromCjs, 'KV_INVALID_ARGUMENT')).toBe(true)
  expect(esm.isKVError(fromCjs, 'KV_NOT_OPEN')).toBe(false)
  expect(cjs.isKVError(new esm.NotOpenError())).toBe(true)
  // A store of one build rejects with errors the other recognises.
  const store = new cjs.MemoryStore()
  await store.open()
  const error = await store.addValue('', 'k', 'v').catch((e: unknown) => e)
  expect(esm.isKVError(error, 'KV_INVALID_ARGUMENT')).toBe(true)
  await store.close()
  // Lookalikes are not kv errors.
  expect(esm.isKVError(Object.assign(new Error('x'), { code: 'KV_NOT_OPEN' }))).toBe(false)
  expect(esm.isKVError(null)).toBe(false)
})

it('registers the store of a backend package once when both of its builds are loaded', () => {
  // As @kv/simple's ESM and CommonJS entries each do on import.
  esm.registerBackend('twin_kv', '@kv/twin', () => new esm.MemoryStore())
  const first = esm.getStore('twin_kv')
  cjs.registerBackend('twin_kv', '@kv/twin', () => new cjs.MemoryStore())
  expect(esm.getStore('twin_kv')).toBe(first)
  expect(cjs.stores().filter((name) => name === 'twin_kv')).toEqual(['twin_kv'])
  // Another package taking the name is still refused, without making its store.
  let made = 0
  const create = () => {
    made++
    return new cjs.MemoryStore()
  }
  expect(() => cjs.registerBackend('twin_kv', '@kv/other', create)).toThrow(
    expect.objectContaining({ code: 'KV_DUPLICATE_BACKEND' }),
  )
  expect(made).toBe(0)
  expect(() => esm.register('twin_kv', new esm.MemoryStore())).toThrow(
    expect.objectContaining({ code: 'KV_DUPLICATE_BACKEND' }),
  )
})

it('checks the name and the created store before marking and registering it', () => {
  let made = 0
  const create = () => {
    made++
    return new esm.MemoryStore()
  }
  // An invalid name is refused before the store is made.
  expect(() => esm.registerBackend('', '@kv/twin', create)).toThrow(
    expect.objectContaining({ code: 'KV_INVALID_ARGUMENT', argument: 'name' }),
  )
  expect(made).toBe(0)
  // What create() returns is checked as register() checks it: a typed error, not a TypeError.
  for (const bad of [null, {}, Object.freeze(new esm.MemoryStore())]) {
    expect(() => esm.registerBackend('bad_kv', '@kv/bad', () => bad as never)).toThrow(
      expect.objectContaining({ code: 'KV_INVALID_ARGUMENT', argument: 'store' }),
    )
  }
  expect(esm.stores()).not.toContain('bad_kv')
})

it('shares the configuration between the two builds', () => {
  const section = cjs.defineConfigSection(
    'dual_test',
    cjs.z.strictObject({ path: cjs.z.string().default('unset') }),
  )
  esm.configure({ dual_test: { path: 'set through esm' } })
  expect(section.resolve().path).toBe('set through esm')
})
