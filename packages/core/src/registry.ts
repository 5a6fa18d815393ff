/**
 * The registry of backends and the package-level functions that delegate to the active one
 * (SPEC §3, "Registry and package-level functions").
 *
 * @module
 */
import type { BytesLike } from './bytes.js'
import {
  BackendDisabledError,
  DuplicateBackendError,
  InvalidArgumentError,
  NoBackendError,
} from './errors.js'
import { state } from './shared-state.js'
import { CALL_READY, type KVStore } from './store.js'
import { type KeysOptions, keepPrefix } from './validate.js'

// Insertion order is registration order; the active store is the latest enabled one unless
// use() chose one. Shared by every copy of @kv/core in the process (see shared-state.ts).
const { registered } = state

const enabled = (store: KVStore): boolean => store.isEnabled?.() ?? true

/** The methods a store must have to be registered: the {@link KVStore} interface, less the optional. */
const STORE_METHODS = [
  'open',
  'close',
  'getValue',
  'getCompressedValue',
  'addValue',
  'addValues',
  'addValueCompress',
  'existsKey',
  'deleteKey',
  'deleteBucket',
  'keys',
  'buckets',
] as const satisfies readonly (keyof KVStore)[]

/**
 * Registers `store` under `name`; the most recently registered store becomes the active one,
 * unless its configuration says `enabled: false` (see {@link activeStore}).
 * Throws `KV_DUPLICATE_BACKEND` when the name is taken, and `KV_INVALID_ARGUMENT` when `store` lacks a
 * method of {@link KVStore}.
 */
export function register(name: string, store: KVStore): void {
  checkName(name)
  checkStore(name, store)
  add(name, store)
}

/** Adds `store`, checked, under `name`; `KV_DUPLICATE_BACKEND` when the name is taken. */
function add(name: string, store: KVStore): void {
  if (registered.has(name)) throw duplicate(name)
  registered.set(name, store)
  // Not `chosen = undefined`: whether the new store is enabled is known only once the
  // configuration is read, which an import must not do (SPEC §3). A disabled one is treated as
  // not registered, so it must not undo a use(); activeStore() decides.
  if (state.chosen !== undefined) {
    const since = sinceChoice(state.chosen, registered.size - 1)
    since.names.push(name)
    since.size = registered.size
  }
}

/** Throws `KV_INVALID_ARGUMENT` unless `name` is a non-empty string. */
function checkName(name: unknown): void {
  if (typeof name !== 'string' || name === '') {
    throw new InvalidArgumentError('name', 'name must be a non-empty string')
  }
}

/** Throws `KV_INVALID_ARGUMENT` unless `store` has every method of {@link KVStore}. */
function checkStore(name: string, store: unknown): void {
  const missing = STORE_METHODS.filter(
    (method) => typeof (store as Record<string, unknown> | null)?.[method] !== 'function',
  )
  if (missing.length > 0) {
    throw new InvalidArgumentError(
      'store',
      `The store registered as "${name}" is not a KVStore: it has no ${missing.join(', ')} method${missing.length === 1 ? '' : 's'}. Register an instance of a backend class (one that extends AbstractKVStore).`,
    )
  }
}

/** The error of a name that is taken. */
function duplicate(name: string): DuplicateBackendError {
  return new DuplicateBackendError(
    `A backend named "${name}" is already registered (by another package, or by register()); unregister("${name}") first to replace it, or register this one under another name.`,
  )
}

/** Marks a store registered by {@link registerBackend} with the package that registered it. */
const BACKEND_PACKAGE = Symbol.for('@kv/core:backend-package')

/**
 * Registers the store a backend package registers when it is imported, once per process: when a
 * store registered by the same package (`packageName`) holds `name` already — its other build
 * (ESM and CommonJS loaded side by side), or another installed copy of it — nothing is registered
 * and that store stays (and stays active or not, as it was). Otherwise as {@link register}:
 * `KV_DUPLICATE_BACKEND` when another package took the name. `create` runs only when a store is
 * registered.
 */
export function registerBackend(name: string, packageName: string, create: () => KVStore): void {
  checkName(name)
  const existing = registered.get(name) as { [BACKEND_PACKAGE]?: unknown } | undefined
  if (existing?.[BACKEND_PACKAGE] === packageName) return
  if (existing !== undefined) throw duplicate(name)
  const store = create()
  checkStore(name, store)
  if (!Object.isExtensible(store)) {
    throw new InvalidArgumentError(
      'store',
      `The store created for "${name}" cannot be marked with its package: it is frozen, sealed or not extensible. Return a new, extensible instance of the backend class from create().`,
    )
  }
  Object.defineProperty(store, BACKEND_PACKAGE, { value: packageName })
  add(name, store)
}

