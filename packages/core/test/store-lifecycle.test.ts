import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { configure, resetConfiguration } from '../src/config/configure.js'
import { defineConfigSection } from '../src/config/sections.js'
import { MemoryStore } from '../src/memory-store.js'
import { AbstractKVStore, type BaseConfig, type StoreInit } from '../src/store.js'
import type { NormalizedKeysOptions } from '../src/validate.js'

/** A store whose engine calls wait until the test releases them, to observe the base class. */
class GatedStore<Config extends BaseConfig = BaseConfig> extends AbstractKVStore<Config> {
  readonly log: string[] = []
  readonly data = new Map<string, Uint8Array>()
  gate: Promise<void> = Promise.resolve()
  failOpen = false

  constructor(init: StoreInit<Config> = { maxValueBytes: 16 }) {
    super('gated', init)
  }

  protected async _open(): Promise<void> {
    this.log.push('open:start')
    await this.gate
    if (this.failOpen) throw new Error('engine refused to open')
    this.log.push('open:end')
  }
  protected async _close(): Promise<void> {
    this.log.push('close')
  }
  // Key and value are read before the first await, as the contract asks.
  protected async _get(_bucket: string, key: Uint8Array): Promise<Uint8Array | null> {
    const id = String(key)
    await this.gate
    return this.data.get(id) ?? null
  }
  protected async _put(_bucket: string, key: Uint8Array, value: Uint8Array): Promise<void> {
    const id = String(key)
    const copy = value.slice()
    await this.gate
    this.log.push(`put:${id}`)
    this.data.set(id, copy)
  }
  protected _delete(): void {}
  protected _deleteBucket(): void {}
  // Not a generator method, so that a subclass may list asynchronously instead.
  protected _keys(
    _bucket: string,
    _options: NormalizedKeysOptions,
  ): Iterable<Uint8Array> | AsyncIterable<Uint8Array> {
    return Array.from({ length: 10 }, (_, i) => new Uint8Array([i]))
  }
  protected *_buckets(): Iterable<string> {}
}

const text = (bytes: Uint8Array | null): string | null =>
  bytes === null ? null : new TextDecoder().decode(bytes)

function gate(): { promise: Promise<void>; release: () => void } {
  let release!: () => void
  const promise = new Promise<void>((resolve) => (release = resolve))
  return { promise, release }
}

