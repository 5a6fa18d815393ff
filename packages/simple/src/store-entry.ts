/**
 * `@kv/simple/store`: the {@link SimpleKV} class without the registration that importing
 * `@kv/simple` performs, for code that constructs its stores explicitly.
 *
 * @packageDocumentation
 */
export type { SimpleKVConfig, SimpleKVOptions } from './config.js'
export { SIMPLE_KV, SimpleKV, type SimpleKVStats } from './simple-kv.js'
