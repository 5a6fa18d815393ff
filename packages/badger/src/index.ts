/**
 * `@kv/badger`: the default embedded kv backend, on LevelDB (classic-level), or memory-level in
 * `memory_mode`. Importing it registers a store named `badger`; the import does no I/O and loads
 * neither engine (each is loaded when a store opens).
 *
 * @packageDocumentation
 */
import { registerBackend } from '@kv/core'
import { BADGER, BadgerKV } from './badger-kv.js'

export { BADGER, BadgerKV } from './badger-kv.js'
export { bucketDirName } from './bucket-dir.js'
export { type BadgerConfig, type BadgerOptions, badgerSchema, badgerSection } from './config.js'
export type { BadgerStats, BucketStats, StatsOptions, TopKey } from './stats.js'

registerBackend(BADGER, '@kv/badger', () => new BadgerKV())
