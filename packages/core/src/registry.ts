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
import type { KVStore } from './store.js'
import { type KeysOptions, keepPrefix } from './validate.js'

// Insertion order is registration order; the active store is the latest enabled one unless
// use() chose one. Shared by every copy of @kv/core in the process (see shared-state.ts).
const { registered } = state

const enabled = (store: KVStore): boolean => store.isEnabled?.() ?? true

/**
 * Registers `store` under `name`; the most recently registered store becomes the active one.
 * Throws `KV_DUPLICATE_BACKEND` when the name is taken.
 */
export function register(name: string, store: KVStore): void {
  if (typeof name !== 'string' || name === '') {
    throw new InvalidArgumentError('name', 'name must be a non-empty string')
  }
  if (registered.has(name)) {
    throw new DuplicateBackendError(
      `A backend named "${name}" is already registered; two copies of the same backend package may be installed.`,
    )
  }
  registered.set(name, store)
  state.chosen = undefined
}

/** Removes a registered store (it is not closed). Returns whether it was registered. */
export function unregister(name: string): boolean {
  if (state.chosen === name) state.chosen = undefined
  return registered.delete(name)
}

/** Makes the store registered as `name` the active one. */
export function use(name: string): KVStore {
  const store = getStore(name)
  if (!enabled(store)) {
    throw new BackendDisabledError(
      `The ${name} backend is disabled by its configuration (${name}.enabled: false).`,
    )
  }
  state.chosen = name
  return store
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
 * The active store: the one chosen with {@link use}, else the most recently registered one whose
 * configuration does not say `enabled: false`. Throws `KV_NO_BACKEND` when there is none.
 */
export function activeStore(): KVStore {
  if (state.chosen !== undefined) return registered.get(state.chosen)!
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

async function opened(): Promise<KVStore> {
  const store = activeStore()
  if (store.status !== 'open') await store.open()
  return store
}

/** Closes every registered store. */
export async function close(): Promise<void> {
  const results = await Promise.allSettled([...registered.values()].map((store) => store.close()))
  const failed = results.find((result) => result.status === 'rejected')
  if (failed) throw failed.reason
}

/** `getValue` on the active store, opened on first use. */
export async function getValue(bucket: string, key: BytesLike): Promise<Uint8Array | null> {
  return (await opened()).getValue(bucket, key)
}

/** `getCompressedValue` on the active store, opened on first use. */
export async function getCompressedValue(
  bucket: string,
  key: BytesLike,
): Promise<Uint8Array | null> {
  return (await opened()).getCompressedValue(bucket, key)
}

/** `addValue` on the active store, opened on first use. */
export async function addValue(bucket: string, key: BytesLike, value: BytesLike): Promise<void> {
  return (await opened()).addValue(bucket, key, value)
}

/** `addValues` on the active store, opened on first use. */
export async function addValues(
  bucket: string,
  entries: Iterable<readonly [BytesLike, BytesLike]>,
): Promise<void> {
  return (await opened()).addValues(bucket, entries)
}

/** `addValueCompress` on the active store, opened on first use. */
export async function addValueCompress(
  bucket: string,
  key: BytesLike,
  value: BytesLike,
): Promise<void> {
  return (await opened()).addValueCompress(bucket, key, value)
}

/** `existsKey` on the active store, opened on first use. */
export async function existsKey(bucket: string, key: BytesLike): Promise<boolean> {
  return (await opened()).existsKey(bucket, key)
}

/** `deleteKey` on the active store, opened on first use. */
export async function deleteKey(bucket: string, key: BytesLike): Promise<void> {
  return (await opened()).deleteKey(bucket, key)
}

/** `deleteBucket` on the active store, opened on first use. */
export async function deleteBucket(bucket: string): Promise<void> {
  return (await opened()).deleteBucket(bucket)
}

/**
 * `keys` on the active store, opened on first use. Nothing runs before the first `next()`, except
 * that a `Uint8Array` prefix is copied at once: the caller may reuse its buffer when this returns.
 */
export function keys(bucket: string, options?: KeysOptions): AsyncIterable<Uint8Array> {
  return listKeys(bucket, keepPrefix(options))
}

async function* listKeys(
  bucket: string,
  options: KeysOptions | undefined,
): AsyncIterable<Uint8Array> {
  yield* (await opened()).keys(bucket, options)
}

/** `buckets` on the active store, opened on first use. */
export async function* buckets(): AsyncIterable<string> {
  yield* (await opened()).buckets()
}
