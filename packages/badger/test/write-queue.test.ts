import { ClassicLevel } from 'classic-level'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type BadgerConfig, badgerSchema } from '../src/config.js'
import { type Engine, openClassic, openMemory } from '../src/engine.js'
import { BadgerKV, type BadgerOptions } from '../src/index.js'
import { EARLY_BATCH, TRACKED_KEYS_MAX, WriteQueue } from '../src/write-queue.js'
import { prng } from './fixtures/crash-plan.mjs'
import { removeDir, tempDir } from './helpers/temp.js'

const config: BadgerConfig = badgerSchema.parse({})
const bytes = (text: string) => new TextEncoder().encode(text)
const text = (value: Uint8Array | undefined) =>
  value === undefined ? undefined : new TextDecoder().decode(value)

interface BatchLike {
  put: (key: Uint8Array, value: Uint8Array) => unknown
  write: (...args: unknown[]) => Promise<void>
}

/**
 * Makes every chained batch of `target` (a database, or a database class's prototype) that puts
 * a key ending in `poison` fail at `write()`, as a LevelDB I/O error would; other batches write
 * normally. Returns the undo.
 */
function poisonBatches(target: object, poison: string): () => void {
  const holder = target as { batch: (...args: unknown[]) => BatchLike }
  const own = Object.hasOwn(holder, 'batch')
  const working = holder.batch
  holder.batch = function (this: unknown, ...args: unknown[]) {
    const batch = working.apply(this, args)
    let poisoned = false
    const put = batch.put.bind(batch)
    batch.put = (key, value) => {
      if (text(key)!.endsWith(poison)) poisoned = true
      return put(key, value)
    }
    const write = batch.write.bind(batch)
    batch.write = (...a) =>
      poisoned ? Promise.reject(new Error('simulated I/O error')) : write(...a)
    return batch
  }
  return () => {
    if (own) holder.batch = working
    else delete (holder as { batch?: unknown }).batch
  }
}

/** `count` entries `${tag}${i}` → `v${i}`. */
const entriesOf = (tag: string, count: number): [Uint8Array, Uint8Array][] =>
  Array.from({ length: count }, (_, i) => [bytes(`${tag}${i}`), bytes(`v${i}`)])