describe('AbstractKVStore lifecycle', () => {
  it('rejects every operation before open() with KV_NOT_OPEN', async () => {
    const store = new GatedStore()
    await expect(store.getValue('b', 'k')).rejects.toMatchObject({
      code: 'KV_NOT_OPEN',
      message: expect.stringMatching(/call open\(\)/),
    })
    await expect(store.addValue('b', 'k', 'v')).rejects.toMatchObject({ code: 'KV_NOT_OPEN' })
    await expect(store.keys('b')[Symbol.asyncIterator]().next()).rejects.toMatchObject({
      code: 'KV_NOT_OPEN',
    })
  })

  it('shares one engine open between concurrent open() calls', async () => {
    const store = new GatedStore()
    await Promise.all([store.open(), store.open(), store.open()])
    expect(store.log.filter((entry) => entry === 'open:start')).toHaveLength(1)
    expect(store.status).toBe('open')
  })

  it('makes one attempt for concurrent open() calls that fail, and a new one for an open() after', async () => {
    const store = new GatedStore()
    store.failOpen = true
    let release!: () => void
    store.gate = new Promise((resolve) => (release = resolve))
    const calls = [store.open(), store.open(), store.open()]
    release()
    const outcomes = await Promise.allSettled(calls)
    expect(store.log.filter((entry) => entry === 'open:start')).toHaveLength(1)
    const reasons = outcomes.map((outcome) => (outcome as PromiseRejectedResult).reason)
    expect(reasons[0]).toBeInstanceOf(Error)
    expect(new Set(reasons).size).toBe(1)
    // Settled: the next open() is an attempt of its own, and so is one after a close() request.
    store.failOpen = false
    await store.open()
    expect(store.log.filter((entry) => entry === 'open:start')).toHaveLength(2)
    const first = store.open()
    const closing = store.close()
    const again = store.open()
    await Promise.all([first, closing, again])
    expect(store.status).toBe('open')
    expect(store.log.filter((entry) => entry === 'open:start')).toHaveLength(3)
  })

  it('lets an operation issued while opening wait for the open', async () => {
    const store = new GatedStore()
    const g = gate()
    store.gate = g.promise
    const opening = store.open()
    const write = store.addValue('b', 'k', 'v')
    g.release()
    await opening
    await write
    expect(store.log).toEqual(['open:start', 'open:end', 'put:107'])
  })

  it('waits for operations in flight before closing the engine, and refuses new ones meanwhile', async () => {
    const store = new GatedStore()
    await store.open()
    const g = gate()
    store.gate = g.promise
    const write = store.addValue('b', 'k', 'v')
    const closing = store.close()
    await Promise.resolve()
    expect(store.status).toBe('closing')
    await expect(store.getValue('b', 'k')).rejects.toMatchObject({
      code: 'KV_NOT_OPEN',
      message: expect.stringMatching(/closing/),
    })
    g.release()
    await write
    await closing
    expect(store.log.slice(-2)).toEqual(['put:107', 'close'])
  })

  it('runs a call made while opening before a close() requested after it, and close() waits for it', async () => {
    for (const [name, call] of [
      ['addValue', (store: GatedStore) => store.addValue('b', 'k', 'v')],
      ['getValue', (store: GatedStore) => store.getValue('b', 'k')],
      ['keys().next()', (store: GatedStore) => store.keys('b')[Symbol.asyncIterator]().next()],
    ] as const) {
      const store = new GatedStore()
      const opening = store.open()
      const issued = call(store)
      const closing = store.close()
      await expect(issued, name).resolves.not.toThrow()
      await opening
      await closing
      expect(store.log.at(-1), name).toBe('close')
      expect(store.status).toBe('closed')
    }
    const store = new GatedStore()
    const opening = store.open()
    const write = store.addValue('b', 'k', 'v')
    const closing = store.close()
    await Promise.all([opening, write, closing])
    expect(store.log).toEqual(['open:start', 'open:end', 'put:107', 'close'])
  })

  it('refuses a call made after close() was requested, though an open() was in progress', async () => {
    const store = new GatedStore()
    const opening = store.open()
    const closing = store.close()
    await expect(store.addValue('b', 'k', 'v')).rejects.toMatchObject({ code: 'KV_NOT_OPEN' })
    await Promise.all([opening, closing])
    expect(store.log).toEqual(['open:start', 'open:end', 'close'])
  })

  it('refuses every kind of call made right after close() on an open store, writing nothing', async () => {
    const calls = [
      ['addValue', (s: GatedStore) => s.addValue('b', 'k', 'v')],
      ['addValues', (s: GatedStore) => s.addValues('b', [['k', 'v']])],
      ['addValueCompress', (s: GatedStore) => s.addValueCompress('b', 'k', 'v')],
      ['getValue', (s: GatedStore) => s.getValue('b', 'k')],
      ['existsKey', (s: GatedStore) => s.existsKey('b', 'k')],
      ['deleteKey', (s: GatedStore) => s.deleteKey('b', 'k')],
      ['deleteBucket', (s: GatedStore) => s.deleteBucket('b')],
      ['keys().next()', (s: GatedStore) => s.keys('b')[Symbol.asyncIterator]().next()],
    ] as const
    for (const [name, call] of calls) {
      const store = new GatedStore()
      await store.open()
      const closing = store.close()
      // The close has not begun yet (it starts a microtask later): the store still says open.
      expect(store.status, name).toBe('open')
      await expect(call(store), name).rejects.toMatchObject({ code: 'KV_NOT_OPEN' })
      await closing
      expect(store.log, name).toEqual(['open:start', 'open:end', 'close'])
    }
  })

  it('refuses a call made after close() at once, not when the close it follows is done', async () => {
    const store = new GatedStore()
    await store.open()
    const g = gate()
    store.gate = g.promise
    const write = store.addValue('b', 'k', 'v') // in flight: the close waits for it
    const closing = store.close()
    const outcome = store.getValue('b', 'k').then(
      () => 'resolved',
      (error: { code?: string }) => error.code,
    )
    // Settled while the write (and so the close) is still held up by the gate.
    expect(await Promise.race([outcome, new Promise((r) => setTimeout(r, 50, 'waiting'))])).toBe(
      'KV_NOT_OPEN',
    )
    g.release()
    await Promise.all([write, closing])
  })

  it('does not let a call made once a reopen resolved overtake one issued before it', async () => {
    const store = new MemoryStore({ persistAcrossClose: true })
    await store.open()
    await store.addValue('b', 'k', 'v1')
    void store.close()
    const reopening = store.open()
    const write = store.addValue('b', 'k', 'v2') // waits behind the close and the reopen
    await reopening
    // Issued after the write: it must see it, though the caller resumed before the write ran.
    expect(text(await store.getValue('b', 'k'))).toBe('v2')
    await write
    // The same for a plain open() with a call waiting behind it.
    const fresh = new MemoryStore()
    const opening = fresh.open()
    const first = fresh.addValue('b', 'k', 'first')
    await opening
    await fresh.deleteBucket('b')
    await first
    expect(await fresh.getValue('b', 'k')).toBeNull()
  })

  it('runs a call made after close() and then open() were requested on the reopened store', async () => {
    const store = new GatedStore()
    await store.open()
    const closing = store.close()
    const refused = store.addValue('b', 'k', 'v')
    const reopening = store.open()
    const written = store.addValue('b', 'k2', 'v')
    await expect(refused).rejects.toMatchObject({ code: 'KV_NOT_OPEN' })
    await Promise.all([closing, reopening, written])
    expect(store.log).toEqual([
      'open:start',
      'open:end',
      'close',
      'open:start',
      'open:end',
      'put:107,50',
    ])
  })

  it('lets a call made while closing wait for an open() requested before it', async () => {
    const store = new GatedStore()
    await store.open()
    const g = gate()
    store.gate = g.promise
    const write = store.addValue('b', 'k', 'v') // holds the close up until the gate opens
    const closing = store.close()
    await Promise.resolve()
    expect(store.status).toBe('closing')
    const reopening = store.open()
    const read = store.getValue('b', 'k')
    g.release()
    await Promise.all([write, closing, reopening])
    expect(await read).toEqual(new TextEncoder().encode('v'))
    expect(store.log).toEqual([
      'open:start',
      'open:end',
      'put:107',
      'close',
      'open:start',
      'open:end',
    ])
  })

  it('does not let an abandoned iterator hold close() up, and fails its next call', async () => {
    const store = new GatedStore()
    await store.open()
    const iterator = store.keys('b')[Symbol.asyncIterator]()
    expect((await iterator.next()).value).toEqual(new Uint8Array([0]))
    await store.close()
    await expect(iterator.next()).rejects.toMatchObject({ code: 'KV_NOT_OPEN' })
  })

  it('enforces the limit of keys() itself', async () => {
    const store = new GatedStore()
    await store.open()
    const seen: number[] = []
    for await (const key of store.keys('b', { limit: 3 })) seen.push(key[0]!)
    expect(seen).toEqual([0, 1, 2])
  })

  it('ends a listing that reached its limit even when the store was closed after its last key', async () => {
    const store = new GatedStore()
    await store.open()
    const seen: number[] = []
    for await (const key of store.keys('b', { limit: 2 })) {
      seen.push(key[0]!)
      if (seen.length === 2) await store.close()
    }
    expect(seen).toEqual([0, 1])
    // A close() requested before that step waits for the backend's iterator to end.
    const log: string[] = []
    let release!: () => void
    const ended = new Promise<void>((resolve) => (release = resolve))
    class SlowReturn extends GatedStore {
      protected override async *_keys(): AsyncIterable<Uint8Array> {
        try {
          yield new Uint8Array([1])
          yield new Uint8Array([2])
        } finally {
          log.push('return:start')
          await ended
          log.push('return:end')
        }
      }
      protected override async _close(): Promise<void> {
        log.push('close')
      }
    }
    const slow = new SlowReturn()
    await slow.open()
    const walk = slow.keys('b', { limit: 1 })[Symbol.asyncIterator]()
    await walk.next()
    const closing = slow.close()
    const last = walk.next()
    setTimeout(release, 20)
    await Promise.all([closing, last])
    expect(await last).toEqual({ done: true, value: undefined })
    expect(log).toEqual(['return:start', 'return:end', 'close'])
    // ...and when the store was opened again after that close() (a new session).
    await store.open()
    const reopened = store.keys('b', { limit: 2 })[Symbol.asyncIterator]()
    expect((await reopened.next()).value).toEqual(new Uint8Array([0]))
    expect((await reopened.next()).value).toEqual(new Uint8Array([1]))
    await store.close()
    await store.open()
    expect(await reopened.next()).toEqual({ done: true, value: undefined })
    // Short of its limit, the next step after close() is refused as before.
    const listing = store.keys('b', { limit: 3 })[Symbol.asyncIterator]()
    await listing.next()
    await store.close()
    await expect(listing.next()).rejects.toMatchObject({ code: 'KV_NOT_OPEN' })
  })

  it('lets the event loop turn during a long listing from memory, sync or async', async () => {
    class CountingStore extends GatedStore {
      protected override *_keys(): Iterable<Uint8Array> {
        for (let i = 0; i < 5000; i++) yield new Uint8Array([i & 0xff, i >> 8])
      }
    }
    class AsyncCountingStore extends GatedStore {
      // Each step answered in a microtask, as memory-level's iterator does.
      protected override async *_keys(): AsyncIterable<Uint8Array> {
        for (let i = 0; i < 5000; i++) yield new Uint8Array([i & 0xff, i >> 8])
      }
    }
    for (const store of [new CountingStore(), new AsyncCountingStore()]) {
      await store.open()
      let seen = 0
      let seenWhenTurned: number | undefined
      setImmediate(() => (seenWhenTurned = seen))
      for await (const _ of store.keys('b')) seen++
      expect(seen).toBe(5000)
      // Without a turn the immediate would run only after the whole listing (5000).
      expect(seenWhenTurned).toBeDefined()
      expect(seenWhenTurned!).toBeLessThanOrEqual(1024)
    }
  })

  it('counts a listing step waiting for its turn as in flight, and answers steps in the order asked', async () => {
    class CountingStore extends GatedStore {
      protected override *_keys(): Iterable<Uint8Array> {
        for (let i = 0; i < 3000; i++) yield new Uint8Array([i & 0xff, i >> 8])
      }
    }
    const store = new CountingStore()
    await store.open()
    const iterator = store.keys('b')[Symbol.asyncIterator]()
    for (let i = 0; i < 1023; i++) await iterator.next()
    const settled: string[] = []
    const turning = iterator.next().then(() => settled.push('step 1024')) // waits for a turn
    const closing = store.close().then(() => settled.push('close'))
    await Promise.all([turning, closing])
    expect(settled).toEqual(['step 1024', 'close'])
    // Steps asked for together settle in the order asked, the one waiting for its turn included.
    const again = new CountingStore()
    await again.open()
    const listing = again.keys('b')[Symbol.asyncIterator]()
    const order: number[] = []
    await Promise.all(
      Array.from({ length: 1030 }, (_, i) => listing.next().then(() => order.push(i))),
    )
    expect(order).toEqual(Array.from({ length: 1030 }, (_, i) => i))
    // Also when the listing ends right at the step that waits: at its last key, or its limit.
    for (const [keys, limit] of [
      [1024, undefined],
      [3000, 1024],
    ] as const) {
      class Sized extends GatedStore {
        protected override *_keys(): Iterable<Uint8Array> {
          for (let i = 0; i < keys; i++) yield new Uint8Array([i & 0xff, i >> 8])
        }
      }
      const sized = new Sized()
      await sized.open()
      const steps = sized.keys('b', { limit })[Symbol.asyncIterator]()
      const settled: number[] = []
      const results = await Promise.all(
        Array.from({ length: 1027 }, (_, i) =>
          steps.next().then((result) => {
            settled.push(i)
            return result.done
          }),
        ),
      )
      expect(settled, `${keys} keys, limit ${limit}`).toEqual(
        Array.from({ length: 1027 }, (_, i) => i),
      )
      expect(results.indexOf(true)).toBe(1024)
    }
  })

  it('settles steps in the order asked on an asynchronous backend too: a failure, the limit, return()', async () => {
    class AsyncStore extends GatedStore {
      failAt = -1
      protected override async *_keys(): AsyncIterable<Uint8Array> {
        for (let i = 0; i < 3000; i++) {
          if (i === this.failAt) throw new Error(`key ${i} unreadable`)
          yield new Uint8Array([i & 0xff, i >> 8])
        }
      }
    }
    const record = (order: string[], name: string, step: Promise<IteratorResult<Uint8Array>>) =>
      step.then(
        (result) => void order.push(`${name} ${result.done ? 'done' : 'key'}`),
        () => void order.push(`${name} failed`),
      )
    // Step 1024 waits for its turn; step 1025 fails: the failure must not settle first.
    const failing = new AsyncStore()
    failing.failAt = 1024
    await failing.open()
    const listing = failing.keys('b')[Symbol.asyncIterator]()
    for (let i = 0; i < 1023; i++) await listing.next()
    const order: string[] = []
    await Promise.all([
      record(order, '1024', listing.next()),
      record(order, '1025', listing.next()),
    ])
    expect(order).toEqual(['1024 key', '1025 failed'])
    // A limit is exact however many steps are asked for at once.
    const limited = new AsyncStore()
    await limited.open()
    const steps = limited.keys('b', { limit: 2 })[Symbol.asyncIterator]()
    const results = await Promise.all(Array.from({ length: 4 }, () => steps.next()))
    expect(results.map((r) => r.done)).toEqual([false, false, true, true])
    // return() settles after a step asked for before it, which waits for its turn.
    const returning = new AsyncStore()
    await returning.open()
    const walk = returning.keys('b')[Symbol.asyncIterator]()
    for (let i = 0; i < 1023; i++) await walk.next()
    const ended: string[] = []
    await Promise.all([
      record(ended, 'next', walk.next()),
      record(ended, 'return', walk.return!()),
      record(ended, 'after', walk.next()),
    ])
    expect(ended).toEqual(['next key', 'return done', 'after done'])
  })

  it('is closed after a failed open, and can be opened again', async () => {
    const store = new GatedStore()
    store.failOpen = true
    await expect(store.open()).rejects.toThrow('engine refused to open')
    expect(store.status).toBe('closed')
    store.failOpen = false
    await store.open()
    expect(store.status).toBe('open')
    await store.close()
    await store.close()
    await store.open()
    expect(store.status).toBe('open')
  })

  it('names a failure of open() that is not an Error too', async () => {
    class OddFailure extends GatedStore {
      protected override async _open(): Promise<void> {
        throw Object.create(null)
      }
    }
    const store = new OddFailure()
    await expect(store.open()).rejects.toBeDefined()
    await expect(store.getValue('b', 'k')).rejects.toMatchObject({
      code: 'KV_NOT_OPEN',
      message: expect.stringContaining('its open() failed (an object)'),
    })
  })

  it('names the failure of open() in the KV_NOT_OPEN of calls made while it ran and after, until an open() succeeds or close() runs', async () => {
    const store = new GatedStore()
    store.failOpen = true
    let release!: () => void
    store.gate = new Promise((resolve) => (release = resolve))
    const opening = store.open()
    const during = store.getValue('b', 'k')
    release()
    const failure = await opening.catch((error: unknown) => error)
    const expected = {
      code: 'KV_NOT_OPEN',
      message: expect.stringMatching(/its open\(\) failed \(engine refused to open\)/),
      cause: failure,
    }
    await expect(during).rejects.toMatchObject(expected)
    // A call made afterwards, with nothing queued, is told the same.
    await expect(store.addValue('b', 'k', 'v')).rejects.toMatchObject(expected)
    // A call queued behind a failing open() is told of that failure even when close() is asked
    // for after it.
    store.gate = new Promise((resolve) => (release = resolve))
    const reopening = store.open()
    const queued = store.getValue('b', 'k')
    const closingAfter = store.close()
    release()
    await reopening.catch(() => {})
    await expect(queued).rejects.toMatchObject({
      code: 'KV_NOT_OPEN',
      message: expect.stringMatching(/its open\(\) failed \(engine refused to open\)/),
    })
    await closingAfter
    store.gate = Promise.resolve()
    await store.open().catch(() => {})
    // Once close() is asked for (before it has run, too), or an open() succeeded, the old
    // failure is no longer the reason.
    const closing = store.close()
    const beforeClose = await store.getValue('b', 'k').catch((error: unknown) => error)
    expect(beforeClose).toMatchObject({ code: 'KV_NOT_OPEN' })
    expect((beforeClose as Error).cause).toBeUndefined()
    expect((beforeClose as Error).message).not.toMatch(/failed/)
    await closing
    const afterClose = await store.existsKey('b', 'k').catch((error: unknown) => error)
    expect(afterClose).toMatchObject({ code: 'KV_NOT_OPEN' })
    expect((afterClose as Error).cause).toBeUndefined()
    expect((afterClose as Error).message).not.toMatch(/failed/)
    store.failOpen = false
    await store.open()
    await store.close()
    const afterReopen = await store.getValue('b', 'k').catch((error: unknown) => error)
    expect((afterReopen as Error).cause).toBeUndefined()
  })

  it('checks the compressed size against the limit and writes nothing when over it', async () => {
    const store = new GatedStore()
    await store.open()
    // 16 random-ish bytes do not compress: 4 + 1 + 16 bytes stored, over the limit of 16.
    const incompressible = new Uint8Array(16).map((_, i) => (i * 97 + 13) & 0xff)
    await expect(store.addValueCompress('b', 'k', incompressible)).rejects.toMatchObject({
      code: 'KV_INVALID_ARGUMENT',
      argument: 'value (compressed)',
    })
    expect(store.data.size).toBe(0)
  })
})

