import { type KVStore, MemoryStore } from '@kv/core'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  type ConformanceResult,
  collectResults,
  runConformance,
  TargetDefaults,
} from '../src/index.js'
import { CommaJoinedStore } from './broken/comma-joined-store.js'
import { EarlyCloseStore } from './broken/early-close-store.js'
import { EmptyIsMissingStore } from './broken/empty-is-missing-store.js'
import { FirstWinsBatchStore } from './broken/first-wins-batch-store.js'
import { GarbageDecoderStore } from './broken/garbage-decoder-store.js'
import { LateKeyStore } from './broken/late-key-store.js'
import { LossyConcurrentStore } from './broken/lossy-concurrent-store.js'
import { PairByPairBatchStore } from './broken/pair-by-pair-batch-store.js'
import { VolatileBatchStore } from './broken/volatile-batch-store.js'

const MODEL_TEST = `§3 ${TargetDefaults.modelRuns} random sequences of ${TargetDefaults.modelOps} operations agree with a reference model`

/** Runs the whole suite against `create` in-process. */
function runAgainst(name: string, create: () => KVStore): Promise<ConformanceResult[]> {
  return collectResults(runConformance, { name, create })
}

/** Runs the whole suite against a persistent `create`, reopened as the same object. */
function runAgainstPersistent(name: string, create: () => KVStore): Promise<ConformanceResult[]> {
  return collectResults(runConformance, {
    name,
    create,
    reopen: (closed) => closed,
    capabilities: { persistent: true },
  })
}

const failedNames = (results: ConformanceResult[]): string[] =>
  results.filter((r) => !r.passed && !r.skipped).map((r) => r.name)
const passedNames = (results: ConformanceResult[]): string[] =>
  results.filter((r) => r.passed).map((r) => r.name)

