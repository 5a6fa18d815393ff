/**
 * A test's hold on its store: creates it, opens it, follows it through close/reopen, and always
 * cleans up — every store object closed, then `destroy` once — whether the test passed or not.
 *
 * @module
 */
import type { KVStore } from '@kv/core'
import type { ConformanceTarget } from '../target.js'

/** The stores of one test. */
export class StoreSession {
  /** The store the test works with now (changes on {@link StoreSession.reopen}). */
  store: KVStore
  readonly #target: ConformanceTarget
  readonly #created: KVStore
  readonly #all: KVStore[]

  private constructor(target: ConformanceTarget, store: KVStore) {
    this.#target = target
    this.#created = store
    this.store = store
    this.#all = [store]
  }

  /** Creates the target's store and, unless `open` is false, opens it. */
  static async start(target: ConformanceTarget, open = true): Promise<StoreSession> {
    const session = new StoreSession(target, await target.create())
    if (open) {
      try {
        await session.store.open()
      } catch (error) {
        await session.dispose(true)
        throw error
      }
    }
    return session
  }

  /** True when the target can make a new store object over the same data. */
  get canReopen(): boolean {
    return this.#target.reopen !== undefined
  }

  /** Closes the store and opens the same object again. */
  async cycle(): Promise<KVStore> {
    await this.store.close()
    await this.store.open()
    return this.store
  }

  /**
   * Closes the store and opens a new store object over its data, made by `target.reopen`
   * (the same object again when the target has no `reopen`).
   */
  async reopen(): Promise<KVStore> {
    await this.store.close()
    const next =
      this.#target.reopen === undefined ? this.store : await this.#target.reopen(this.store)
    if (!this.#all.includes(next)) this.#all.push(next)
    this.store = next
    await next.open()
    return next
  }

  /**
   * Closes every store object of the session, then destroys the created one. When the test
   * already failed (`quiet`), errors here are dropped so that the test's own error is reported.
   */
  async dispose(quiet = false): Promise<void> {
    let failure: unknown
    for (const store of this.#all) {
      try {
        await store.close()
      } catch (error) {
        failure ??= error
      }
    }
    try {
      await this.#target.destroy?.(this.#created)
    } catch (error) {
      failure ??= error
    }
    if (failure !== undefined && !quiet) throw failure
  }
}

/** Options of {@link withStore}. */
export interface WithStoreOptions {
  /** Open the store before the body runs (default true). */
  open?: boolean
}

/**
 * Runs `body` with a fresh store of `target`, and cleans up afterwards whatever happens.
 * A failure to close or destroy fails the test only when the body itself passed.
 */
export async function withStore(
  target: ConformanceTarget,
  body: (store: KVStore, session: StoreSession) => Promise<void>,
  options: WithStoreOptions = {},
): Promise<void> {
  const session = await StoreSession.start(target, options.open ?? true)
  let passed = false
  try {
    await body(session.store, session)
    passed = true
  } finally {
    await session.dispose(!passed)
  }
}
