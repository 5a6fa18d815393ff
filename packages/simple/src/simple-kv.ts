/**
 * `SimpleKV`: the `simple_kv` backend. The whole store lives in memory (a {@link MemoryIndex});
 * every change is appended to a write-ahead log before it is applied and acknowledged; a
 * snapshot of the index, taken in the background, lets old WAL segments be retired.
 *
 * @module
 */
import { join, resolve } from 'node:path'
import {
  AbstractKVStore,
  BackendUnavailableError,
  createStoreDirectory,
  dataDir,
  type Entry,
  isKVError,
  type NormalizedKeysOptions,
  NotOpenError,
} from '@kv/core'
import { type SimpleKVConfig, type SimpleKVOptions, simpleKVSection } from './config.js'
import {
  createDurably,
  directoriesNamedLikeFiles,
  openFd,
  removeFile,
  segmentName,
  snapshotName,
} from './files.js'
import { FILE_HEADER_BYTES, MAX_VALUE_BYTES, Op } from './format.js'
import { acquireLock, type Lock } from './lock.js'
import { MemoryIndex } from './memory-index.js'
import { newSegment, recover } from './recovery.js'
import { writeSnapshot } from './snapshot-writer.js'
import { applyBatch } from './wal-record.js'
import { WalWriter } from './wal-writer.js'

/** The name `simple_kv` registers under. */
export const SIMPLE_KV = 'simple_kv'

/** After a background snapshot fails, the next waits this long (a full disk fails every time). */
const SNAPSHOT_RETRY_MS = 10_000

/** Slots a compaction step looks at before yielding to the event loop. */
const COMPACTION_STEP_SLOTS = 64 * 1024
/** Table positions of deleted buckets a sweep step looks at before yielding to the event loop. */
const SWEEP_STEP_POSITIONS = 64 * 1024

/** Figures about an open store, for monitoring and tests. */
export interface SimpleKVStats {
  /** The store directory. */
  path: string
  /** Keys in all buckets. */
  entries: number
  /**
   * Bytes of keys and values held in memory. The entries of a deleted bucket of more than 4,096
   * keys (or that once held many more) count here until they are freed, in steps between which
   * the event loop runs.
   */
  entryBytes: number
  /** Bytes of overwritten or deleted entries not yet reclaimed. */
  deadEntryBytes: number
  /** Number of the WAL segment being appended to. */
  walSegment: number
  /**
   * Bytes of that segment up to the end of its records, header included (the trigger of
   * `snapshot_wal_bytes`); with `sync_writes` the file itself is longer, preallocated with zeros.
   */
  walBytes: number
  /** Number of the last snapshot taken or loaded (0: none yet). */
  snapshot: number
  /** Size of that snapshot in bytes (0: none yet); `snapshot_wal_ratio` is relative to it. */
  snapshotBytes: number
  /** Whether a snapshot is being written now. */
  snapshotInProgress: boolean
}

/** Everything that exists only while the store is open. */
interface OpenState {
  dir: string
  lock: Lock
  index: MemoryIndex
  writer: WalWriter
  /** The last snapshot, and the oldest segment it does not cover. */
  snapshot: number
  firstSegment: number
  /**
   * Whether the segments from `firstSegment` up to the one before the active one may hold
   * records, which the time trigger counts with the active segment's. Set at open when records
   * were replayed and such segments remain (a store of format version 1 or 2, whose appends go to
   * a new segment; a snapshot killed or failed after switching appends) — the records may all be
   * in the active segment then, which changes nothing, as those count anyway — and when a
   * snapshot switched appends away from a segment holding records (should it fail). Cleared when
   * a snapshot covers them.
   */
  earlierRecords: boolean
  /** Size of the last snapshot file (0: none); the WAL size trigger is relative to it. */
  snapshotBytes: number
  snapshotting: Promise<void> | undefined
  /** After a background snapshot failed, none is started before this time (ms since epoch). */
  retryAfter: number
  /** Freeing deleted buckets' entries or compacting the arena, in steps (#maintainIfNeeded). */
  maintaining: boolean
  timer: NodeJS.Timeout | undefined
}

/**
 * The file backend (SPEC §2): an in-memory map, a checksummed write-ahead log and atomic
 * snapshots in one directory. Construct with options to bypass the configuration file
 * (`new SimpleKV({ path: './state', sync_writes: true })`), or import `@kv/simple` to register one
 * configured from the `simple_kv` section.
 */
export class SimpleKV extends AbstractKVStore<SimpleKVConfig> {
  #state: OpenState | undefined