const limitSection = defineConfigSection(
  'limit_test',
  z.strictObject({ enabled: z.boolean().default(true), max_value_bytes: z.number().default(8) }),
)
type LimitConfig = ReturnType<typeof limitSection.resolve>

/** A store whose value limit is set by its configuration, as the backends' are. */
class LimitAtOpenStore extends GatedStore<LimitConfig> {
  constructor(options?: Partial<LimitConfig>) {
    super({ section: limitSection, options, maxValueBytes: (config) => config.max_value_bytes })
  }
}

describe('AbstractKVStore and a value limit set by the configuration', () => {
  // The limit before open() is the section's default (8); open() reads the configured 32.
  afterEach(() => resetConfiguration())
  const configured = (max: number) => configure({ limit_test: { max_value_bytes: max } })

  it('reports the default limit before open() and the configured one from open() on', async () => {
    configured(32)
    const store = new LimitAtOpenStore()
    expect(store.limits.maxValueBytes).toBe(8)
    await store.open()
    expect(store.limits.maxValueBytes).toBe(32)
    await expect(store.addValue('b', 'k', new Uint8Array(33))).rejects.toMatchObject({
      code: 'KV_INVALID_ARGUMENT',
      argument: 'value',
    })
    await store.addValue('b', 'k', new Uint8Array(32))
  })

  it('follows a changed configuration at the next open(), and keeps the one it opened with until then', async () => {
    configured(32)
    const store = new LimitAtOpenStore()
    await store.open()
    configured(64)
    expect(store.limits.maxValueBytes).toBe(32)
    await store.close()
    await store.open()
    expect(store.limits.maxValueBytes).toBe(64)
    await store.addValue('b', 'k', new Uint8Array(64))
  })

  it('takes the limit of options given in code at once, and open() keeps it', async () => {
    configured(32) // not read: options given in code are the configuration in force
    const store = new LimitAtOpenStore({ max_value_bytes: 20 })
    expect(store.limits.maxValueBytes).toBe(20)
    await store.open()
    expect(store.limits.maxValueBytes).toBe(20)
    await expect(store.addValue('b', 'k', new Uint8Array(21))).rejects.toMatchObject({
      code: 'KV_INVALID_ARGUMENT',
    })
  })
})

