/**
 * {@link BadgerKV}: the `badger` backend, on LevelDB (classic-level) or memory-level.
 *
 * @module
 */
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import {
  AbstractKVStore,
  createStoreDirectory,
  dataDir,
  type Entry,
  InvalidConfigError,
  isKVError,
  LockedError,
  type NormalizedKeysOptions,
  syncDirectory,
} from '@kv/core'
import { type BadgerConfig, type BadgerOptions, badgerSection } from './config.js'
import { type Engine, fileSystemError, loadClassic, openClassic, openMemory } from './engine.js'
import { GcTracker } from './gc.js'
import { holdPath } from './held-paths.js'
import type { Layout } from './layout.js'
import { PerBucket } from './per-bucket.js'
import { SingleKeyspace } from './single-keyspace.js'
import { type BadgerStats, checkStatsOptions, type StatsOptions, TopKeys } from './stats.js'

/** The name the backend registers under. */
export const BADGER = 'badger'

/**
 * The `badger` backend: LevelDB through classic-level, one database for every bucket
 * (`single_bucket_mode: true`) or one per bucket; memory-level when `memory_mode: true`.
 *
 * Without options it reads the `badger:` section of the configuration at `open()`; with options
 * (`new BadgerKV({ path })`) those are validated at once and the configuration file is not read.
 */
export class BadgerKV extends AbstractKVStore<BadgerConfig> {
  #layout: Layout | undefined
  /** On disk: the store's lock (see {@link lockStore}). */
  #lock: StoreLock | undefined
  #path: string | undefined
  readonly #gc = new GcTracker()
  #gcTimer: NodeJS.Timeout | undefined
  /** Settles when the last pass started (or queued) has ended: passes run one at a time. */
  #gcTail: Promise<void> = Promise.resolve()
  /** Passes started or queued and not yet ended: the timer starts none while one is. */
  #gcPending = 0
  #persistent: boolean

  constructor(options?: BadgerOptions) {
    super(BADGER, {
      section: badgerSection,
      options,
      maxValueBytes: (config) => config.max_value_bytes,
    })
    // Options given here are the configuration in force; a section is read at open().
    this.#persistent = options?.memory_mode !== true
  }

  /**
   * False with `memory_mode: true`: the data is gone at `close()` and with the process (see
   * `KVStore.persistent`). Known from the options given to the constructor, else from `open()`
   * on (before the first `open()`, the section's default: true).
   */
  get persistent(): boolean {
    return this.#persistent
  }

  /** The directory of the database in force, once open (`undefined` in memory mode). */
  get path(): string | undefined {
    return this.#path
  }