describe('the suite has teeth: each deliberately broken store fails named tests', () => {
  it('passes completely against MemoryStore through collectResults (the control)', async () => {
    const results = await runAgainst('MemoryStore', () => new MemoryStore())
    expect(failedNames(results)).toEqual([])
    expect(results.length).toBeGreaterThan(100)
  }, 120_000)

  describe('a store that joins bucket and key with "," (as the Go framework does)', () => {
    let results: ConformanceResult[]
    beforeAll(async () => {
      results = await runAgainst('comma-joined', () => new CommaJoinedStore())
    }, 120_000)

    it('fails the §3.4 collision test for "," and the tests that list or drop buckets', () => {
      expect(failedNames(results)).toEqual(
        expect.arrayContaining([
          '§3.4 bucket "a,b" key "c" and bucket "a" key "b,c" are different entries',
          '§3 keys() lists only the keys of its bucket',
          '§3 deleteBucket removes every key of that bucket and nothing else',
          MODEL_TEST,
        ]),
      )
    })

    it('passes the collision test for separators it does not use', () => {
      expect(passedNames(results)).toContain(
        '§3.4 bucket "a_b" key "c" and bucket "a" key "b_c" are different entries',
      )
    })
  })

  describe('a store that treats an empty value as missing', () => {
    let results: ConformanceResult[]
    beforeAll(async () => {
      results = await runAgainst('empty-is-missing', () => new EmptyIsMissingStore())
    }, 120_000)

    it('fails the §3.2 empty value tests', () => {
      expect(failedNames(results)).toEqual(
        expect.arrayContaining([
          '§3.2 an empty value is a real value',
          '§3.2 an empty string value is a real value',
          '§3.2 an empty value can be deleted and written again',
          MODEL_TEST,
        ]),
      )
    })

    it('still passes the compressed empty value test (it stores 5 bytes, not 0)', () => {
      expect(passedNames(results)).toContain(
        '§3.2 an empty value stored with addValueCompress is a real value',
      )
    })
  })

  describe('a store whose decoder returns garbage on corrupt input', () => {
    let results: ConformanceResult[]
    beforeAll(async () => {
      results = await runAgainst('garbage-decoder', () => new GarbageDecoderStore())
    }, 120_000)

    it('fails every §3.5 corrupt-value test', () => {
      const failed = failedNames(results)
      expect(failed).toEqual(
        expect.arrayContaining([
          '§3.5 getCompressedValue on ff ff ff ff 00 rejects with KV_CORRUPT_VALUE',
          '§3.5 getCompressedValue on random bytes rejects with KV_CORRUPT_VALUE',
          '§3.5 getCompressedValue on a truncated valid encoding rejects with KV_CORRUPT_VALUE',
          '§3.5 getCompressedValue on a match offset before the start of the output rejects with KV_CORRUPT_VALUE',
          '§3.5 getCompressedValue on a valid encoding followed by a trailing byte rejects with KV_CORRUPT_VALUE',
          MODEL_TEST,
        ]),
      )
      expect(failed.filter((name) => name.startsWith('§3.5 getCompressedValue on '))).toHaveLength(
        11,
      )
    })

    it('reports the missing rejection in the failure', () => {
      const result = results.find(
        (r) => r.name === '§3.5 getCompressedValue on ff ff ff ff 00 rejects with KV_CORRUPT_VALUE',
      )
      expect(String((result!.error as Error).message)).toMatch(
        /expected a rejection with KV_CORRUPT_VALUE/,
      )
    })
  })

  describe('a store that loses writes made concurrently', () => {
    let results: ConformanceResult[]
    beforeAll(async () => {
      results = await runAgainst('lossy-concurrent', () => new LossyConcurrentStore())
    }, 120_000)

    it('fails the §3.6 concurrency tests, and the tests that use addValues', () => {
      expect(failedNames(results)).toEqual(
        expect.arrayContaining([
          '§3.6 500 concurrent addValue calls of distinct keys are all kept',
          '§3.6 200 concurrent addValueCompress calls of distinct keys are all kept',
          '§3.6 concurrent mixed operations are safe and none is lost',
          // The default addValues issues its writes together, and this store loses all but one.
          'addValues stores every pair, byte-identical, and lists the keys in order',
          // The model test's operations are sequential, but its addValues steps are not.
          MODEL_TEST,
        ]),
      )
    })

    it('passes the sequential tests', () => {
      const passed = passedNames(results)
      expect(passed).toContain('§3.3 addValue overwrites')
      expect(passed).toContain(
        '§3.4 bucket "a,b" key "c" and bucket "a" key "b,c" are different entries',
      )
    })
  })

  describe('a store that reads its key a turn after the call', () => {
    let results: ConformanceResult[]
    beforeAll(async () => {
      results = await runAgainst('late-key', () => new LateKeyStore())
    }, 120_000)

    it('fails the test that reuses every input buffer at once, and the concurrent tests', () => {
      expect(failedNames(results)).toEqual(
        expect.arrayContaining([
          '§3.3 the input buffers may be reused as soon as a call returns, before it settles',
        ]),
      )
    })

    it('passes the tests that await each call before touching its buffers', () => {
      const passed = passedNames(results)
      expect(passed).toContain('§3.3 addValue overwrites')
      expect(passed).toContain(
        '§3.3 changing the input buffers after a write does not change what is stored',
      )
    })
  })

  describe('a store whose close() resolves before the writes in flight finish', () => {
    let results: ConformanceResult[]
    beforeAll(async () => {
      results = await runAgainst('early-close', () => new EarlyCloseStore())
    }, 120_000)

    it('fails exactly the test of close() with operations in flight', () => {
      expect(failedNames(results)).toEqual(['§3.6 close() lets the operations in flight finish'])
    })

    it('reports how many writes had completed when close() resolved', () => {
      const result = results.find(
        (r) => r.name === '§3.6 close() lets the operations in flight finish',
      )
      expect(String((result!.error as Error).message)).toMatch(
        /only \d+ of 50 addValue calls(, \d+ of 10 addValues calls)? started before close\(\) had completed when it resolved/,
      )
    })
  })

  describe('a store whose addValues lets the first of two pairs for a key win', () => {
    let results: ConformanceResult[]
    beforeAll(async () => {
      results = await runAgainst('first-wins-batch', () => new FirstWinsBatchStore())
    }, 120_000)

    it('fails exactly the batch test of a key listed twice and the model test', () => {
      expect(failedNames(results)).toEqual([
        'addValues overwrites, and a key listed twice gets its last value',
        // Half its addValues steps give a key twice, and a later read sees the first value.
        MODEL_TEST,
      ])
    })
  })

  describe('a store whose addValues writes pair by pair (a refused pair leaves the pairs before it written)', () => {
    let results: ConformanceResult[]
    beforeAll(async () => {
      results = await runAgainst('pair-by-pair-batch', () => new PairByPairBatchStore())
    }, 120_000)

    it('fails every test of bad input given to addValues (over-limit and lone-surrogate values included), those of a store not open (its empty batch resolves), and close() with a batch in flight (its later pairs meet a closing store)', () => {
      expect(failedNames(results)).toEqual([
        '§3.6 every operation on a never-opened store rejects with KV_NOT_OPEN',
        '§3.6 every operation on a closed store rejects with KV_NOT_OPEN',
        '§3.6 close() lets the operations in flight finish',
        'a bad pair anywhere rejects the whole call and nothing is written',
        '§3.7 a key that is neither bytes nor a string is rejected',
        '§3.7 a key over 64 KiB (65537 bytes) is rejected',
        '§3.7 a key string with a lone surrogate is rejected',
        '§3.7 a value that is neither bytes nor a string is rejected',
        '§3.7 a value string with a lone surrogate is rejected',
        "§3.7 a value over the backend's limit is rejected",
      ])
    })
  })

  describe('a persistent store that loses the entries of addValues at close()', () => {
    let results: ConformanceResult[]
    beforeAll(async () => {
      results = await runAgainstPersistent('volatile-batch', () => new VolatileBatchStore())
    }, 120_000)

    it('fails exactly the tests that reopen after addValues: the two of the sample data, close() with a batch in flight, the neighbours of a large deleteBucket, and the model test', () => {
      expect(failedNames(results)).toEqual([
        '§3.6 close() lets the operations in flight finish',
        '§3 deleteBucket removes all 2,500 keys of a bucket and nothing of its neighbours',
        '§3.6 a closed store opened again shows the same data',
        '§3.6 a new store object over the same data shows the same data',
        // Its addValues steps followed by a close/reopen step, then a read or the final listing.
        MODEL_TEST,
      ])
    })

    it('reports the lost batch entry in the failure', () => {
      const result = results.find(
        (r) => r.name === '§3.6 a closed store opened again shows the same data',
      )
      expect(String((result!.error as Error).message)).toMatch(
        /getValue\(bucket "batch" key "twice"\): expected a Uint8Array, got null/,
      )
    })

    it('passes the persistence tests that write with addValue only (single writes are kept)', () => {
      expect(passedNames(results)).toEqual(
        expect.arrayContaining([
          '§3.6 data survives several close/open cycles with changes in between',
          '§3.6 writes made concurrently before close survive it',
        ]),
      )
    })
  })
})
