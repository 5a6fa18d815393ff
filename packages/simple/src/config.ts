/**
 * The `simple_kv` configuration section (SPEC §5). Keys and defaults are documented in the
 * package README; the schema is the single source of both.
 *
 * @module
 */
import { defineConfigSection, MAX_TIMER_SECONDS, z } from '@kv/core'

/** Default WAL size that triggers a snapshot: 64 MiB. */
export const DEFAULT_SNAPSHOT_WAL_BYTES = 64 * 1024 * 1024
/**
 * Default growth over the last snapshot a size-triggered snapshot also waits for: the WAL as large
 * as the snapshot.
 */
export const DEFAULT_SNAPSHOT_WAL_RATIO = 1
/** Default time after which a WAL holding records is snapshotted: 5 minutes. */
export const DEFAULT_SNAPSHOT_INTERVAL_SECONDS = 300
/**
 * The longest `snapshot_interval_seconds`, about 24.8 days: Node's timers take at most
 * 2^31 - 1 ms, and a longer delay is not clamped but set to 1 ms (a snapshot after every write).
 */
export const MAX_SNAPSHOT_INTERVAL_SECONDS = MAX_TIMER_SECONDS

const schema = z.strictObject({
  /** `false` hides the backend from the registry and makes `open()` fail. */
  enabled: z.boolean().default(true),
  /** The store's directory; default `<data_dir>/simple_kv`. */
  path: z.string().min(1).optional(),
  /** Resolve writes only after they are fsynced (fdatasync). */
  sync_writes: z.boolean().default(false),
  /**
   * With `sync_writes`, call fdatasync on the event-loop thread while its moving average stays
   * under 2 ms (faster than a thread-pool round trip); `false` always uses libuv's thread pool.
   */
  sync_on_event_loop: z.boolean().default(true),
  /**
   * Take a snapshot when the active WAL segment reaches this many bytes (or the size
   * `snapshot_wal_ratio` sets, if that is more); 0 never does.
   */
  snapshot_wal_bytes: z.number().int().min(0).default(DEFAULT_SNAPSHOT_WAL_BYTES),
  /**
   * A size-triggered snapshot also waits until the WAL holds this many times the bytes of the
   * last snapshot, so that rewriting the whole store costs each write a bounded share however
   * large the store grows; 0: `snapshot_wal_bytes` alone.
   */
  snapshot_wal_ratio: z.number().min(0).default(DEFAULT_SNAPSHOT_WAL_RATIO),
  /**
   * Take a snapshot when this many seconds passed and the WAL holds records; 0 never does. At
   * most {@link MAX_SNAPSHOT_INTERVAL_SECONDS}.
   */
  snapshot_interval_seconds: z
    .number()
    .min(0)
    .max(MAX_SNAPSHOT_INTERVAL_SECONDS)
    .default(DEFAULT_SNAPSHOT_INTERVAL_SECONDS),
})

/** The `simple_kv` section with defaults applied. */
export type SimpleKVConfig = z.output<typeof schema>

/** Options of `new SimpleKV(options)` and of the `simple_kv` section: every key optional. */
export type SimpleKVOptions = z.input<typeof schema>

/** The `simple_kv` configuration section. */
export const simpleKVSection = defineConfigSection('simple_kv', schema)

declare module '@kv/core' {
  interface ConfigSections {
    /** The `@kv/simple` backend (see its README). */
    simple_kv?: SimpleKVOptions
  }
}