  protected async _open(): Promise<void> {
    const config = this.config
    this.#persistent = !config.memory_mode
    if (config.memory_mode) {
      this.#path = undefined
      this.#layout = new SingleKeyspace(await openMemory(), {
        syncWrites: false,
        syncReads: config.sync_reads,
      })
    } else {
      const path = resolve(config.path ?? join(dataDir(), 'badger'))
      // Before anything is created: a path of the other layout is refused as it is found.
      checkLayoutOnDisk(path, config.single_bucket_mode)
      // Before anything is created: an install without LevelDB's native build fails here.
      await loadClassic()
      try {
        await createStoreDirectory(path, 'badger.path', config.path === undefined)
      } catch (error) {
        throw fileSystemError(error, `Could not create badger.path ${path}`, 'nothing was written.')
      }
      const lock = await lockStore(path, config)
      try {
        // Again under the lock: a store of the other mode may have laid the path out since.
        checkLayoutOnDisk(path, config.single_bucket_mode)
        this.#layout = config.single_bucket_mode
          ? new SingleKeyspace(await openClassic(path, config), {
              syncWrites: config.sync_writes,
              syncReads: config.sync_reads,
            })
          : await PerBucket.open(path, config)
      } catch (error) {
        await lock.release()
        throw error
      }
      this.#lock = lock
      this.#path = path
    }
    // Writes are counted for value_log_gc on disk only (memory mode has nothing to compact):
    // whenever the store is open, that is #persistent.
    if (config.value_log_gc_enabled && this.#persistent) {
      this.#gcTimer = setInterval(
        () => this.#gcPass(),
        config.value_log_gc_interval_in_seconds * 1000,
      )
      this.#gcTimer.unref()
    }
  }

  protected async _close(): Promise<void> {
    clearInterval(this.#gcTimer)
    this.#gcTimer = undefined
    const layout = this.#layout!
    const lock = this.#lock
    this.#layout = undefined
    this.#lock = undefined
    try {
      await layout.close()
    } finally {
      await lock?.release()
    }
  }

  protected _get(bucket: string, key: Uint8Array) {
    return this.#layout!.get(bucket, key)
  }

  protected override _has(bucket: string, key: Uint8Array) {
    return this.#layout!.has(bucket, key)
  }

  protected _put(bucket: string, key: Uint8Array, value: Uint8Array): Promise<void> {
    if (this.#persistent) this.#gc.record(bucket, false)
    return this.#layout!.put(bucket, key, value)
  }

  /** One LevelDB batch: every entry is written, or (on an engine failure) none is. */
  protected override _putMany(bucket: string, entries: readonly Entry[]): Promise<void> {
    if (this.#persistent) this.#gc.record(bucket, false, entries.length)
    return this.#layout!.putMany(bucket, entries)
  }

  protected _delete(bucket: string, key: Uint8Array): Promise<void> {
    // Not for a bucket with nothing on disk: nothing to compact, and the count would stay
    // (until a pass, which may never come) for every name ever deleted from.
    if (this.#persistent && this.#layout!.mayHold(bucket)) this.#gc.record(bucket, true)
    return this.#layout!.del(bucket, key)
  }

  protected _deleteBucket(bucket: string): Promise<void> {
    // Forgotten as the deletion is issued, in the order of the calls: what was counted before it
    // is deleted with the bucket; a write issued after it (counted from now on) is to the bucket
    // created anew, even while the deletion is still in flight.
    this.#gc.forget(bucket)
    return this.#layout!.deleteBucket(bucket).catch((error: unknown) => {
      // The bucket may be left as it was, with the deletes counted before: due at the next pass.
      if (this.#persistent) this.#gc.retry(bucket)
      throw error
    })
  }

  protected _keys(
    bucket: string,
    { prefix, limit }: NormalizedKeysOptions,
  ): AsyncIterable<Uint8Array> {
    return this.#layout!.keys(bucket, prefix, limit)
  }

  protected _buckets(): AsyncIterable<string> {
    return this.#layout!.buckets()
  }

  /**
   * Per-bucket key counts and sizes, and the keys with the largest values. Reads every entry
   * once (without filling LevelDB's cache), so it takes time proportional to the data. Single-bucket
   * and memory mode read one snapshot, taken when it starts; per-bucket mode leaves out a bucket
   * deleted while it is read. `close()` waits for a `stats()` in progress. Rejects with
   * `KV_INVALID_ARGUMENT`, before reading anything (and before checking that the store is open),
   * when `options` is not an object (`null` and arrays included), has a key that is not an option
   * of `stats()` (a typo such as `tpo`), or `top` is not a non-negative integer.
   */
  stats(options: StatsOptions = {}): Promise<BadgerStats> {
    let top: number
    try {
      top = checkStatsOptions(options)
    } catch (error) {
      return Promise.reject(error)
    }
    return this.operation(async () => {
      const topKeys = new TopKeys(top)
      const buckets = await this.#layout!.stats(topKeys)
      const config = this.config
      return {
        mode: config.memory_mode ? 'memory' : config.single_bucket_mode ? 'single' : 'per-bucket',
        path: this.#path,
        buckets,
        topKeys: topKeys.list(),
        totalKeys: buckets.reduce((sum, b) => sum + b.keys, 0),
        totalBytes: buckets.reduce((sum, b) => sum + b.keyBytes + b.valueBytes, 0),
      }
    })
  }

  /**
   * Runs one `value_log_gc` pass now: compacts the buckets in which at least
   * `value_log_gc_discard_ratio` of the writes since the last pass were deletes (or, after more
   * buckets took deletes than are counted, the whole keyspace). Returns the buckets it compacted:
   * not a due bucket deleted meanwhile (in single-bucket mode a due bucket that holds no key any
   * more is listed: its range is compacted all the same; per-bucket mode leaves out one without a
   * database); after a whole-keyspace pass in
   * single-bucket mode, every bucket then in the store. Works whether or not periodic passes are
   * enabled; does nothing in memory mode. Waits for a pass in progress (passes never overlap);
   * `close()` waits for a pass in progress. When a bucket fails, the others are still compacted,
   * the failed ones are due again at the next pass, and it rejects with the first error. In
   * per-bucket mode a due bucket whose database is not open (not used since the store was opened)
   * is opened for the pass and closed again; one being opened, created or deleted by a call is left
   * out of the result and due again.
   */
  runGc(): Promise<string[]> {
    return this.operation(() => this.#queuePass(true))
  }

  /**
   * Starts a pass once the one in progress (if any) has ended. Passes do not overlap: one that
   * outlasts the interval would otherwise have the timer start another beside it, and another,
   * each competing for LevelDB's compactions.
   */
  #queuePass(list: boolean): Promise<string[]> {
    this.#gcPending += 1
    const pass = this.#gcTail.then(() => this.#pass(list))
    this.#gcTail = pass.then(
      () => {
        this.#gcPending -= 1
      },
      () => {
        this.#gcPending -= 1
      },
    )
    return pass
  }

  async #pass(list: boolean): Promise<string[]> {
    const due = this.#gc.take(this.config.value_log_gc_discard_ratio)
    const { compacted, again, errors } = await this.#layout!.gc(due.all ? 'all' : due.buckets, list)
    if (again === 'all') this.#gc.retryAll()
    else for (const bucket of again) this.#gc.retry(bucket)
    if (errors.length > 0) throw errors[0]
    return compacted
  }

  #gcPass(): void {
    // A tick while a pass runs starts none: what is counted meanwhile waits for the next tick.
    if (this.status !== 'open' || this.#gcPending > 0) return
    // A bucket whose compaction failed is due again at the next pass; the operations themselves
    // report I/O errors. A periodic pass does not list the buckets of a whole-keyspace pass: no
    // one reads its result.
    this.operation(() => this.#queuePass(false)).catch(() => {})
  }
}

/** The store's lock: LevelDB's lock of `path/meta` and this process's hold of `path`. */
interface StoreLock {
  /** Closes the lock's database, then gives up the hold: a store opened here next finds both free. */
  release(): Promise<void>
}

/**
 * Takes the store's lock: opens the small LevelDB at `path/meta`, whose LevelDB lock a second
 * store on `path` (another process, or this one) then fails to take (`KV_LOCKED`, naming `path`).
 * Both modes take this one lock, before they look at the layout on disk: LevelDB's lock is per
 * database, and the two modes open different databases at `path`, so without it a store of each
 * mode could open one fresh path at the same time and lay it out twice, after which neither mode
 * opens it. Creates `path/meta` when missing; with `sync_writes`, syncs `path` before LevelDB
 * puts files in it. Holds `path` for this process first ({@link holdPath}): LevelDB's refusal of
 * a path held here would release the lock held.
 */
async function lockStore(path: string, config: BadgerConfig): Promise<StoreLock> {
  const releasePath = holdPath(path)
  try {
    const { db } = await openLockDb(path, config)
    return {
      release: async () => {
        try {
          await db.close()
        } finally {
          releasePath()
        }
      },
    }
  } catch (error) {
    releasePath()
    throw error
  }
}

/** Creates `path/meta` if needed and opens its LevelDB, whose lock is the store's. */
async function openLockDb(path: string, config: BadgerConfig): Promise<Engine> {
  const meta = join(path, 'meta')
  // Created here rather than by classic-level as it opens the database, so that with sync_writes
  // its entry in path is synced before LevelDB puts files in it, as per-bucket mode does for
  // buckets/ and trash/: without that sync a power loss could forget the directory, and with it
  // the files LevelDB synced there. (The other syncs of path come after meta's files: LevelDB's,
  // as it writes the manifest of a single-bucket store's database, and per-bucket mode's, only
  // when it creates buckets/ or trash/.) Synced at every open with sync_writes, not only the one
  // that creates it: an open without sync_writes, or one whose sync failed, may have created it
  // (and buckets/ and trash/); one fsync of path covers them all.
  // Not recursive (path exists): a recursive mkdir reports a read-only file system as ENOENT.
  try {
    await mkdir(meta)
  } catch (error) {
    // A file in its place is reported by LevelDB's open below, as it always was.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
      throw fileSystemError(
        error,
        `Could not create the directory of the LevelDB database at ${meta}`,
        'nothing was written, and nothing written before was lost.',
      )
  }
  if (config.sync_writes) {
    try {
      await syncDirectory(path)
    } catch (error) {
      throw fileSystemError(
        error,
        `Could not sync badger.path ${path} (the directory holding ${meta})`,
        'nothing was written, and nothing written before was lost.',
      )
    }
  }
  try {
    return await openClassic(meta, { ...config, mem_table_size: 64 * 1024, cache_size: 0 })
  } catch (error) {
    if (!isKVError(error, 'KV_LOCKED')) throw error
    // Named by the path the user configured, not by the database that holds the lock.
    throw new LockedError(
      `badger.path ${path} is locked by another process or another open store (LevelDB's lock of ${meta}); close that one first, or give this store its own badger.path.`,
      { cause: error.cause },
    )
  }
}

/** Refuses to open a directory that holds a store of the other layout. */
function checkLayoutOnDisk(path: string, singleBucketMode: boolean): void {
  if (singleBucketMode && existsSync(join(path, 'buckets'))) {
    throw new InvalidConfigError(
      `badger.path ${path} holds a per-bucket store (it was written with single_bucket_mode: false); set single_bucket_mode: false or choose another path.`,
      { key: 'badger.single_bucket_mode' },
    )
  }
  if (!singleBucketMode && existsSync(join(path, 'CURRENT'))) {
    throw new InvalidConfigError(
      `badger.path ${path} holds a single-bucket store (it was written with single_bucket_mode: true); set single_bucket_mode: true or choose another path.`,
      { key: 'badger.single_bucket_mode' },
    )
  }
}