  /** @param options the `simple_kv` keys; when given, the configuration file is not read. */
  constructor(options?: SimpleKVOptions) {
    super(SIMPLE_KV, { section: simpleKVSection, options, maxValueBytes: MAX_VALUE_BYTES })
  }

  /** Figures about the open store. */
  stats(): SimpleKVStats {
    const state = this.#open()
    const { liveBytes, deadBytes } = state.index.entries.stats
    return {
      path: state.dir,
      entries: state.index.size,
      entryBytes: liveBytes,
      deadEntryBytes: deadBytes,
      walSegment: state.writer.segment.sequence,
      walBytes: state.writer.segment.position,
      snapshot: state.snapshot,
      snapshotBytes: state.snapshotBytes,
      snapshotInProgress: state.snapshotting !== undefined,
    }
  }

  /**
   * Writes a snapshot now (or waits for the one in progress and then writes another), so that
   * it covers every write acknowledged before the call. Writes go on meanwhile; `close()` waits
   * for it. Rejects with `KV_NOT_OPEN` unless the store is open.
   */
  snapshot(): Promise<void> {
    return this.operation(async () => {
      const state = this.#open()
      if (state.snapshotting !== undefined) await state.snapshotting.catch(() => {})
      await this.#startSnapshot(state).catch((error: unknown) => {
        throw snapshotError(error, state.dir)
      })
    })
  }

  protected async _open(): Promise<void> {
    const config = this.config
    const dir = resolve(config.path ?? join(dataDir(), SIMPLE_KV))
    try {
      await this.#openIn(dir)
    } catch (error) {
      throw await openError(error, dir, config.path === undefined)
    }
  }

  async #openIn(dir: string): Promise<void> {
    const config = this.config
    await createStoreDirectory(dir, 'simple_kv.path', config.path === undefined)
    const lock = await acquireLock(dir)
    try {
      const index = new MemoryIndex()
      const recovered = await recover(dir, index, config.sync_writes)
      index.freeInSteps = true
      const state: OpenState = {
        dir,
        lock,
        index,
        writer: new WalWriter(
          recovered.segment,
          { writes: config.sync_writes, onEventLoop: config.sync_on_event_loop },
          (buffer, start, end) => applyBatch(index, buffer, start, end),
          () => this.#afterBatch(state),
        ),
        snapshot: recovered.snapshot,
        firstSegment: recovered.firstSegment,
        earlierRecords:
          recovered.records > 0 && recovered.firstSegment < recovered.segment.sequence,
        snapshotBytes: recovered.snapshotBytes,
        snapshotting: undefined,
        retryAfter: 0,
        maintaining: false,
        timer: undefined,
      }
      if (config.snapshot_interval_seconds > 0) {
        // The schema bounds the interval: a delay over 2^31 - 1 ms would fire after 1 ms.
        state.timer = setInterval(() => {
          if (walHoldsRecords(state)) this.#backgroundSnapshot(state)
        }, config.snapshot_interval_seconds * 1000)
        state.timer.unref()
      }
      this.#state = state
      this.#maintainIfNeeded(state)
    } catch (error) {
      // The error that made open() fail is the one to report, not a failure to clean up.
      await lock.release().catch(() => {})
      throw error
    }
  }

  protected async _close(): Promise<void> {
    const state = this.#state
    if (state === undefined) return
    this.#state = undefined
    clearInterval(state.timer)
    try {
      await state.snapshotting?.catch(() => {})
      // Segments before the active one remain when a snapshot failed after switching appends.
      await state.writer.close(state.firstSegment < state.writer.segment.sequence)
    } finally {
      await state.lock.release()
    }
  }

  protected _get(bucket: string, key: Uint8Array): Uint8Array | null {
    return this.#state!.index.read(bucket, key)
  }

  protected override _has(bucket: string, key: Uint8Array): Promise<boolean> {
    return Promise.resolve(this.#state!.index.find(bucket, key) >= 0)
  }

  protected _put(bucket: string, key: Uint8Array, value: Uint8Array): Promise<void> {
    return this.#state!.writer.append(Op.PUT, bucket, key, value)
  }

  /** One record per entry, all in one WAL batch: one write and (with `sync_writes`) one sync. */
  protected override _putMany(bucket: string, entries: readonly Entry[]): Promise<void> {
    return this.#state!.writer.appendPuts(bucket, entries)
  }

  protected _delete(bucket: string, key: Uint8Array): Promise<void> {
    return this.#state!.writer.append(Op.DELETE, bucket, key)
  }

  protected _deleteBucket(bucket: string): Promise<void> {
    return this.#state!.writer.append(Op.DELETE_BUCKET, bucket)
  }

  protected _keys(bucket: string, { prefix }: NormalizedKeysOptions): Iterable<Uint8Array> {
    return this.#state!.index.keys(bucket, prefix)
  }

  /**
   * The buckets in order as they were when the listing started, less those deleted (or emptied)
   * before it reaches them — as `keys()` skips keys deleted before it reaches them.
   */
  protected *_buckets(): Iterable<string> {
    const { index } = this.#state!
    for (const name of index.bucketNames()) if (index.buckets.has(name)) yield name
  }

  #open(): OpenState {
    if (this.#state === undefined || this.status !== 'open') {
      throw new NotOpenError(`The ${SIMPLE_KV} store is not open: call open() before using it.`)
    }
    return this.#state
  }

  #afterBatch(state: OpenState): void {
    const limit = walLimit(this.config, state.snapshotBytes)
    if (limit > 0 && state.writer.segment.position >= limit) this.#backgroundSnapshot(state)
    this.#maintainIfNeeded(state)
  }

  /** Starts a snapshot unless one is running; a failure is reported as a warning, not thrown. */
  #backgroundSnapshot(state: OpenState): void {
    if (state.snapshotting !== undefined || Date.now() < state.retryAfter) return
    this.#startSnapshot(state).catch((error: Error) => {
      state.retryAfter = Date.now() + SNAPSHOT_RETRY_MS
      process.emitWarning(
        `simple_kv: a snapshot of ${state.dir} failed (${error.message}); the WAL is kept and a snapshot will be tried again in ${SNAPSHOT_RETRY_MS / 1000} s.`,
        { type: 'KVWarning', code: 'KV_SNAPSHOT_FAILED' },
      )
    })
  }

  #startSnapshot(state: OpenState): Promise<void> {
    state.snapshotting ??= this.#takeSnapshot(state).finally(() => {
      state.snapshotting = undefined
    })
    return state.snapshotting
  }

  /**
   * Seals the active segment by switching appends to a new one, writes a snapshot covering
   * every segment up to the sealed one, and only once that snapshot is durable removes the
   * segments and the older snapshot it replaces.
   */
  async #takeSnapshot(state: OpenState): Promise<void> {
    const { dir, writer } = state
    const covered = writer.segment.sequence
    const next = covered + 1
    const path = join(dir, segmentName(next))
    const contents = newSegment(next, this.config.sync_writes)
    await createDurably(dir, segmentName(next), contents)
    const fd = await openFd(path, 'r+')
    // The segment appends move away from; its position is final once the switch is made.
    const sealed = writer.segment
    await writer.rotate({
      fd,
      sequence: next,
      path,
      position: FILE_HEADER_BYTES,
      allocated: contents.length,
      batches: 0,
    })
    // Kept until the snapshot is durable: if it fails, the timer must still see these records.
    if (sealed.position > FILE_HEADER_BYTES) state.earlierRecords = true
    const { bytes } = await writeSnapshot(dir, covered, state.index)
    state.snapshotBytes = bytes
    const previous = state.snapshot
    const retired = state.firstSegment
    state.snapshot = covered
    state.firstSegment = next
    state.earlierRecords = false
    for (let sequence = retired; sequence <= covered; sequence++)
      await removeFile(dir, segmentName(sequence))
    if (previous > 0) await removeFile(dir, snapshotName(previous))
  }

  /**
   * Frees the entries of deleted buckets and runs a compaction pass of the value arena, a step of
   * each per turn of the event loop.
   */
  #maintainIfNeeded(state: OpenState): void {
    const { index } = state
    if (state.maintaining || (!index.sweepPending && !index.entries.wantsCompaction)) return
    state.maintaining = true
    const step = (): void => {
      if (this.#state === state) {
        // Both in each turn: a sweep always pending (a writer deleting bucket after bucket)
        // must not hold compaction off.
        const swept = !index.sweepPending || index.sweepStep(SWEEP_STEP_POSITIONS)
        const compacted =
          !index.entries.wantsCompaction || index.entries.compactStep(COMPACTION_STEP_SLOTS)
        if (!swept || !compacted) {
          setImmediate(step)
          return
        }
      }
      state.maintaining = false
    }
    setImmediate(step)
  }
}

