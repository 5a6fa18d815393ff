/**
 * The `badger:` configuration section (SPEC §5): every key of the Go framework's Badger table with
 * its default, plus the keys this package adds. What each key does on LevelDB is in the README.
 *
 * @module
 */
import { defineConfigSection, MAX_TIMER_SECONDS, z } from '@kv/core'

const positiveInt = () => z.number().int().positive()

/**
 * classic-level reads `writeBufferSize` and `cacheSize` as unsigned 32-bit integers, keeping
 * only the low 32 bits of a larger number (4 GiB + 64 KiB would become 64 KiB): larger values
 * are refused.
 */
const MAX_UINT32 = 0xffff_ffff

/** The longest GC interval: a Node.js timer takes at most {@link MAX_TIMER_SECONDS} (about 24.8 days). */
export const MAX_GC_INTERVAL_SECONDS = MAX_TIMER_SECONDS

/** The schema of the `badger:` section. Every key has a default, unknown keys are refused. */
export const badgerSchema = z.strictObject({
  // ---- the Go framework's keys -------------------------------------------------------------
  /** Enable or disable the backend. */
  enabled: z.boolean().default(true),
  /** One LevelDB with every bucket under a prefix (`true`), or one LevelDB per bucket (`false`). */
  single_bucket_mode: z.boolean().default(true),
  /** Directory of the database; `undefined` means `<data_dir>/badger`, resolved at `open()`. */
  path: z.string().min(1).optional(),
  /** Keep everything in memory (memory-level); nothing survives `close()`. */
  memory_mode: z.boolean().default(false),
  /** Every write is on stable storage before it resolves (LevelDB `sync: true`). */
  sync_writes: z.boolean().default(false),
  /**
   * LevelDB's write buffer (`writeBufferSize`). The seed's table gives 10485760 as the default
   * (its YAML example shows 67108864); the table's default is the default. At most
   * 4294967295; LevelDB itself clips it to between 64 KiB and 1 GiB.
   */
  mem_table_size: positiveInt().max(MAX_UINT32).default(10_485_760),
  /** Accepted, no effect: LevelDB has no value log. The seed's table default (its YAML says 1073741824). */
  value_log_file_size: positiveInt().default(1_073_741_823),
  /** Accepted, no effect: LevelDB keeps every value inline in its tables. */
  value_threshold: positiveInt().default(1_048_576),
  /** Accepted, no effect: LevelDB has no value log. */
  value_log_max_entries: positiveInt().max(0xffff_ffff).default(1_000_000),
  /** Accepted, no effect: LevelDB always has one memtable plus one being flushed. */
  num_mem_tables: positiveInt().default(1),
  /** Accepted, no effect: LevelDB's level-0 compaction trigger (4) is fixed at compile time. */
  num_level0_tables: positiveInt().default(1),
  /** Accepted, no effect: LevelDB's level-0 stall trigger (12) is fixed at compile time. */
  num_level0_tables_stall: positiveInt().default(2),
  /** Periodically compact the key ranges that deletes have freed (see the README). */
  value_log_gc_enabled: z.boolean().default(true),
  /** A range is compacted when at least this share of the writes it received were deletes. */
  value_log_gc_discard_ratio: z.number().gt(0).lt(1).default(0.5),
  /** Seconds between two garbage-collection passes: at most {@link MAX_GC_INTERVAL_SECONDS}. */
  value_log_gc_interval_in_seconds: positiveInt().max(MAX_GC_INTERVAL_SECONDS).default(120),

  // ---- keys of this package ----------------------------------------------------------------
  /**
   * Serve `getValue`/`existsKey` with LevelDB's synchronous read (`db.getSync`) on the main
   * thread instead of a round trip through the libuv thread pool: about 10× faster when the
   * block is cached, but a read that must go to disk blocks the event loop for its duration.
   */
  sync_reads: z.boolean().default(true),
  /** LevelDB's Snappy block compression (see the README for the measurement behind the default). */
  compression: z.boolean().default(true),
  /** LevelDB's block cache in bytes (`cacheSize`), per database; 0 caches no block. */
  cache_size: z
    .number()
    .int()
    .nonnegative()
    .max(MAX_UINT32)
    .default(8 * 1024 * 1024),
  /** The largest value in bytes that `addValue` accepts (after compression for `addValueCompress`). */
  max_value_bytes: positiveInt()
    .max(1024 * 1024 * 1024)
    .default(64 * 1024 * 1024),
})

/** The `badger:` section after defaults are applied. */
export type BadgerConfig = z.output<typeof badgerSchema>

/** What `configure({ badger })`, the YAML file and `new BadgerKV(options)` accept. */
export type BadgerOptions = z.input<typeof badgerSchema>

/** The registered `badger:` section. */
export const badgerSection = defineConfigSection('badger', badgerSchema)

declare module '@kv/core' {
  interface ConfigSections {
    badger?: BadgerOptions
  }
}