const requiredSection = defineConfigSection(
  'limit_required_test',
  z.strictObject({
    enabled: z.boolean().default(true),
    url: z.string(),
    max_value_bytes: z.number().default(8),
  }),
)

describe('AbstractKVStore and a value limit from a section with a required key', () => {
  afterEach(() => resetConfiguration())
  class RequiredStore extends GatedStore<ReturnType<typeof requiredSection.resolve>> {
    constructor() {
      super({ section: requiredSection, maxValueBytes: (config) => config.max_value_bytes })
    }
  }

  it('constructs without the key (as a backend registering on import must), and reads the section for limits', async () => {
    const store = new RequiredStore()
    // Nothing configured: limits fails as open() does, naming the key.
    expect(() => store.limits).toThrow(
      expect.objectContaining({ code: 'KV_INVALID_CONFIG', key: 'limit_required_test.url' }),
    )
    configure({ limit_required_test: { url: 'http://x', max_value_bytes: 40 } })
    expect(store.limits.maxValueBytes).toBe(40)
    await store.open()
    expect(store.limits.maxValueBytes).toBe(40)
  })
})

describe('AbstractKVStore and a value limit function that gives no byte count', () => {
  it.each([
    ['NaN', Number.NaN],
    ['a negative number', -1],
    ['undefined', undefined],
  ])('refuses a limit of %s with a TypeError naming the backend', (_label, bytes) => {
    expect(() => new GatedStore({ maxValueBytes: () => bytes as number })).toThrow(
      expect.objectContaining({
        name: 'TypeError',
        message: expect.stringMatching(/gated backend's maxValueBytes gave/),
      }),
    )
  })
})

describe('AbstractKVStore and a value limit known only once open', () => {
  afterEach(() => resetConfiguration())
  const configured = (max: number) => configure({ limit_test: { max_value_bytes: max } })

  it('refuses a value over the limit open() set, for a call made while opening, and writes nothing', async () => {
    configured(32)
    const store = new LimitAtOpenStore()
    const opening = store.open()
    const calls = [
      store.addValue('b', 'k1', new Uint8Array(33)),
      store.addValues('b', [
        ['k2', new Uint8Array(1)],
        ['k3', new Uint8Array(33)],
      ]),
      // 33 bytes that do not compress: the raw size is refused before the compressed one.
      store.addValueCompress(
        'b',
        'k4',
        new Uint8Array(33).map((_, i) => (i * 97 + 13) & 0xff),
      ),
    ]
    await opening
    const outcomes = await Promise.allSettled(calls)
    expect(outcomes.map((o) => o.status === 'rejected' && o.reason)).toEqual([
      expect.objectContaining({ code: 'KV_INVALID_ARGUMENT', argument: 'value' }),
      expect.objectContaining({ code: 'KV_INVALID_ARGUMENT', argument: 'entries[1].value' }),
      expect.objectContaining({ code: 'KV_INVALID_ARGUMENT', argument: 'value' }),
    ])
    expect(store.data.size).toBe(0)
  })

  it('accepts a value within the limit open() set, though over the one before open()', async () => {
    configured(32)
    const store = new LimitAtOpenStore()
    const opening = store.open()
    const calls = [
      store.addValue('b', 'k1', new Uint8Array(12)),
      store.addValues('b', [['k2', new Uint8Array(12)]]),
      store.addValueCompress('b', 'k3', new Uint8Array(12)),
    ]
    await opening
    await Promise.all(calls)
    expect([...store.data.keys()].sort()).toEqual(['107,49', '107,50', '107,51']) // 'k1' 'k2' 'k3'
  })

  it('still refuses a value that is not bytes or a string at once, before open() ends', async () => {
    const store = new LimitAtOpenStore()
    const engine = gate()
    store.gate = engine.promise
    const opening = store.open()
    await expect(store.addValue('b', 'k', 42 as never)).rejects.toMatchObject({
      code: 'KV_INVALID_ARGUMENT',
      argument: 'value',
    })
    expect(store.log).toEqual(['open:start'])
    engine.release()
    await opening
  })
})

describe('AbstractKVStore addValues (the default, one _put per key)', () => {
  /** A store whose puts wait for the test, and fail for the key `bad`. */
  class FailingPutStore extends GatedStore {
    protected override async _put(bucket: string, key: Uint8Array, value: Uint8Array) {
      if (new TextDecoder().decode(key) === 'bad') throw new Error('engine refused the write')
      await super._put(bucket, key, value)
    }
  }

  it('writes each key once, with its last value', async () => {
    const store = new GatedStore()
    await store.open()
    await store.addValues('b', [
      ['k', 'first'],
      ['j', 'x'],
      ['k', 'last'],
    ])
    expect(store.log.filter((line) => line.startsWith('put:'))).toEqual([
      `put:${String(new TextEncoder().encode('j'))}`,
      `put:${String(new TextEncoder().encode('k'))}`,
    ])
    expect(new TextDecoder().decode(store.data.get(String(new TextEncoder().encode('k'))))).toBe(
      'last',
    )
  })

  it('rejects with the failure only after every write has settled, and close() waits for them', async () => {
    const store = new FailingPutStore()
    await store.open()
    const writes = gate()
    store.gate = writes.promise
    const outcome = store.addValues('b', [
      ['slow', 'v'],
      ['bad', 'v'],
    ])
    let settled = false
    outcome.catch(() => {}).finally(() => (settled = true))
    const closed = store.close()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(settled).toBe(false)
    expect(store.log).not.toContain('close')
    writes.release()
    await expect(outcome).rejects.toThrow('engine refused the write')
    await closed
    expect(store.data.size).toBe(1)
    expect(store.log.at(-1)).toBe('close')
  })
})

/** A store that, like a group-committing backend, gives every write of a round one promise. */
class GroupCommitStore extends AbstractKVStore {
  readonly log: string[] = []
  #round: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } | undefined
  rounds = 0

  constructor() {
    super('group', { maxValueBytes: 16 })
  }

  /** Settles the writes issued since the last call, all at once. */
  commit(error?: Error): void {
    const round = this.#round
    this.#round = undefined
    if (error === undefined) round?.resolve()
    else round?.reject(error)
  }

  protected async _open(): Promise<void> {}
  protected async _close(): Promise<void> {
    this.log.push('close')
  }
  protected _get(): null {
    return null
  }
  protected _put(): Promise<void> {
    if (this.#round === undefined) {
      this.rounds++
      this.#round = { ...Promise.withResolvers<void>() }
    }
    return this.#round.promise
  }
  protected _delete(): void {}
  protected _deleteBucket(): void {}
  protected *_keys(): Iterable<Uint8Array> {}
  protected *_buckets(): Iterable<string> {}
}

describe('AbstractKVStore with writes that share one backend promise', () => {
  it('settles every caller of the round, and close() waits for the round', async () => {
    const store = new GroupCommitStore()
    await store.open()
    const settled: number[] = []
    const writes = [0, 1, 2, 3].map((i) =>
      store.addValue('b', `k${i}`, 'v').then(() => settled.push(i)),
    )
    expect(store.rounds).toBe(1)
    const closed = store.close()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(settled).toEqual([])
    expect(store.log).toEqual([])
    store.commit()
    await Promise.all(writes)
    await closed
    // In the order of the calls: the caller that opened the round learns of it first.
    expect(settled).toEqual([0, 1, 2, 3])
    expect(store.log).toEqual(['close'])
  })

  it('resumes the callers of a round in the order of their calls, on success and on failure', async () => {
    const store = new GroupCommitStore()
    await store.open()
    for (const error of [undefined, new Error('disk full')]) {
      const order: string[] = []
      const writes = ['put k', 'put j', 'put k again'].map((what, i) =>
        store.addValue('b', `k${i}`, 'v').then(
          () => order.push(what),
          () => order.push(`${what} failed`),
        ),
      )
      store.commit(error)
      await Promise.all(writes)
      const suffix = error === undefined ? '' : ' failed'
      expect(order).toEqual(['put k', 'put j', 'put k again'].map((what) => what + suffix))
    }
    await store.close()
  })

  it('reports a failed write whose promise its caller ignores as an unhandled rejection, and only that one', async () => {
    const store = new GroupCommitStore()
    await store.open()
    const reasons: unknown[] = []
    const listener = (reason: unknown) => reasons.push(reason)
    const others = process.listeners('unhandledRejection')
    for (const other of others) process.off('unhandledRejection', other)
    process.on('unhandledRejection', listener)
    try {
      const first = store.addValue('b', 'k0', 'v').catch(() => 'handled')
      void store.addValue('b', 'k1', 'v')
      const third = store.addValue('b', 'k2', 'v').catch(() => 'handled')
      store.commit(new Error('disk full'))
      expect([await first, await third]).toEqual(['handled', 'handled'])
      // Node reports unhandled rejections once the microtask queue has drained.
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(reasons.map((reason) => (reason as Error).message)).toEqual(['disk full'])
    } finally {
      process.off('unhandledRejection', listener)
      for (const other of others) process.on('unhandledRejection', other)
      await store.close()
    }
  })

  it('rejects every caller of a failed round, and close() still waits for it', async () => {
    const store = new GroupCommitStore()
    await store.open()
    const writes = [0, 1, 2].map((i) => store.addValue('b', `k${i}`, 'v'))
    for (const write of writes) write.catch(() => {})
    const closed = store.close()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(store.log).toEqual([])
    store.commit(new Error('disk full'))
    for (const write of writes) await expect(write).rejects.toThrow('disk full')
    await closed
    expect(store.log).toEqual(['close'])
  })

  it('counts a later round on its own after an earlier one settled', async () => {
    const store = new GroupCommitStore()
    await store.open()
    const first = store.addValue('b', 'k', 'v')
    store.commit()
    await first
    const second = [store.addValue('b', 'k', 'v'), store.addValue('b', 'j', 'v')]
    expect(store.rounds).toBe(2)
    const closed = store.close()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(store.log).toEqual([])
    store.commit()
    await Promise.all(second)
    await closed
    expect(store.log).toEqual(['close'])
  })
})

/** Records what each protected method received, as text, at the moment it was called. */
class RecordingStore extends AbstractKVStore {
  readonly calls: string[] = []
  /** Called inside `_put`, before it reads its key a second time. */
  duringPut: (() => void) | undefined

  constructor() {
    super('recording', { maxValueBytes: 64 })
  }

  #text(bytes: Uint8Array): string {
    return new TextDecoder().decode(bytes)
  }
  protected async _open(): Promise<void> {}
  protected async _close(): Promise<void> {}
  protected _get(_bucket: string, key: Uint8Array): null {
    this.calls.push(`get ${this.#text(key)}`)
    return null
  }
  protected override _has(_bucket: string, key: Uint8Array): boolean {
    this.calls.push(`has ${this.#text(key)}`)
    return false
  }
  protected _put(_bucket: string, key: Uint8Array, value: Uint8Array): void {
    const before = this.#text(key)
    this.duringPut?.()
    this.calls.push(`put ${before}=${this.#text(value)} (key after: ${this.#text(key)})`)
  }
  protected _delete(_bucket: string, key: Uint8Array): void {
    this.calls.push(`delete ${this.#text(key)}`)
  }
  protected _deleteBucket(): void {}
  protected _keys(_bucket: string, { prefix }: NormalizedKeysOptions): Iterable<Uint8Array> {
    this.calls.push(`keys ${prefix === undefined ? '(all)' : this.#text(prefix)}`)
    return []
  }
  protected *_buckets(): Iterable<string> {}
}

