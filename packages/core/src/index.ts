/**
 * `@kv/core`: the kv API, the registry of backends, the Go-compatible LZ4 codec, configuration
 * loading, typed errors and the helpers backends share.
 *
 * @packageDocumentation
 */

export { z } from 'zod'
export {
  type BytesLike,
  bytesEqual,
  compareBytes,
  copyBytes,
  fromUtf8,
  prefixSuccessor,
  startsWith,
  utf8,
  utf8Length,
} from './bytes.js'
export * from './config/index.js'
export * from './errors.js'
export {
  afterBucket,
  bucketPrefix,
  decodeBucket,
  decodeKey,
  encodeKey,
  type KeyRange,
  keyRange,
} from './key-encoding.js'
export { compress, decompress } from './lz4/index.js'
export { MEMORY_STORE_NAME, MemoryStore, type MemoryStoreOptions } from './memory-store.js'
export {
  activeStore,
  addValue,
  addValueCompress,
  addValues,
  buckets,
  close,
  deleteBucket,
  deleteKey,
  existsKey,
  getCompressedValue,
  getStore,
  getValue,
  keys,
  register,
  registerBackend,
  stores,
  unregister,
  use,
} from './registry.js'
export {
  AbstractKVStore,
  type BaseConfig,
  type KVStore,
  type MaybePromise,
  type StoreInit,
  type StoreLimits,
  type StoreStatus,
} from './store.js'
export { createStoreDirectory, holdDirectory, syncDirectory } from './store-directory.js'
export {
  checkBucket,
  checkEntries,
  checkKey,
  checkKeysOptions,
  checkValue,
  type Entry,
  type KeysOptions,
  Limits,
  type NormalizedKeysOptions,
  shown,
  toBytes,
} from './validate.js'
