import { type KVStore, MemoryStore } from '@kv/core'
import { describe, expect, it } from 'vitest'
import {
  binaryData,
  type ConformanceTarget,
  collectResults,
  compression,
  invalidInput,
  modelBased,
  persistence,
  runConformance,
} from '../src/index.js'
import { EmptyIsMissingStore } from './broken/empty-is-missing-store.js'

const OVER_LIMIT = "§3.7 a value over the backend's limit is rejected"
const EXACT_LIMIT = "§3.7 a value of exactly the backend's limit is accepted and reads back"
const PERSISTENT_DECLARED =
  '§3.6 a store that says it keeps its data (store.persistent) is declared capabilities.persistent'

/** A MemoryStore (which forgets on close) whose `persistent` property is `value`. */
function saying(value: unknown): KVStore {
  const store = new MemoryStore()
  Object.defineProperty(store, 'persistent', { value })
  return store
}

/** A target that records every store it made and every destroy. */
function counting(
  create: () => KVStore,
): ConformanceTarget & { created: KVStore[]; destroyed: KVStore[] } {
  const created: KVStore[] = []
  const destroyed: KVStore[] = []
  return {
    name: 'counting',
    created,
    destroyed,
    create: () => {
      const store = create()
      created.push(store)
      return store
    },
    reopen: (closed) => closed,
    destroy: (store) => {
      destroyed.push(store)
    },
    capabilities: { persistent: true },
    modelRuns: 3,
    modelOps: 50,
  }
}