/**
 * Whether the WAL holds records not covered by the last snapshot, in any segment the store still
 * depends on (the trigger of `snapshot_interval_seconds`): the active segment, or those before it
 * that a snapshot has not retired yet (see `OpenState.earlierRecords`).
 */
function walHoldsRecords(state: OpenState): boolean {
  return state.earlierRecords || state.writer.segment.position > FILE_HEADER_BYTES
}

/**
 * What a failure of `open()` at `dir` is reported as. KVErrors (locked, corrupt, a newer format)
 * are already (a path that cannot be a directory is KV_INVALID_CONFIG, from
 * createStoreDirectory); a file-system error is not, and would name neither the store nor what to
 * do: any failure to read or write the store's files (disk full, file-size limit, permissions, I/O error) leaves the store as it
 * was and can be retried once the cause is fixed. Anything else (a bug) passes unchanged.
 */
async function openError(error: unknown, dir: string, defaultPath: boolean): Promise<unknown> {
  if (isKVError(error)) return error
  const { code, syscall } = error as NodeJS.ErrnoException
  if (typeof code !== 'string' || typeof syscall !== 'string') return error
  const reason = (error as Error).message
  const where = defaultPath ? `${dir} (simple_kv.path is not set: the default under data_dir)` : dir
  const advice = (IS_A_DIRECTORY.has(code) && (await directoryAdvice(dir))) || fsAdvice(code)
  return new BackendUnavailableError(
    `simple_kv could not open the store at ${where}: ${reason}. ${advice}, then open it again; the failed open() lost nothing that was written before.`,
    { cause: error },
  )
}

