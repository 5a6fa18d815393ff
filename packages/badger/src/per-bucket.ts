/**
 * Per-bucket mode (`single_bucket_mode: false`): one LevelDB per bucket.
 *
 * On disk, under `path`:
 * - `meta/`: a small LevelDB that holds the store's lock (taken by {@link BadgerKV} in both
 *   modes), so a second process fails at `open()` rather than at its first write to a bucket;
 * - `buckets/<dir>/name`: the bucket's name in UTF-8, `<dir>` derived from it by
 *   {@link bucketDirName}; `buckets/<dir>/db/`: the bucket's LevelDB;
 * - `trash/`: deleted buckets on their way out (created and emptied at open, then kept).
 *
 * A bucket's directory is created on its first write: the name file first (written to a temporary
 * file and renamed), the database second. A directory without a name file holds no bucket and is
 * removed at the next open; one whose name file names another bucket is not ours: it is left
 * alone, and a write to the bucket whose directory it is refused (see #claim). `deleteBucket`
 * removes the name file first (atomic: after a crash the bucket is either whole or gone), while
 * the database is still open, since that needs no free space and leaves the bucket as it was when
 * it fails; then it closes the database, moves the directory into `trash/` (so that the bucket can
 * be created anew at once) and removes it there.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  bytesEqual,
  CorruptStoreError,
  compareBytes,
  copyBytes,
  type Entry,
  fromUtf8,
  type MaybePromise,
  syncDirectory,
  utf8,
} from '@kv/core'
import { bucketDirName, isBucketDirName } from './bucket-dir.js'
import type { BadgerConfig } from './config.js'
import { type Engine, fileSystemError, type LevelDb, openClassic } from './engine.js'
import type { GcOutcome, Layout } from './layout.js'
import { Partition, readKeys } from './partition.js'
import { type BucketStats, scanRange, TopKeys } from './stats.js'
import { WriteQueue } from './write-queue.js'

/**
 * What {@link PerBucket.#compact} did: compacted the bucket's database (or removed the bucket,
 * found empty); found no such bucket (deleted, or never created), so there was nothing to
 * compact; or put it off (a call was opening, creating or deleting it), for a later pass.
 */
type Compaction = 'compacted' | 'absent' | 'later'

const NAME_FILE = 'name'

/** Above every key (keys are at most 64 KiB): with an empty start, the whole database. */
let wholeEnd: Uint8Array | undefined
const whole = (): [Uint8Array, Uint8Array] => [
  new Uint8Array(0),
  (wholeEnd ??= new Uint8Array(64 * 1024 + 1).fill(0xff)),
]

interface Bucket {
  name: string
  dir: string
  /** closed: on disk, database not open; busy: being opened, created, compacted or deleted (see `ready`). */
  state: 'closed' | 'busy' | 'open' | 'deleted'
  /** The transition in progress while busy (or the last one). */
  ready: Promise<void>
  /** Calls issued while the bucket was busy, in the order issued (see #whenOpen). */
  waiting: Waiter[]
  engine?: Engine
  queue?: WriteQueue
  partition?: Partition
}

/** A call waiting for its bucket's transition to end; `failure`: the bucket failed to open. */
type Waiter = (failure: { error: unknown } | undefined) => void

/** An open bucket, with what it had when it was found open (see PerBucket.#opened). */
interface Opened {
  entry: Bucket
  partition: Partition
  db: LevelDb
}

/** One LevelDB per bucket, each in its own directory. */
export class PerBucket implements Layout {
  readonly #path: string
  readonly #config: BadgerConfig
  readonly #buckets = new Map<string, Bucket>()

  private constructor(path: string, config: BadgerConfig) {
    this.#path = path
    this.#config = config
  }

  /**
   * Opens the store at `path` (whose lock the caller holds): empties the trash, finds the
   * buckets. The file system's errors are `KV_BACKEND_UNAVAILABLE`.
   */
  static async open(path: string, config: BadgerConfig): Promise<PerBucket> {
    const layout = new PerBucket(path, config)
    try {
      const buckets = (await mkdir(join(path, 'buckets'), { recursive: true })) !== undefined
      const trash = await layout.#emptyTrash()
      // Makes the entries of buckets/ and trash/ in path durable, as a bucket's directory is.
      if (config.sync_writes && (buckets || trash)) await syncDirectory(path)
      await layout.#scan()
    } catch (error) {
      throw fileSystemError(
        error,
        `Could not open the per-bucket store at ${path}`,
        'nothing written before was lost.',
      )
    }
    return layout
  }