/** Removes a registered store (it is not closed). Returns whether it was registered. */
export function unregister(name: string): boolean {
  if (state.chosen === name) choose(undefined)
  const deleted = registered.delete(name)
  const since = state.registeredSinceChoice
  if (deleted && since !== undefined && since.size === registered.size + 1) {
    since.size = registered.size
    if (since.names.includes(name)) since.names.splice(since.names.indexOf(name), 1)
  }
  return deleted
}

/** Makes the store registered as `name` the active one. */
export function use(name: string): KVStore {
  const store = getStore(name)
  if (!enabled(store)) {
    throw new BackendDisabledError(
      `The ${name} backend is disabled by its configuration (${name}.enabled: false).`,
    )
  }
  choose(name)
  return store
}

/**
 * What this copy knows of the registrations since `chosen` was chosen, while the registry holds
 * `size` stores: a new, empty record when the one kept was made for another choice or another
 * registry (an older copy changed them since: see `registeredSinceChoice` in shared-state.ts).
 */
function sinceChoice(chosen: string, size = registered.size): { names: string[]; size: number } {
  const since = state.registeredSinceChoice
  if (since?.chosen === chosen && since.size === size) return since
  state.registeredSinceChoice = { chosen, names: [], size }
  return state.registeredSinceChoice
}

/** Makes `name` the chosen store (or none), forgetting the registrations before the choice. */
function choose(name: string | undefined): void {
  state.chosen = name
  state.registeredSinceChoice = undefined
}

/** The store registered as `name`. Throws `KV_NO_BACKEND` when there is none. */
export function getStore(name: string): KVStore {
  const store = registered.get(name)
  if (store === undefined) {
    const names = [...registered.keys()]
    throw new NoBackendError(
      `No backend is registered as "${name}"; registered: ${names.length ? names.join(', ') : 'none'}. Import the backend package (for example @kv/${name === 'simple_kv' ? 'simple' : name}).`,
    )
  }
  return store
}

/** The names of the registered stores, in registration order. */
export function stores(): string[] {
  return [...registered.keys()]
}

/**
 * The active store: the most recently registered one whose configuration does not say
 * `enabled: false`, unless {@link use} chose one since — then that one, unless an enabled store
 * was registered after the choice. Throws `KV_NO_BACKEND` when there is none.
 */
export function activeStore(): KVStore {
  if (state.chosen !== undefined) {
    const since = sinceChoice(state.chosen).names
    for (let i = since.length - 1; i >= 0; i--) {
      const store = registered.get(since[i]!)
      if (store !== undefined && enabled(store)) return store
    }
    return registered.get(state.chosen)!
  }
  const names = [...registered.keys()].reverse()
  for (const name of names) {
    const store = registered.get(name)!
    if (enabled(store)) return store
  }
  throw new NoBackendError(
    names.length === 0
      ? 'No kv backend is registered: import one, for example `import "@kv/badger"`, or register a store.'
      : `Every registered kv backend is disabled by its configuration (${names.join(', ')}).`,
  )
}

/**
 * Whether a call may go straight to `store`. A store built on core says so itself: not only when
 * it is not open must open() be asked for first, but also when a `close()` was requested that has
 * not begun (it still says open, and refuses calls made after its close: asked to open again, it
 * reopens, as for a call made after the close is done), or a reopen with calls still waiting
 * behind it. Another store: when it says it is open.
 */
function readyForCalls(store: KVStore): boolean {
  return (store as { [CALL_READY]?: boolean })[CALL_READY] ?? store.status === 'open'
}

/**
 * Runs `call` on the active store, opening it first unless it is ready for calls
 * ({@link readyForCalls}).
 *
 * The call is made at once, not after `open()` resolves: a store's methods wait for an `open()`
 * in progress (`AbstractKVStore` keeps copies of the caller's key and value meanwhile). Awaiting
 * `open()` first would read the caller's buffers after the caller may have reused them, and
 * would let a `close()` requested after this call run first and fail it with `KV_NOT_OPEN`.
 * When `open()` fails, its error is the call's.
 */
function onActive<T>(call: (store: KVStore) => Promise<T>): Promise<T> {
  let store: KVStore
  try {
    store = activeStore()
    if (readyForCalls(store)) return call(store)
  } catch (error) {
    return Promise.reject(error)
  }
  const opening = attempt(() => store.open())
  return afterOpening(
    opening,
    attempt(() => call(store)),
  )
}