describe.each(['classic-level', 'memory-level'])('WriteQueue on %s', (engineName) => {
  let path: string
  let engine: Engine
  let queue: WriteQueue
  let counts: { put: number; del: number; batches: number[] }

  beforeEach(async () => {
    path = await tempDir('queue')
    engine = engineName === 'classic-level' ? await openClassic(path, config) : await openMemory()
    queue = new WriteQueue(engine.db, { sync: false, copy: engine.inMemory })
    counts = { put: 0, del: 0, batches: [] }
    // Count what reaches the database (the methods stay the real ones).
    const db = engine.db as unknown as Record<string, (...args: unknown[]) => unknown>
    for (const name of ['put', 'del'] as const) {
      const original = db[name]!.bind(db)
      db[name] = (...args: unknown[]) => {
        counts[name]++
        return original(...args)
      }
    }
    const originalBatch = db.batch!.bind(db)
    db.batch = (...args: unknown[]) => {
      const batch = originalBatch(...args) as {
        write: (...a: unknown[]) => Promise<void>
        length: number
      }
      const write = batch.write.bind(batch)
      batch.write = (...a: unknown[]) => {
        counts.batches.push(batch.length)
        return write(...a)
      }
      return batch
    }
  })
  afterEach(async () => {
    await queue.drain()
    await engine.db.close()
    await removeDir(path)
  })

  it('sends one awaited write after another out alone, as a raw write', async () => {
    for (let i = 0; i < 20; i++) await queue.put(bytes(`k${i}`), bytes('v'))
    for (let i = 0; i < 10; i++) await queue.del(bytes(`k${i}`))
    expect(counts).toEqual({ put: 20, del: 10, batches: [] })
  })

  it('coalesces writes issued together into batches', async () => {
    const writes = Array.from({ length: 200 }, (_, i) => queue.put(bytes(`k${i}`), bytes(`v${i}`)))
    await Promise.all(writes)
    // The first goes out at once; the rest in at most a few batches.
    expect(counts.put).toBe(1)
    expect(counts.batches.length).toBeGreaterThan(0)
    expect(counts.batches.length).toBeLessThanOrEqual(3)
    expect(counts.batches.reduce((a, b) => a + b, 0)).toBe(199)
    for (let i = 0; i < 200; i++) expect(text(engine.db.getSync(bytes(`k${i}`)))).toBe(`v${i}`)
  })

  it('sends a batch out within the tick once it reaches EARLY_BATCH writes beside the one in flight', async () => {
    const writes = [queue.put(bytes('k0'), bytes('v0'))] // finds the queue idle: goes out alone
    for (let i = 1; i < EARLY_BATCH; i++) writes.push(queue.put(bytes(`k${i}`), bytes(`v${i}`)))
    // Still the same tick: a batch one short of EARLY_BATCH waits for the end of the tick.
    expect(counts.batches).toEqual([])
    writes.push(queue.put(bytes(`k${EARLY_BATCH}`), bytes(`v${EARLY_BATCH}`)))
    // Its EARLY_BATCH-th write sends it at once, alongside the single put in flight.
    expect(counts.batches).toEqual([EARLY_BATCH])
    for (let i = EARLY_BATCH + 1; i < 200; i++) {
      writes.push(queue.put(bytes(`k${i}`), bytes(`v${i}`)))
    }
    await Promise.all(writes)
    // Two were in flight (MAX_IN_FLIGHT), so the next batch kept growing past EARLY_BATCH and
    // went out whole once one of them was done.
    expect(counts.put).toBe(1)
    expect(counts.batches).toEqual([EARLY_BATCH, 200 - 1 - EARLY_BATCH])
    for (let i = 0; i < 200; i++) expect(text(engine.db.getSync(bytes(`k${i}`)))).toBe(`v${i}`)
  })

  it('holds back a batch of EARLY_BATCH writes that shares a key with the write in flight', async () => {
    const writes = [queue.put(bytes('k0'), bytes('first'))]
    // The batch's second write is k0 again: it may not fly beside the put of k0.
    for (let i = 1; i < 200; i++) {
      writes.push(queue.put(bytes(i === 2 ? 'k0' : `k${i}`), bytes(i === 2 ? 'second' : 'v')))
    }
    expect(counts.batches).toEqual([])
    await Promise.all(writes)
    expect(counts.batches).toEqual([199])
    expect(text(engine.db.getSync(bytes('k0')))).toBe('second')
  })

  it('writers released together by a batch form the next batch together', async () => {
    const writers = 64
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < 20; i++) await queue.put(bytes(`w${w}-${i}`), bytes('v'))
      }),
    )
    const writes = counts.put + counts.batches.reduce((a, b) => a + b, 0)
    expect(writes).toBe(writers * 20)
    // Far fewer database writes than calls: on average a dozen or more writes per batch.
    expect(counts.put + counts.batches.length).toBeLessThan((writers * 20) / 12)
    expect(Math.max(...counts.batches)).toBeGreaterThanOrEqual(EARLY_BATCH)
  })

  it('keeps the order of writes to the same key, whatever the batching', async () => {
    const random = prng(12345)
    const model = new Map<string, string | undefined>()
    for (let round = 0; round < 30; round++) {
      const burst: Promise<void>[] = []
      const size = 1 + Math.floor(random() * 120)
      for (let i = 0; i < size; i++) {
        const key = `k${Math.floor(random() * 8)}`
        if (random() < 0.3) {
          burst.push(queue.del(bytes(key)))
          model.set(key, undefined)
        } else {
          const value = `r${round}-${i}`
          burst.push(queue.put(bytes(key), bytes(value)))
          model.set(key, value)
        }
      }
      // Some bursts are awaited, some overlap with the next.
      if (random() < 0.5) await Promise.all(burst)
    }
    await queue.drain()
    for (const [key, value] of model) expect(text(engine.db.getSync(bytes(key))), key).toBe(value)
  })

  it('lets callers reuse their buffers as soon as the call returns', async () => {
    const key = bytes('reused-key')
    const value = bytes('original')
    const first = queue.put(key, value)
    key.fill(0x7a)
    value.fill(0x7a)
    const keys = Array.from({ length: 40 }, (_, i) => bytes(`k${i}`))
    const values = Array.from({ length: 40 }, () => bytes('value'))
    const rest = keys.map((k, i) => queue.put(k, values[i]!))
    for (const b of [...keys, ...values]) b.fill(0x7a)
    await Promise.all([first, ...rest])
    expect(text(engine.db.getSync(bytes('reused-key')))).toBe('original')
    for (let i = 0; i < 40; i++) expect(text(engine.db.getSync(bytes(`k${i}`)))).toBe('value')
  })

  it('routes a failed batch write to every caller in it, and goes on afterwards', async () => {
    const db = engine.db as unknown as {
      batch: (...args: unknown[]) => { write: () => Promise<void> }
    }
    const working = db.batch
    db.batch = (...args: unknown[]) => {
      const batch = working(...args)
      batch.write = () => Promise.reject(new Error('simulated I/O error'))
      return batch
    }
    const writes = Array.from({ length: 10 }, (_, i) => queue.put(bytes(`k${i}`), bytes('v')))
    const results = await Promise.allSettled(writes)
    // The first went out alone and succeeded; the nine batched with it all see the error.
    expect(results[0]!.status).toBe('fulfilled')
    for (const r of results.slice(1)) {
      expect(r.status).toBe('rejected')
      expect(((r as PromiseRejectedResult).reason as Error).message).toBe('simulated I/O error')
    }
    db.batch = working
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => queue.put(bytes(`k${i}`), bytes('again'))),
    )
    for (let i = 0; i < 10; i++) expect(text(engine.db.getSync(bytes(`k${i}`)))).toBe('again')
  })

  it('sends putMany out as one batch of its own, within the tick, beside a put in flight', async () => {
    const single = queue.put(bytes('single'), bytes('v'))
    const many = queue.putMany(entriesOf('m', 100), (key) => key)
    expect(counts.batches).toEqual([100])
    await Promise.all([single, many])
    expect(counts).toEqual({ put: 1, del: 0, batches: [100] })
    for (let i = 0; i < 100; i++) expect(text(engine.db.getSync(bytes(`m${i}`)))).toBe(`v${i}`)
  })

  it('holds a putMany of more than TRACKED_KEYS_MAX entries (its keys are not hashed) back while a write is in flight, and holds writes back while it is', async () => {
    const large = TRACKED_KEYS_MAX + 1
    const single = queue.put(bytes('single'), bytes('v'))
    const many = queue.putMany(entriesOf('m', large), (key) => key)
    // No key in common, but untracked keys count as shared: it waits for the put.
    expect(counts.batches).toEqual([])
    await Promise.all([single, many])
    expect(counts.batches).toEqual([large])
    // Now in flight alone; a batch of EARLY_BATCH writes of other keys may not join it in flight.
    const again = queue.putMany(entriesOf('n', large), (key) => key)
    expect(counts.batches).toEqual([large, large])
    const writes = Array.from({ length: EARLY_BATCH }, (_, i) =>
      queue.put(bytes(`w${i}`), bytes('v')),
    )
    expect(counts.batches).toEqual([large, large])
    await Promise.all([again, ...writes])
    expect(counts.batches).toEqual([large, large, EARLY_BATCH])
    for (let i = 0; i < large; i++) expect(text(engine.db.getSync(bytes(`n${i}`)))).toBe(`v${i}`)
  })

  it('sends a putMany of TRACKED_KEYS_MAX entries beside a write in flight that shares no key', async () => {
    const single = queue.put(bytes('single'), bytes('v'))
    const many = queue.putMany(entriesOf('m', TRACKED_KEYS_MAX), (key) => key)
    expect(counts.batches).toEqual([TRACKED_KEYS_MAX])
    await Promise.all([single, many])
  })

  it('keeps putMany out of the batches of the writes around it', async () => {
    const writes = [queue.put(bytes('a'), bytes('v')), queue.put(bytes('b'), bytes('v'))]
    writes.push(queue.putMany(entriesOf('m', 100), (key) => key))
    writes.push(queue.put(bytes('c'), bytes('v')))
    await Promise.all(writes)
    // a alone; b's batch; putMany's; c's: in the order issued.
    expect(counts.put).toBe(1)
    expect(counts.batches).toEqual([1, 100, 1])
  })

  it('a putMany whose batch fails writes none of its entries and fails no write around it', async () => {
    const restore = poisonBatches(engine.db, 'poison')
    try {
      const around = [queue.put(bytes('a'), bytes('v')), queue.put(bytes('b'), bytes('v'))]
      // The failing entry comes last: had any earlier entry been written apart, it would show.
      const entries = [...entriesOf('m', 99), [bytes('poison'), bytes('v')] as const]
      const many = queue.putMany(entries, (key) => key)
      around.push(queue.put(bytes('c'), bytes('v')))
      await expect(many).rejects.toThrow('simulated I/O error')
      await Promise.all(around)
    } finally {
      restore()
    }
    for (let i = 0; i < 99; i++) expect(engine.db.getSync(bytes(`m${i}`)), `m${i}`).toBeUndefined()
    expect(engine.db.getSync(bytes('poison'))).toBeUndefined()
    for (const key of ['a', 'b', 'c']) expect(text(engine.db.getSync(bytes(key))), key).toBe('v')
  })

  it('runs exclusive work after the writes before it and before the writes after it', async () => {
    const before = Array.from({ length: 50 }, (_, i) => queue.put(bytes(`b${i}`), bytes('v')))
    let seen: number | undefined
    const task = queue.exclusive(async () => {
      seen = (await engine.db.keys().all()).length
    })
    const after = Array.from({ length: 50 }, (_, i) => queue.put(bytes(`a${i}`), bytes('v')))
    await Promise.all([...before, task, ...after])
    expect(seen).toBe(50)
    expect((await engine.db.keys().all()).length).toBe(100)
  })

  it('close() writes what was issued before it and refuses what comes after with KV_NOT_OPEN', async () => {
    const before = Array.from({ length: 40 }, (_, i) => queue.put(bytes(`k${i}`), bytes('v')))
    const closing = queue.close()
    const after = Promise.allSettled([
      queue.put(bytes('late'), bytes('v')),
      queue.del(bytes('k0')),
      queue.putMany(entriesOf('m', 3), (key) => key),
      queue.exclusive(() => engine.db.clear()),
    ])
    await closing
    await Promise.all(before)
    const refused = { status: 'rejected', reason: expect.objectContaining({ code: 'KV_NOT_OPEN' }) }
    expect(await after).toEqual([refused, refused, refused, refused])
    const keys = (await engine.db.keys().all()).map((k) => text(k))
    expect(keys.sort()).toEqual(Array.from({ length: 40 }, (_, i) => `k${i}`).sort())
  })

  it('drain() waits for everything queued', async () => {
    for (let i = 0; i < 100; i++) void queue.put(bytes(`k${i}`), bytes('v'))
    await queue.drain()
    expect((await engine.db.keys().all()).length).toBe(100)
  })
})