  /**
   * Empties `trash/`, creating it when missing. The directory itself stays: a deletion moves a
   * bucket into it, and must not have to create it then, which on a full disk fails (a new
   * directory takes a block). True when it was created.
   */
  async #emptyTrash(): Promise<boolean> {
    const trash = join(this.#path, 'trash')
    const created = (await mkdir(trash, { recursive: true })) !== undefined
    for (const doomed of await readdir(trash)) {
      await rm(join(trash, doomed), { recursive: true, force: true })
    }
    return created
  }

  async #scan(): Promise<void> {
    const root = join(this.#path, 'buckets')
    for (const dir of await readdir(root)) {
      if (!isBucketDirName(dir)) continue
      let bytes: Buffer
      try {
        bytes = await readFile(join(root, dir, NAME_FILE))
      } catch (error) {
        // Created but never named (interrupted before its database existed), or deleted (the
        // name file goes first): it holds no bucket.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          await rm(join(root, dir), { recursive: true, force: true })
          continue
        }
        throw error
      }
      let name: string
      try {
        name = fromUtf8(bytes)
      } catch {
        continue
      }
      // A name file that does not derive back to its directory was not written by us: skip it.
      if (bucketDirName(name) !== dir) continue
      this.#buckets.set(name, {
        name,
        dir: join(root, dir),
        state: 'closed',
        ready: Promise.resolve(),
        waiting: [],
      })
    }
  }

  // ---- finding a bucket's database --------------------------------------------------------
  //
  // A bucket's database opens at its first use, and `deleteBucket` closes it. Calls must keep
  // the order in which they were issued across both: a write issued before `deleteBucket` is
  // deleted by it, one issued after it survives, and two writes of one key land in the order
  // issued. So a call that finds its bucket not open (being opened, created or deleted) does not
  // wait on a promise of its own, whose continuation would run in whatever order the microtask
  // queue gives, after a `deleteBucket` issued later had perhaps closed the database again: it
  // joins the bucket's `waiting` list, and #settle runs that list in order, synchronously, the
  // moment the bucket's state changes. A write run there is queued on the bucket's WriteQueue
  // at once, before any call issued after it; a `deleteBucket` run there starts the deletion,
  // which drains that queue first and makes the calls behind it wait again, for the bucket
  // created anew after the deletion.

  /**
   * Calls `use` with the bucket's entry once the bucket is open, or with `undefined` once it
   * does not exist and `create` is false; in the order issued (see above). The caller keeps
   * copies of the buffers `use` reads.
   */
  #whenOpen<T>(
    bucket: string,
    create: boolean,
    use: (entry: Bucket | undefined) => MaybePromise<T>,
  ): Promise<T> {
    const { promise, resolve, reject } = Promise.withResolvers<T>()
    const attempt: Waiter = (failure) => {
      if (failure !== undefined) return reject(failure.error)
      const entry = this.#buckets.get(bucket)
      if (entry?.state === 'open' || (entry === undefined && !create)) {
        try {
          resolve(use(entry))
        } catch (error) {
          reject(error)
        }
        return
      }
      this.#wait(bucket, attempt)
    }
    attempt(undefined)
    return promise
  }

  /** Puts `waiter` in the bucket's waiting list, creating or opening the bucket if no one is. */
  #wait(bucket: string, waiter: Waiter): void {
    let entry = this.#buckets.get(bucket)
    if (entry === undefined) {
      entry = this.#newEntry(bucket)
      entry.waiting.push(waiter)
      this.#start(entry, (e) => this.#create(e))
      return
    }
    entry.waiting.push(waiter)
    if (entry.state === 'closed') this.#start(entry, (e) => this.#openEntry(e))
  }

  #newEntry(name: string): Bucket {
    const entry: Bucket = {
      name,
      dir: join(this.#path, 'buckets', bucketDirName(name)),
      state: 'closed',
      ready: Promise.resolve(),
      waiting: [],
    }
    this.#buckets.set(name, entry)
    return entry
  }

  /** Runs `change` with the entry marked busy; it ends with #settle. */
  #transition(entry: Bucket, change: (entry: Bucket) => Promise<void>): Promise<void> {
    entry.state = 'busy'
    entry.ready = change(entry)
    return entry.ready
  }

  /** A transition whose outcome reaches the calls that wait for it through #settle. */
  #start(entry: Bucket, change: (entry: Bucket) => Promise<void>): void {
    this.#transition(entry, change).catch(() => {})
  }

  /**
   * Ends a transition: sets the entry's state, then runs the calls that waited, in the order
   * they were issued. `failure`: the bucket could not be opened or created; the calls get its
   * error, except those behind a call that started another transition (a `deleteBucket`), which
   * wait for that one.
   */
  #settle(entry: Bucket, state: Bucket['state'], failure?: { error: unknown }): void {
    entry.state = state
    const waiting = entry.waiting
    entry.waiting = []
    for (const waiter of waiting) waiter(entry.state === state ? failure : undefined)
  }

  async #create(entry: Bucket): Promise<void> {
    try {
      // Already there although no bucket has this name (see #claim): named, it is kept as it is.
      const found = (await mkdir(entry.dir, { recursive: true })) === undefined
      if (!found || !(await this.#claim(entry))) {
        const temp = join(entry.dir, `${NAME_FILE}.tmp`)
        await writeFile(temp, utf8(entry.name), { flush: this.#config.sync_writes })
        await rename(temp, join(entry.dir, NAME_FILE))
      }
      // Here rather than by classic-level when it opens the database: before the sync of the
      // bucket's directory, which makes the entry of db/ durable with that of the name file.
      await mkdir(join(entry.dir, 'db'), { recursive: true })
      if (this.#config.sync_writes) {
        await syncDirectory(entry.dir)
        await syncDirectory(join(this.#path, 'buckets'))
      }
    } catch (cause) {
      const error = fileSystemError(
        cause,
        `Could not create the directory of the bucket at ${entry.dir}`,
        'the write was not made.',
      )
      this.#buckets.delete(entry.name)
      this.#settle(entry, 'deleted', { error })
      throw error
    }
    await this.#openEntry(entry)
  }

  /**
   * For #create, when the bucket's directory is already there although no bucket has its name.
   * Without a name file it holds no bucket (left by an interrupted creation, or by a deletion whose
   * files could not be moved away or removed, see #delete): its database, if any, is removed and
   * false returned. With a name file that names this bucket (written by a creation that failed
   * after it, or a directory put back while the store was open) it is the bucket's, as #scan takes
   * it at the next open: true, kept as it is. With any other name file it is not ours (a bucket
   * moved or copied under another's directory, which #scan skips): refused, changing nothing.
   */
  async #claim(entry: Bucket): Promise<boolean> {
    let bytes: Buffer
    try {
      bytes = await readFile(join(entry.dir, NAME_FILE))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      await rm(join(entry.dir, 'db'), { recursive: true, force: true })
      return false
    }
    if (bytesEqual(bytes, utf8(entry.name))) return true
    let held: string
    try {
      held = `a name file for ${JSON.stringify(fromUtf8(bytes))}`
    } catch {
      held = 'a name file that is not UTF-8'
    }
    throw new CorruptStoreError(
      `The directory of bucket ${JSON.stringify(entry.name)}, ${entry.dir}, holds ${held}: it is no bucket of this store (a bucket directory moved or copied there?), and was left as it is; the write was not made. Move that directory out of ${join(this.#path, 'buckets')} (a bucket directory moved back under the name it holds is found at the next open), then retry.`,
      { file: entry.dir },
    )
  }

  async #openEntry(entry: Bucket): Promise<void> {
    let engine: Engine
    try {
      engine = await openClassic(join(entry.dir, 'db'), this.#config)
    } catch (error) {
      this.#settle(entry, 'closed', { error })
      throw error
    }
    const queue = new WriteQueue(engine.db, { sync: this.#config.sync_writes, copy: false })
    entry.engine = engine
    entry.queue = queue
    entry.partition = new Partition(
      { db: engine.db, queue, inMemory: false, syncReads: this.#config.sync_reads },
      undefined,
    )
    this.#settle(entry, 'open')
  }

  /** Writes what is queued for the bucket, refuses further writes, and closes its database. */
  async #closeEntry(entry: Bucket): Promise<void> {
    if (entry.engine === undefined) return
    await entry.queue!.close()
    await entry.engine.db.close()
    entry.engine = undefined
    entry.queue = undefined
    entry.partition = undefined
  }

  /**
   * Whether a read of `entry` failed because the bucket was deleted under it (which closes its
   * database): waits for a deletion in progress, then tells whether the entry is gone. Such a
   * read ends as if the bucket were empty, as a read of a deleted range does in single-bucket
   * mode.
   */
  async #deletedUnder(bucket: string, entry: Bucket): Promise<boolean> {
    // Each transition ends with #settle; one may start another, hence the loop.
    for (let ready = entry.ready; entry.state === 'busy'; ready = entry.ready) {
      await ready.catch(() => {})
      if (entry.ready === ready) break
    }
    return entry.state === 'deleted' || this.#buckets.get(bucket) !== entry
  }

  // ---- operations -------------------------------------------------------------------------
  //
  // Each has a fast path for an open bucket; otherwise it keeps copies of the caller's buffers,
  // which the caller may reuse once the call returns, and waits in #whenOpen.

  get(bucket: string, key: Uint8Array) {
    const entry = this.#buckets.get(bucket)
    if (entry === undefined) return null
    if (entry.state === 'open') return entry.partition!.get(key)
    const k = copyBytes(key)
    return this.#whenOpen(bucket, false, (e) => (e === undefined ? null : e.partition!.get(k)))
  }

  has(bucket: string, key: Uint8Array) {
    const entry = this.#buckets.get(bucket)
    if (entry === undefined) return false
    if (entry.state === 'open') return entry.partition!.has(key)
    const k = copyBytes(key)
    return this.#whenOpen(bucket, false, (e) => (e === undefined ? false : e.partition!.has(k)))
  }

  put(bucket: string, key: Uint8Array, value: Uint8Array): Promise<void> {
    const entry = this.#buckets.get(bucket)
    if (entry?.state === 'open') return entry.partition!.put(key, value)
    const k = copyBytes(key)
    const v = copyBytes(value)
    return this.#whenOpen(bucket, true, (e) => e!.partition!.put(k, v))
  }

  putMany(bucket: string, entries: readonly Entry[]): Promise<void> {
    const entry = this.#buckets.get(bucket)
    if (entry?.state === 'open') return entry.partition!.putMany(entries)
    const copies = entries.map(([key, value]): Entry => [copyBytes(key), copyBytes(value)])
    return this.#whenOpen(bucket, true, (e) => e!.partition!.putMany(copies))
  }

  del(bucket: string, key: Uint8Array): Promise<void> {
    const entry = this.#buckets.get(bucket)
    if (entry === undefined) return Promise.resolve()
    if (entry.state === 'open') return entry.partition!.del(key)
    const k = copyBytes(key)
    return this.#whenOpen(bucket, false, (e) => (e === undefined ? undefined : e.partition!.del(k)))
  }

  mayHold(bucket: string): boolean {
    return this.#buckets.has(bucket)
  }

  deleteBucket(bucket: string): Promise<void> {
    const entry = this.#buckets.get(bucket)
    if (entry === undefined) return Promise.resolve()
    if (entry.state === 'busy') {
      // After the calls issued before it (see #whenOpen), whether the bucket opens or not.
      const { promise, resolve, reject } = Promise.withResolvers<void>()
      entry.waiting.push(() => this.deleteBucket(bucket).then(resolve, reject))
      return promise
    }
    return this.#transition(entry, (e) => this.#delete(e))
  }

  /**
   * Deletes the bucket (busy, its database open or not): removes its name file, which is what
   * deletes it, then closes its database, forgets it and removes its directory. Everything that
   * can fail before the bucket is gone is done with its database still open: when it fails the
   * bucket is left as it was, readable and writable.
   */
  async #delete(entry: Bucket): Promise<void> {
    const before = entry.engine === undefined ? 'closed' : 'open'
    try {
      // The writes issued before the deletion go first (and are deleted with the bucket).
      await entry.queue?.drain()
      // Needs no free space (it frees some), unlike anything that creates an entry: this is
      // how a full disk is given room again.
      await unlink(join(entry.dir, NAME_FILE))
    } catch (cause) {
      this.#settle(entry, before)
      throw fileSystemError(
        cause,
        `Could not delete the bucket at ${entry.dir}`,
        'the bucket was left as it was, and can still be read and written.',
      )
    }
    let failure: unknown
    try {
      await this.#closeEntry(entry)
    } catch (error) {
      failure = error // gone all the same: its directory is removed below
    }
    // The unlink, durable (the directory's other entries do not matter: it holds no bucket). A
    // failure leaves the bucket deleted for this process, perhaps not on disk: reported apart.
    let unsynced: unknown
    if (this.#config.sync_writes) {
      await syncDirectory(entry.dir).catch((error: unknown) => {
        unsynced = error
      })
    }
    // Out of the way first, so that a call waiting to create the bucket again may; trash/ exists
    // (see #emptyTrash), and a rename creates nothing. Should it fail (trash/ gone, say), the
    // directory is removed in place: that failing too is the failure to report.
    const doomed = join(this.#path, 'trash', randomUUID())
    let moved = false
    let leftover: unknown
    try {
      await rename(entry.dir, doomed)
      moved = true
    } catch {
      await rm(entry.dir, { recursive: true, force: true }).catch((error: unknown) => {
        leftover = error
      })
    }
    this.#buckets.delete(entry.name)
    this.#settle(entry, 'deleted')
    if (moved) {
      await rm(doomed, { recursive: true, force: true }).catch((error: unknown) => {
        leftover = error
      })
    }
    const mayComeBack =
      unsynced === undefined
        ? ''
        : ' (and the deletion could not be synced to the disk: should the system stop before the disk has it, the bucket may be back then)'
    if (leftover !== undefined) {
      throw fileSystemError(
        leftover,
        `The bucket at ${entry.dir} was deleted, but its files could not all be removed`,
        `what is left is removed at the next open${mayComeBack}.`,
      )
    }
    if (unsynced !== undefined) {
      throw fileSystemError(
        unsynced,
        `The bucket at ${entry.dir} was deleted and its files removed, but the deletion could not be synced to the disk`,
        'should the system stop before the disk has it, the bucket may be back at the next open.',
        'then delete it again should it be back',
      )
    }
    if (failure !== undefined) {
      throw fileSystemError(
        failure,
        `The bucket at ${entry.dir} was deleted and its files removed, but its database could not be closed`,
        'nothing is left of it.',
      )
    }
  }

  /**
   * Compacts each due bucket's database ({@link #compact}), one after another; `all`: every bucket
   * of the store. Each bucket is a database of its own, so there is one compaction per bucket.
   */
  async gc(due: readonly string[] | 'all'): Promise<GcOutcome> {
    const compacted: string[] = []
    const again: string[] = []
    const errors: unknown[] = []
    for (const bucket of due === 'all' ? [...this.#buckets.keys()] : due) {
      try {
        const outcome = await this.#compact(bucket)
        if (outcome === 'compacted') compacted.push(bucket)
        else if (outcome === 'later') again.push(bucket)
      } catch (error) {
        errors.push(error)
        again.push(bucket)
      }
    }
    return { compacted, again, errors }
  }

  /**
   * Compacts the bucket's database; when the bucket turns out empty, removes its directory
   * instead (puts and their deletes flushed into one table stay there until LevelDB compacts
   * that level, so an emptied database may not shrink otherwise). The emptiness is checked with
   * the bucket's writes drained and new ones held back, so no write is lost. A bucket deleted
   * meanwhile is no error. A bucket not open (not used since the store was opened again, its
   * deletes counted before) is opened for the pass only ({@link #compactClosed}). A bucket busy
   * with a call's transition is put off (`later`): it is left for a later pass.
   */
  async #compact(bucket: string): Promise<Compaction> {
    const entry = this.#buckets.get(bucket)
    // Gone (deleted, or never created): nothing to compact. Busy (being opened, created or
    // deleted by a call): left for a later pass.
    if (entry === undefined || entry.state === 'deleted') return 'absent'
    if (entry.state === 'closed') {
      await this.#compactClosed(entry)
      return 'compacted'
    }
    if (entry.state !== 'open') return 'later'
    const { engine, partition } = entry
    try {
      // LevelDB's CompactRange reports nothing: a failure becomes its background error, which
      // the emptiness read below and the database's later writes then meet (mapped there).
      await engine!.db.compactRange(...whole())
      if (entry.state !== 'open' || !(await partition!.isEmpty())) return 'compacted'
    } catch (error) {
      if (await this.#deletedUnder(bucket, entry)) return 'absent'
      throw error
    }
    // Checked again after the await: a deletion (or another pass's compaction) may have begun.
    if (entry.state !== 'open') return 'compacted'
    await this.#transitionTo(entry, 'open', async (e, handOver) => {
      await e.queue!.drain()
      if (await e.partition!.isEmpty()) {
        handOver()
        await this.#delete(e)
      }
    })
    return 'compacted'
  }

  /**
   * {@link #compact} for a bucket whose database is not open: it is opened for the pass alone and
   * closed again (or the bucket removed, when empty), so that a pass over many buckets holds no
   * more files open than before. Calls on the bucket meanwhile wait, then open it as usual.
   */
  async #compactClosed(entry: Bucket): Promise<void> {
    await this.#transitionTo(entry, 'closed', async (e, handOver) => {
      const { db } = await openClassic(join(e.dir, 'db'), this.#config)
      let empty: boolean
      try {
        await db.compactRange(...whole())
        empty = (await readKeys(db, { limit: 1 })).length === 0
      } finally {
        await db.close()
      }
      if (empty) {
        handOver()
        await this.#delete(e)
      }
    })
  }

  /**
   * A transition of a gc pass: it ends in `state`, whether `work` succeeds or fails, unless `work`
   * has handed the entry over to #delete (calling `handOver` first), which settles the
   * entry itself on every path, and a waiting call it settles may start the next transition:
   * this one must not settle the entry again.
   */
  #transitionTo(
    entry: Bucket,
    state: 'open' | 'closed',
    work: (entry: Bucket, handOver: () => void) => Promise<void>,
  ): Promise<void> {
    return this.#transition(entry, async (e) => {
      let handedOver = false
      try {
        await work(e, () => {
          handedOver = true
        })
      } catch (error) {
        if (!handedOver) this.#settle(e, state)
        throw error
      }
      if (!handedOver) this.#settle(e, state)
    })
  }

  async *keys(
    bucket: string,
    prefix: Uint8Array | undefined,
    limit: number,
  ): AsyncGenerator<Uint8Array> {
    const open = await this.#opened(bucket)
    if (open === undefined) return
    try {
      yield* open.partition.keys(prefix, limit)
    } catch (error) {
      // The bucket was deleted while we listed it: its database closed under us; the listing ends.
      if (await this.#deletedUnder(bucket, open.entry)) return
      throw error
    }
  }

  /**
   * The bucket's entry with its partition and database as they are once it is open (a later
   * deletion unsets them on the entry); `undefined` when the bucket does not exist.
   */
  #opened(bucket: string): MaybePromise<Opened | undefined> {
    const snapshot = (entry: Bucket | undefined): Opened | undefined =>
      entry === undefined ? undefined : { entry, partition: entry.partition!, db: entry.engine!.db }
    const entry = this.#buckets.get(bucket)
    if (entry === undefined || entry.state === 'open') return snapshot(entry)
    return this.#whenOpen(bucket, false, snapshot)
  }

  /** The non-empty buckets, in ascending order of their UTF-8 bytes. */
  async *buckets(): AsyncGenerator<string> {
    const names = [...this.#buckets.keys()]
      .map((name) => ({ name, bytes: utf8(name) }))
      .sort((a, b) => compareBytes(a.bytes, b.bytes))
    for (const { name } of names) {
      const open = await this.#opened(name)
      if (open === undefined) continue
      let empty: boolean
      try {
        empty = await open.partition.isEmpty()
      } catch (error) {
        if (await this.#deletedUnder(name, open.entry)) continue
        throw error
      }
      if (!empty) yield name
    }
  }

  /** Every bucket's figures; a bucket deleted while it is read is left out. */
  async stats(top: TopKeys): Promise<BucketStats[]> {
    const result: BucketStats[] = []
    for await (const bucket of this.buckets()) {
      const open = await this.#opened(bucket)
      if (open === undefined) continue
      // The largest keys are offered to `top` as they are read: a bucket left out must not leave
      // some of its keys there, so they go through a list of its own first.
      const own = new TopKeys(top.size)
      let counts: Omit<BucketStats, 'bucket' | 'approximateDiskBytes'>
      let approximateDiskBytes: number
      try {
        counts = await scanRange(open.db, { gte: new Uint8Array(0) }, 0, bucket, own)
        approximateDiskBytes = await open.db.approximateSize(...whole())
      } catch (error) {
        if (await this.#deletedUnder(bucket, open.entry)) continue
        throw error
      }
      for (const item of own.list()) top.offer(item.bucket, item.key, item.valueBytes)
      result.push({ bucket, ...counts, approximateDiskBytes })
    }
    return result
  }

  async close(): Promise<void> {
    const errors: unknown[] = []
    for (const entry of this.#buckets.values()) {
      await entry.ready.catch(() => {})
      await this.#closeEntry(entry).catch((error: unknown) => errors.push(error))
      if (entry.state === 'open') entry.state = 'closed'
    }
    this.#buckets.clear()
    if (errors.length > 0) throw errors[0]
  }
}
