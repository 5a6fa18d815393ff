/**
 * `@kv/simple`: the `simple_kv` file backend. Importing this module registers a store named
 * `simple_kv`, configured from the `simple_kv` section when it is first opened (the import does
 * no I/O). Import `@kv/simple/store` instead to get the class without registering anything.
 *
 * @packageDocumentation
 */
import { registerBackend } from '@kv/core'
import { SIMPLE_KV, SimpleKV } from './simple-kv.js'

export {
  DEFAULT_SNAPSHOT_INTERVAL_SECONDS,
  DEFAULT_SNAPSHOT_WAL_BYTES,
  type SimpleKVConfig,
  type SimpleKVOptions,
  simpleKVSection,
} from './config.js'
export { FORMAT_VERSION, MAX_VALUE_BYTES } from './format.js'
export { SIMPLE_KV, SimpleKV, type SimpleKVStats } from './simple-kv.js'

registerBackend(SIMPLE_KV, '@kv/simple', () => new SimpleKV())