describe('AbstractKVStore and the buffers it is given', () => {
  it('lists with the prefix keys() was given, though the caller overwrites it before the first next()', async () => {
    const store = new RecordingStore()
    await store.open()
    const encode = (text: string) => new TextEncoder().encode(text)
    const prefix = encode('a-')
    const listing = store.keys('b', { prefix })[Symbol.asyncIterator]()
    prefix.set(encode('b-'))
    expect(await listing.next()).toEqual({ done: true, value: undefined })
    expect(store.calls).toEqual(['keys a-'])
  })

  it('still checks the keys() options at the first next(), not when keys() is called', async () => {
    const store = new RecordingStore()
    await store.open()
    const tooLong = new Uint8Array(64 * 1024 + 1)
    const listings = [
      store.keys('b', { prefix: tooLong }),
      store.keys('b', { prefix: 3 as never }),
      store.keys('b', { prefix: tooLong, extra: 1 } as never),
    ]
    await expect(listings[0]![Symbol.asyncIterator]().next()).rejects.toMatchObject({
      code: 'KV_INVALID_ARGUMENT',
      argument: 'options.prefix',
    })
    await expect(listings[1]![Symbol.asyncIterator]().next()).rejects.toMatchObject({
      code: 'KV_INVALID_ARGUMENT',
      argument: 'options.prefix',
    })
    await expect(listings[2]![Symbol.asyncIterator]().next()).rejects.toMatchObject({
      code: 'KV_INVALID_ARGUMENT',
      argument: 'options',
    })
    expect(store.calls).toEqual([])
  })

  it('gives a call made while open() is in progress the bytes it was given, not what they became', async () => {
    const store = new RecordingStore()
    const opening = store.open()
    const encode = (text: string) => new TextEncoder().encode(text)
    const key = encode('key-1')
    const value = encode('value-1')
    const calls = [
      store.addValue('b', key, value),
      store.getValue('b', key),
      store.existsKey('b', key),
      store.deleteKey('b', key),
      store.addValues('b', [[key, value]]),
    ]
    key.set(encode('key-2'))
    value.set(encode('value-2'))
    await opening
    await Promise.all(calls)
    expect(store.calls).toEqual([
      'put key-1=value-1 (key after: key-1)',
      'get key-1',
      'has key-1',
      'delete key-1',
      'put key-1=value-1 (key after: key-1)',
    ])
  })

  it('encodes string keys per store: a backend writing to another store keeps its own key', async () => {
    const outer = new RecordingStore()
    const inner = new RecordingStore()
    await outer.open()
    await inner.open()
    // While the outer store's _put holds its key, the inner store encodes a key of the same
    // length: the outer key must not change under it.
    outer.duringPut = () => void inner.addValue('b', 'other', 'x')
    await outer.addValue('b', 'first', 'v')
    expect(outer.calls).toEqual(['put first=v (key after: first)'])
    expect(inner.calls).toEqual(['put other=x (key after: other)'])
  })
})
