/**
 * What a backend hands the suite: how to make a store, and what the store can do.
 *
 * @module
 */
import type { KVStore } from '@kv/core'

/** What a backend can do beyond what every backend must. */
export interface ConformanceCapabilities {
  /**
   * The data survives `close()`: a closed store opened again, or a new store object made by
   * {@link ConformanceTarget.reopen}, shows the same data (SPEC §3.6). Enables the persistence
   * tests and close/reopen steps in the model-based test. Default false.
   */
  persistent?: boolean
}

/** The backend under test, and how to run the suite against it. */
export interface ConformanceTarget {
  /** Shown as the outermost group of the suite, e.g. `simple_kv (sync_writes: true)`. */
  name: string
  /**
   * A new, empty, closed store. Called once per test (and once per run of the model-based
   * test); the suite opens it and closes it at the end, also when the test fails.
   */
  create(): KVStore | Promise<KVStore>
  /**
   * For persistent backends: a new store object over the data of `closed` (which the suite has
   * closed). May return `closed` itself when the backend has no other way. The suite opens it.
   * Without it, persistence is tested by closing and opening the same object only.
   */
  reopen?(closed: KVStore): KVStore | Promise<KVStore>
  /**
   * Cleanup, such as removing a temporary directory. Called once per `create()`, with the store
   * `create()` returned, after every store over its data (including those from `reopen`) has
   * been closed.
   */
  destroy?(store: KVStore): void | Promise<void>
  /** What the backend can do. */
  capabilities?: ConformanceCapabilities
  /** Runs of the model-based test, each on a fresh store (default 20): a positive integer. */
  modelRuns?: number
  /** Operations in each run of the model-based test (default 200): a positive integer. */
  modelOps?: number
  /** Seed of the model-based test, to replay a failing run (its message gives the seed). */
  modelSeed?: number
  /** Timeout of each test in milliseconds (default 60 000; the model-based test gets more). */
  timeout?: number
}

/** Defaults of the optional numbers of {@link ConformanceTarget}. */
export const TargetDefaults = {
  modelRuns: 20,
  modelOps: 200,
  timeout: 60_000,
} as const

/** The timeout of an ordinary test. */
export function testTimeout(target: ConformanceTarget): number {
  return target.timeout ?? TargetDefaults.timeout
}
