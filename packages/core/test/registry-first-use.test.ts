/**
 * The package-level functions on a store they must open first (SPEC §3, "the active store is
 * opened on first use"): the call must behave as the same call on an open store does.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { resetConfiguration } from '../src/config/index.js'
import { LockedError } from '../src/errors.js'
import { MemoryStore } from '../src/memory-store.js'
import * as kv from '../src/registry.js'
import type { KVStore } from '../src/store.js'

afterEach(async () => {
  await kv.close()
  for (const name of kv.stores()) kv.unregister(name)
  resetConfiguration()
})

const text = (bytes: Uint8Array | null): string | null =>
  bytes === null ? null : new TextDecoder().decode(bytes)

/** A store that cannot be opened, as one whose files another process holds. */
class LockedStore extends MemoryStore {
  protected override async _open(): Promise<void> {
    throw new LockedError('held by another process')
  }
}

/** A store whose open() takes a turn of the event loop, as one that reads files does. */
class SlowOpenStore extends MemoryStore {
  protected override async _open(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve))
    await super._open()
  }
}

describe('package-level functions on a store not yet open', () => {
  it('refuse bad input with its error while the store opens, not as an unhandled rejection', async () => {
    kv.register('slow', new SlowOpenStore())
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      const refused = kv.addValue('', 'k', 'v')
      const listing = kv.keys('')[Symbol.asyncIterator]().next()
      await expect(refused).rejects.toMatchObject({
        code: 'KV_INVALID_ARGUMENT',
        argument: 'bucket',
      })
      await expect(listing).rejects.toMatchObject({ code: 'KV_INVALID_ARGUMENT' })
      // Node reports unhandled rejections after the turn in which they happened.
      await new Promise((resolve) => setImmediate(resolve))
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })

  it('carry out a call made before close(): close() waits for it, as for an open store', async () => {
    const store = new MemoryStore({ persistAcrossClose: true })
    kv.register('m', store)
    // Not awaited: close() is requested while the first use is still opening the store.
    const write = kv.addValue('b', 'k', 'v')
    const listed = kv.keys('b')[Symbol.asyncIterator]().next()
    const closing = kv.close()
    await expect(write).resolves.toBeUndefined()
    // The listing's first step was requested before close() too: it sees the write before it.
    expect(text((await listed).value ?? null)).toBe('k')
    await closing
    expect(store.status).toBe('closed')
    await store.open()
    expect(text(await store.getValue('b', 'k'))).toBe('v')
  })

  it('open the store again for a call made right after close(), while the store still says open', async () => {
    const store = new MemoryStore({ persistAcrossClose: true })
    kv.register('m', store)
    await kv.addValue('b', 'k', 'v')
    const calls = [
      ['getValue', async () => text(await kv.getValue('b', 'k')), 'v'],
      [
        'keys',
        async () => text((await kv.keys('b')[Symbol.asyncIterator]().next()).value ?? null),
        'k',
      ],
    ] as const
    for (const [name, call, expected] of calls) {
      const closing = kv.close()
      expect(store.status, name).toBe('open') // the close begins a microtask later
      const result = call()
      await closing
      expect(await result, name).toBe(expected)
      expect(store.status, name).toBe('open')
    }
  })

  it('call a store not built on core directly while it says it is open, without asking it to open again', async () => {
    let opens = 0
    let status = 'closed'
    const data = new Map<string, Uint8Array>()
    const store = completeStore({
      get status() {
        return status
      },
      open: async () => {
        opens++
        status = 'open'
      },
      getValue: async (_bucket: string, key: string) => data.get(key) ?? null,
      addValue: async (_bucket: string, key: string, value: string) => {
        data.set(key, new TextEncoder().encode(value))
      },
    })
    kv.register('plain', store)
    await kv.addValue('b', 'k', 'v')
    for (let i = 0; i < 5; i++) expect(text(await kv.getValue('b', 'k'))).toBe('v')
    expect(opens).toBe(1)
    kv.unregister('plain')
  })

  it('use the caller buffers as they were at the call, though the caller reuses them at once', async () => {
    kv.register('m', new MemoryStore())
    const key = new TextEncoder().encode('k1')
    const value = new TextEncoder().encode('v1')
    const entryValue = new TextEncoder().encode('e1')
    const writes = [kv.addValue('b', key, value), kv.addValues('c', [[key, entryValue]])]
    // The store is still opening: overwriting now must not change what is written.
    key.fill(0x78)
    value.fill(0x78)
    entryValue.fill(0x78)
    await Promise.all(writes)
    expect(text(await kv.getValue('b', 'k1'))).toBe('v1')
    expect(text(await kv.getValue('c', 'k1'))).toBe('e1')
    expect(await kv.existsKey('b', 'xx')).toBe(false)
  })

  it('reject with the error of open(), not KV_NOT_OPEN, when the store cannot be opened', async () => {
    kv.register('locked', new LockedStore())
    await expect(kv.getValue('b', 'k')).rejects.toMatchObject({ code: 'KV_LOCKED' })
    await expect(kv.addValues('b', [['k', 'v']])).rejects.toMatchObject({ code: 'KV_LOCKED' })
    const keys = kv.keys('b')[Symbol.asyncIterator]()
    await expect(keys.next()).rejects.toMatchObject({ code: 'KV_LOCKED' })
    // The failed listing is over, as a failed listing of an open store is.
    await expect(keys.next()).resolves.toEqual({ done: true, value: undefined })
    await expect(kv.buckets()[Symbol.asyncIterator]().next()).rejects.toMatchObject({
      code: 'KV_LOCKED',
    })
  })

  it("a second next() issued before the first settles waits for it: open()'s error once, then the end", async () => {
    kv.register('locked', new LockedStore())
    const keys = kv.keys('b')[Symbol.asyncIterator]()
    const first = keys.next()
    const second = keys.next()
    await expect(first).rejects.toMatchObject({ code: 'KV_LOCKED' })
    await expect(second).resolves.toEqual({ done: true, value: undefined })
  })

  it('a store not built on core whose method throws at once, while its open() fails: no unhandled rejection', async () => {
    // register() takes any KVStore; this one throws synchronously from getValue() and keys().
    const base = new LockedStore()
    const thrown = () => {
      throw new Error('thrown at once')
    }
    const store = completeStore({
      name: 'odd',
      get status() {
        return base.status
      },
      open: () => base.open(),
      close: () => base.close(),
      getValue: thrown,
      keys: thrown,
    })
    kv.register('odd', store)
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      // open()'s failure is the call's error, as for any call made on first use.
      await expect(kv.getValue('b', 'k')).rejects.toMatchObject({ code: 'KV_LOCKED' })
      await expect(kv.keys('b')[Symbol.asyncIterator]().next()).rejects.toMatchObject({
        code: 'KV_LOCKED',
      })
      await new Promise((resolve) => setImmediate(resolve))
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })

  it('makes one open attempt for concurrent first uses of a store that cannot be opened', async () => {
    let attempts = 0
    class SlowFailingStore extends MemoryStore {
      protected override async _open(): Promise<void> {
        attempts++
        await new Promise((resolve) => setTimeout(resolve, 5))
        throw new LockedError('held by another process')
      }
    }
    kv.register('slow-failing', new SlowFailingStore())
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => kv.getValue('b', `k${i}`)),
    )
    expect(outcomes.every((outcome) => outcome.status === 'rejected')).toBe(true)
    expect(
      outcomes.map(
        (outcome) => ((outcome as PromiseRejectedResult).reason as { code: string }).code,
      ),
    ).toEqual(Array(10).fill('KV_LOCKED'))
    expect(attempts).toBe(1)
  })

  it('a store not built on core whose open() throws at once: the calls reject with its error, they do not throw', async () => {
    const failure = Object.assign(new Error('cannot open'), { code: 'KV_LOCKED' })
    const store = completeStore({
      name: 'throws',
      status: 'closed',
      open: () => {
        throw failure
      },
      close: async () => {},
      getValue: async () => null,
      keys: () => ({ [Symbol.asyncIterator]: () => ({ next: async () => ({ done: true }) }) }),
    })
    kv.register('throws', store)
    let call: Promise<unknown> | undefined
    expect(() => {
      call = kv.getValue('b', 'k')
    }).not.toThrow()
    await expect(call).rejects.toBe(failure)
    let step: Promise<unknown> | undefined
    expect(() => {
      step = kv.keys('b')[Symbol.asyncIterator]().next()
    }).not.toThrow()
    await expect(step).rejects.toBe(failure)
  })

  it('return() while the first step waits for open() ends the listing: that step yields nothing', async () => {
    const store = new SlowOpenStore({ persistAcrossClose: true })
    await store.open()
    await store.addValue('b', 'k', 'v')
    await store.close()
    kv.register('slow', store)
    const keys = kv.keys('b')[Symbol.asyncIterator]()
    const first = keys.next()
    const returned = keys.return!()
    await expect(first).resolves.toEqual({ done: true, value: undefined })
    await expect(returned).resolves.toEqual({ done: true, value: undefined })
    await expect(keys.next()).resolves.toEqual({ done: true, value: undefined })
  })
})

/**
 * A store not built on core: `parts`, and every other method of {@link KVStore} as one that fails
 * the test if called (register() takes only objects with all of them).
 */
function completeStore(parts: Record<string, unknown>): KVStore {
  const unused = (method: string) => () => {
    throw new Error(`${method}() is not used by this test`)
  }
  const methods = ['open', 'close', 'getValue', 'getCompressedValue', 'addValue', 'addValues']
  methods.push('addValueCompress', 'existsKey', 'deleteKey', 'deleteBucket', 'keys', 'buckets')
  const store: Record<string, unknown> = {}
  for (const method of methods) store[method] = unused(method)
  // Accessors (a getter for status) are copied as accessors.
  Object.defineProperties(store, Object.getOwnPropertyDescriptors(parts))
  return store as unknown as KVStore
}