describe('the harness', () => {
  it('gives every test its own store, and closes and destroys each once, also when tests fail', async () => {
    for (const make of [
      () => new MemoryStore({ persistAcrossClose: true }),
      () => new EmptyIsMissingStore(),
    ]) {
      const target = counting(make)
      const results = await collectResults(runConformance, target)
      expect(results.length).toBeGreaterThan(100)
      expect(new Set(target.created).size).toBe(target.created.length)
      expect(target.destroyed).toEqual(target.created)
      expect(target.created.every((store) => store.status === 'closed')).toBe(true)
    }
  }, 120_000)

  it('skips the persistence tests, with the reason, for a target that is not persistent', async () => {
    const results = await collectResults(persistence, {
      name: 'memory',
      create: () => new MemoryStore(),
    })
    expect(results.length).toBeGreaterThan(3)
    for (const result of results) {
      // The check of store.persistent against the declaration runs for every target.
      if (result.name === PERSISTENT_DECLARED) {
        expect(result).toMatchObject({ passed: true, skipped: false })
        continue
      }
      expect(result.skipped).toBe(true)
      expect(result.skipReason).toMatch(/capabilities\.persistent/)
    }
  })

  it('runs the same-object persistence tests but skips the reopen test when the target has no reopen()', async () => {
    const results = await collectResults(persistence, {
      name: 'memory',
      create: () => new MemoryStore({ persistAcrossClose: true }),
      capabilities: { persistent: true },
    })
    const skipped = results.filter((r) => r.skipped).map((r) => r.name)
    expect(skipped).toEqual(['§3.6 a new store object over the same data shows the same data'])
    expect(results.filter((r) => r.passed).length).toBe(results.length - 1)
  })

  it('catches a store that forgets on close when it claims to be persistent', async () => {
    const results = await collectResults(persistence, {
      name: 'forgetful',
      create: () => new MemoryStore(),
      capabilities: { persistent: true },
    })
    expect(results.filter((r) => !r.passed && !r.skipped).length).toBeGreaterThanOrEqual(4)
  })

  it('fails a target that omits capabilities.persistent for a store that says it keeps its data', async () => {
    // true, and absent (which @kv/core reads as "keeps its data").
    for (const make of [() => saying(true), () => saying(undefined)]) {
      const results = await collectResults(persistence, { name: 'undeclared', create: make })
      const result = results.find((r) => r.name === PERSISTENT_DECLARED)
      expect(result).toMatchObject({ passed: false, skipped: false })
      expect(String((result!.error as Error).message)).toMatch(
        /does not declare capabilities\.persistent/,
      )
    }
    // Declared, the same stores pass the check (they go on to fail the reopen tests, forgetting).
    const declared = await collectResults(persistence, {
      name: 'declared',
      create: () => saying(true),
      capabilities: { persistent: true },
    })
    expect(declared.find((r) => r.name === PERSISTENT_DECLARED)).toMatchObject({ passed: true })
  })

  it('accepts persistent: false with or without the capability (data kept across close() only)', async () => {
    for (const target of [
      { name: 'memory', create: () => new MemoryStore() },
      {
        name: 'persistAcrossClose',
        create: () => new MemoryStore({ persistAcrossClose: true }),
        capabilities: { persistent: true },
      },
    ]) {
      const results = await collectResults(persistence, target)
      expect(results.find((r) => r.name === PERSISTENT_DECLARED)).toMatchObject({ passed: true })
    }
  })

  it('fails a store whose persistent property is not a boolean', async () => {
    const results = await collectResults(persistence, {
      name: 'odd',
      create: () => saying('yes'),
      capabilities: { persistent: true },
    })
    const result = results.find((r) => r.name === PERSISTENT_DECLARED)
    expect(String((result!.error as Error).message)).toMatch(/true, false or absent; got string/)
  })

  it('catches a store that refuses a value of exactly the limit it states', async () => {
    class Strict extends MemoryStore {
      protected override _put(bucket: string, key: Uint8Array, value: Uint8Array): void {
        if (value.length >= this.limits.maxValueBytes) throw new RangeError('too large')
        super._put(bucket, key, value)
      }
    }
    const results = await collectResults(invalidInput, {
      name: 'strict',
      create: () => new Strict({ maxValueBytes: 1000 }),
    })
    expect(results.find((r) => r.name === EXACT_LIMIT)).toMatchObject({
      passed: false,
      skipped: false,
    })
  })

  it('tests the value limit when it is small enough to allocate', async () => {
    const results = await collectResults(invalidInput, {
      name: 'small limit',
      create: () => new MemoryStore({ maxValueBytes: 1000 }),
    })
    for (const name of [OVER_LIMIT, EXACT_LIMIT]) {
      expect(results.find((r) => r.name === name)).toMatchObject({ passed: true, skipped: false })
    }
    expect(results.every((r) => r.passed)).toBe(true)
  })

  it('catches a store that accepts values over the limit it states', async () => {
    class Overpromising extends MemoryStore {
      override get limits() {
        return { maxValueBytes: 100 }
      }
    }
    const results = await collectResults(invalidInput, {
      name: 'overpromising',
      create: () => new Overpromising(),
    })
    expect(results.find((r) => r.name === OVER_LIMIT)).toMatchObject({
      passed: false,
      skipped: false,
    })
  })

  it('skips the over-limit and exact-limit cases, with the reason, when the limit is too large to allocate', async () => {
    const results = await collectResults(invalidInput, {
      name: 'huge limit',
      create: () => new MemoryStore({ maxValueBytes: 2 ** 31 }),
    })
    for (const name of [OVER_LIMIT, EXACT_LIMIT]) {
      expect(results.find((r) => r.name === name)).toMatchObject({
        skipped: true,
        skipReason: expect.stringMatching(/128 MiB/),
      })
    }
  })

  it('skips the 1 MiB cases for a backend whose limit is smaller', async () => {
    const results = await collectResults(binaryData, {
      name: 'small',
      create: () => new MemoryStore({ maxValueBytes: 4096 }),
    })
    expect(results.filter((r) => r.skipped).map((r) => r.name)).toEqual([
      '§3.3 a large value (1 MiB) comes back byte-identical',
    ])
    expect(results.filter((r) => !r.passed && !r.skipped)).toEqual([])
  })

  it('skips the compressed 1 MiB round trip when the raw value is over the limit, though its compressed form fits', async () => {
    // 512 KiB: the compressible 1 MiB value compresses far below it, but addValueCompress checks
    // the raw size too.
    const results = await collectResults(compression, {
      name: 'half a MiB',
      create: () => new MemoryStore({ maxValueBytes: 512 * 1024 }),
    })
    expect(
      results.find((r) => r.name === '§3.5 a compressed 1 MiB value round-trips'),
    ).toMatchObject({
      skipped: true,
      skipReason: expect.stringMatching(/under 1 MiB/),
    })
    expect(results.filter((r) => !r.passed && !r.skipped)).toEqual([])
  })

  it('round-trips only the compression values within a limit of 64 KiB (64 KiB of random bytes compress to more)', async () => {
    const results = await collectResults(compression, {
      name: '64 KiB',
      create: () => new MemoryStore({ maxValueBytes: 64 * 1024 }),
    })
    expect(results.filter((r) => !r.passed && !r.skipped)).toEqual([])
  })

  it('fails a test that exceeds its timeout', async () => {
    class Hanging extends MemoryStore {
      override getValue(): Promise<Uint8Array | null> {
        return new Promise(() => {})
      }
    }
    const results = await collectResults(
      runConformance,
      { name: 'hanging', create: () => new Hanging(), timeout: 200 },
      { filter: (name) => name === '§3.1 a missing key reads as null from getValue' },
    )
    expect(results).toHaveLength(1)
    expect(String((results[0]!.error as Error).message)).toMatch(/timed out after 200 ms/)
  })

  it('names each result with its groups', async () => {
    const results = await collectResults(
      runConformance,
      { name: 'memory', create: () => new MemoryStore() },
      {
        filter: (name) => name === '§3.2 an empty value is a real value',
      },
    )
    expect(results).toEqual([
      {
        name: '§3.2 an empty value is a real value',
        groups: ['memory', 'basic CRUD'],
        passed: true,
        skipped: false,
      },
    ])
  })

  it('refuses a model test of no runs or no operations, which any store would pass', async () => {
    // EmptyIsMissingStore fails every real run of the model test: only a vacuous one passes it.
    const target = { name: 'broken', create: () => new EmptyIsMissingStore() }
    for (const [option, value] of [
      ['modelRuns', 0],
      ['modelOps', 0],
      ['modelRuns', Number.NaN],
      ['modelOps', -5], // fast-check never finishes generating a sequence of -5 operations
      ['modelRuns', 1.5],
    ] as const) {
      await expect(
        collectResults(modelBased, { ...target, [option]: value }),
        `${option}: ${value}`,
      ).rejects.toMatchObject({ code: 'KV_INVALID_ARGUMENT', argument: `target.${option}` })
    }
    const [result] = await collectResults(modelBased, { ...target, modelRuns: 1, modelOps: 200 })
    expect(result!.passed).toBe(false)
  })
})