describe('WriteQueue with exclusive work running', () => {
  it('holds back a write issued while the work runs, even when nothing else is queued', async () => {
    const path = await tempDir('queue')
    const engine = await openClassic(path, config)
    const queue = new WriteQueue(engine.db, { sync: false, copy: false })
    try {
      await queue.put(bytes('before'), bytes('v'))
      let release!: () => void
      let started!: () => void
      const running = new Promise<void>((resolve) => (started = resolve))
      const task = queue.exclusive(async () => {
        started()
        await new Promise<void>((resolve) => (release = resolve))
        // Still nothing of the later write may be visible while the work runs.
        expect(engine.db.getSync(bytes('after'))).toBeUndefined()
        await engine.db.clear()
      })
      await running
      const later = queue.put(bytes('after'), bytes('v'))
      await new Promise((resolve) => setTimeout(resolve, 50))
      release()
      await Promise.all([task, later])
      // The clear ran before the write issued after it was queued.
      expect(text(engine.db.getSync(bytes('after')))).toBe('v')
      expect(engine.db.getSync(bytes('before'))).toBeUndefined()
    } finally {
      await queue.drain()
      await engine.db.close()
      await removeDir(path)
    }
  })
})

describe.each([
  ['single_bucket_mode: true', { single_bucket_mode: true }],
  ['single_bucket_mode: false', { single_bucket_mode: false }],
] as [string, BadgerOptions][])('BadgerKV.addValues (%s)', (_name, options) => {
  it('writes all of its entries or, when LevelDB fails the write, none of them', async () => {
    const path = await tempDir('add-values')
    const store = new BadgerKV({ ...options, path, value_log_gc_enabled: false })
    await store.open()
    try {
      await store.addValue('b', 'existing', 'v') // the bucket exists (per-bucket: its database)
      // Every LevelDB in the process whose batch holds the key 'poison' fails to write it.
      const restore = poisonBatches(ClassicLevel.prototype, 'poison')
      try {
        const around = [store.addValue('b', 'a', 'v')]
        const failed = store.addValues('b', [
          ...Array.from({ length: 99 }, (_, i) => [`m${i}`, 'v'] as const),
          ['poison', 'v'],
        ])
        const written = store.addValues(
          'b',
          Array.from({ length: 100 }, (_, i) => [`n${i}`, 'v'] as const),
        )
        around.push(store.addValue('b', 'c', 'v'))
        await expect(failed).rejects.toThrow('simulated I/O error')
        await Promise.all([...around, written])
      } finally {
        restore()
      }
      for (let i = 0; i < 99; i++) expect(await store.existsKey('b', `m${i}`), `m${i}`).toBe(false)
      expect(await store.existsKey('b', 'poison')).toBe(false)
      for (let i = 0; i < 100; i++) expect(await store.existsKey('b', `n${i}`), `n${i}`).toBe(true)
      for (const key of ['existing', 'a', 'c'])
        expect(await store.existsKey('b', key), key).toBe(true)
    } finally {
      await store.close()
      await removeDir(path)
    }
  })
})
