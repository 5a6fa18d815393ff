/**
 * `storeTest`: registers a test whose body gets a fresh store of the target, opened (unless
 * asked otherwise) and always cleaned up.
 *
 * @module
 */
import type { KVStore } from '@kv/core'
import type { ConformanceRunner, ConformanceTestContext } from '../runner.js'
import { type ConformanceTarget, testTimeout } from '../target.js'
import { type StoreSession, withStore } from './session.js'

/** The body of a store test. */
export type StoreTestBody = (
  store: KVStore,
  session: StoreSession,
  context: ConformanceTestContext,
) => Promise<void>

/** Options of one store test. */
export interface StoreTestOptions {
  /** Open the store before the body runs (default true). */
  open?: boolean
  /** Overrides the target's timeout. */
  timeout?: number
}

/** Returns a function that registers store tests of `target` on `runner`. */
export function storeTests(runner: ConformanceRunner, target: ConformanceTarget) {
  return (name: string, body: StoreTestBody, options: StoreTestOptions = {}): void => {
    runner.test(
      name,
      (context) =>
        withStore(target, (store, session) => body(store, session, context), {
          open: options.open ?? true,
        }),
      { timeout: options.timeout ?? testTimeout(target) },
    )
  }
}