/** What `run` returns, or its synchronous throw as a rejection (a store not built on core's base may throw). */
function attempt<T>(run: () => Promise<T>): Promise<T> {
  try {
    return run()
  } catch (error) {
    return Promise.reject(error)
  }
}

/** `result`, unless `opening` fails: then its error (and `result`'s own rejection is handled). */
function afterOpening<T>(opening: Promise<void>, result: Promise<T>): Promise<T> {
  // `result` may reject before open() settles (bad input is refused at once): handled here, or
  // Node.js would report it as unhandled — and end the process — while the store opens. The
  // caller gets it through the promise returned.
  result.catch(() => {})
  return opening.then(() => result)
}

/**
 * A listing on the active store, which is picked (and opened when it is not open) at the first
 * `next()`, as {@link onActive} does for one call.
 */
function listing<T>(list: (store: KVStore) => AsyncIterable<T>): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]: () => {
      let inner: AsyncIterator<T> | undefined
      /** The first step while it runs: later calls of next() wait for it, as a generator's do. */
      let starting: Promise<IteratorResult<T>> | undefined
      let finished = false
      const done = (): Promise<IteratorResult<T>> =>
        Promise.resolve({ done: true, value: undefined })
      const next = (): Promise<IteratorResult<T>> => {
        if (starting !== undefined) return starting.then(next, next)
        if (inner !== undefined) return inner.next()
        if (finished) return done()
        // The first step is a call on the active store like any other (opened on first use).
        // A listing that could not start is over, as a generator that threw is.
        const started = onActive((store) => {
          inner = list(store)[Symbol.asyncIterator]()
          return inner.next()
        }).catch((error: unknown) => {
          finished = true
          inner = undefined
          throw error
        })
        starting = started
        const settled = () => {
          if (starting === started) starting = undefined
        }
        started.then(settled, settled)
        return started
      }
      return {
        next,
        return: () => {
          finished = true
          return inner?.return?.() ?? done()
        },
      }
    },
  }
}

/** Closes every registered store. */
export async function close(): Promise<void> {
  // async: a close() that throws rather than rejects must not keep the others from closing.
  const results = await Promise.allSettled(
    [...registered.values()].map(async (store) => store.close()),
  )
  const failed = results.find((result) => result.status === 'rejected')
  if (failed) throw failed.reason
}

/** `getValue` on the active store, opened on first use. */
export function getValue(bucket: string, key: BytesLike): Promise<Uint8Array | null> {
  return onActive((store) => store.getValue(bucket, key))
}

/** `getCompressedValue` on the active store, opened on first use. */
export function getCompressedValue(bucket: string, key: BytesLike): Promise<Uint8Array | null> {
  return onActive((store) => store.getCompressedValue(bucket, key))
}

/** `addValue` on the active store, opened on first use. */
export function addValue(bucket: string, key: BytesLike, value: BytesLike): Promise<void> {
  return onActive((store) => store.addValue(bucket, key, value))
}

/** `addValues` on the active store, opened on first use. */
export function addValues(
  bucket: string,
  entries: Iterable<readonly [BytesLike, BytesLike]>,
): Promise<void> {
  return onActive((store) => store.addValues(bucket, entries))
}

/** `addValueCompress` on the active store, opened on first use. */
export function addValueCompress(bucket: string, key: BytesLike, value: BytesLike): Promise<void> {
  return onActive((store) => store.addValueCompress(bucket, key, value))
}

/** `existsKey` on the active store, opened on first use. */
export function existsKey(bucket: string, key: BytesLike): Promise<boolean> {
  return onActive((store) => store.existsKey(bucket, key))
}

/** `deleteKey` on the active store, opened on first use. */
export function deleteKey(bucket: string, key: BytesLike): Promise<void> {
  return onActive((store) => store.deleteKey(bucket, key))
}

/** `deleteBucket` on the active store, opened on first use. */
export function deleteBucket(bucket: string): Promise<void> {
  return onActive((store) => store.deleteBucket(bucket))
}

/**
 * `keys` on the active store, opened on first use. Nothing runs before the first `next()`, except
 * that a `Uint8Array` prefix is copied at once: the caller may reuse its buffer when this returns.
 */
export function keys(bucket: string, options?: KeysOptions): AsyncIterable<Uint8Array> {
  const kept = keepPrefix(options)
  return listing((store) => store.keys(bucket, kept))
}

/** `buckets` on the active store, opened on first use. */
export function buckets(): AsyncIterable<string> {
  return listing((store) => store.buckets())
}