/** The codes of an operation on a directory that wanted a file (`fs.rm` has its own). */
const IS_A_DIRECTORY = new Set(['EISDIR', 'ERR_FS_EISDIR'])

/**
 * What to do when `open()` met a directory where the store keeps a file: move it away, naming it
 * (the error itself often names no path: a `read(2)` has none). Undefined when there is none.
 */
async function directoryAdvice(dir: string): Promise<string | undefined> {
  const found = await directoriesNamedLikeFiles(dir).catch(() => [])
  if (found.length === 0) return undefined
  const paths = found.map((name) => join(dir, name)).join(', ')
  return `${paths} ${found.length === 1 ? 'is a directory' : 'are directories'} where the store keeps a file of that name: move ${found.length === 1 ? 'it' : 'them'} out of the store directory`
}

/**
 * What `snapshot()` rejects with when the snapshot could not be written: any failure of writing
 * it (a file-system error such as a full disk or the file-size limit, a write that wrote
 * nothing, a file that does not hold what was written) becomes `KV_BACKEND_UNAVAILABLE` saying
 * that nothing was lost, with the failure as `cause`.
 */
function snapshotError(error: unknown, dir: string): unknown {
  if (isKVError(error)) return error
  const advice = fsAdvice((error as NodeJS.ErrnoException).code)
  return new BackendUnavailableError(
    `simple_kv could not write a snapshot of ${dir}: ${(error as Error).message}. Nothing is lost: the WAL and the previous snapshot are kept. ${advice}, then take the snapshot again.`,
    { cause: error },
  )
}

/** What to do about a file-system error with `code` (an errno name, or none). */
function fsAdvice(code: unknown): string {
  return (typeof code === 'string' && FS_ADVICE[code]) || 'Check the disk'
}

/** What to do about a file-system error, by code. */
const FS_ADVICE: Record<string, string> = {
  ENOSPC: 'Free space on its disk',
  EDQUOT: 'Free space within the disk quota',
  EFBIG: 'Raise the file-size limit of the process (ulimit -f) or of the file system',
  EACCES: 'Give the process read and write access to the directory and its files',
  EPERM: 'Give the process read and write access to the directory and its files',
  EROFS: 'Mount the file system read-write, or set simple_kv.path to a writable directory',
  EMFILE: 'Raise the limit of open files (ulimit -n), or open fewer files',
}

/**
 * The size of the active WAL segment at which a snapshot is taken: `snapshot_wal_bytes`, or
 * `snapshot_wal_ratio` times the last snapshot if that is more. A fixed size alone would rewrite
 * the whole store every so many bytes of writes, a cost per write that grows with the store
 * (at 10,000,000 entries, about 1.25 GB of snapshot per 64 MiB of WAL); relative to the
 * snapshot, the bytes a snapshot writes per byte of WAL stay at most 1 + 1 / ratio. 0: never by
 * size.
 */
function walLimit(config: SimpleKVConfig, snapshotBytes: number): number {
  const fixed = config.snapshot_wal_bytes
  if (fixed === 0) return 0
  return Math.max(fixed, Math.ceil(config.snapshot_wal_ratio * snapshotBytes))
}
