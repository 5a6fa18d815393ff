/**
 * Group commit for one LevelDB: writes issued together go out as one batch.
 *
 * - A write that finds the queue idle goes out at once as a single `put`/`del`, so one awaited
 *   write after another costs what a raw classic-level write costs.
 * - Any other write joins the open chained batch. classic-level copies key and value into its
 *   native batch there and then, so callers may reuse their buffers as soon as the call returns.
 * - The open batch is written on `process.nextTick`, that is after every promise continuation
 *   queued so far has run: 64 writers that resume together all join one batch. After a batch of
 *   several writes the queue stays in batching mode for that tick, so the writers it releases form
 *   the next batch rather than one of them going out alone.
 * - Up to {@link MAX_IN_FLIGHT} writes or batches are in flight, so that the JavaScript work of
 *   the writers a batch released overlaps the writing of the next batch: a batch that has
 *   reached {@link EARLY_BATCH} writes goes out within the tick when the others in flight share
 *   no key with it (by a 32-bit hash of each key; a collision only costs the overlap; a
 *   `putMany` of more than {@link TRACKED_KEYS_MAX} entries is not hashed, and flies alone). Two writes
 *   of the same key are therefore never in flight together, and every key's writes reach LevelDB
 *   in the order they were issued. `sync_writes` costs one fsync per batch, not one per write.
 *
 * Each caller's promise settles when its write or batch is written, with its error if it fails;
 * a read issued after a write resolved therefore sees it.
 *
 * Work that must not interleave with writes (clearing a bucket's range) is queued with
 * {@link WriteQueue.exclusive}: it runs alone, after every write issued before it and before any
 * issued after it.
 *
 * {@link WriteQueue.close} ends the queue before its database is closed: what was issued before
 * it is written, what comes after is refused with `KV_NOT_OPEN` rather than reaching a closed
 * database (whose errors are LevelDB's own).
 *
 * A write that fails rejects with LevelDB's error mapped by {@link runtimeError}. After one fails
 * with an I/O error (a full disk, the file-size limit) the queue refuses every write and task not
 * yet sent to LevelDB, and every later one, with `KV_BACKEND_UNAVAILABLE` ({@link refusedWrite})
 * until the database is reopened: LevelDB does not stop by itself there, yet the failed write may
 * have left part of its record in the log, after which writes it acknowledges once space is back
 * are lost at the next open (measured: 19 of 50 after a SIGKILL, `sync_writes` or not). Reopening
 * recovers the log up to the partial record and starts a new one.
 *
 * @module
 */
import { BackendUnavailableError, copyBytes, type Entry, NotOpenError } from '@kv/core'
import { type LevelDb, refusedWrite, runtimeError } from './engine.js'

/** How many writes or batches may be in flight at once. */
export const MAX_IN_FLIGHT = 2
/** A batch this large goes out within the tick when another is in flight (see the module comment). */
export const EARLY_BATCH = 32
/**
 * A `putMany` of more entries than this is not hashed key by key: it counts as sharing a key with
 * every other write, so it is never in flight beside one. Hashing 1,000,000 keys into a set took
 * about 40 % of such a call, which blocks the event loop; and a batch that large gains nothing
 * from overlapping another.
 */
export const TRACKED_KEYS_MAX = 1024

type ChainedBatch = ReturnType<LevelDb['batch']>

interface BatchItem {
  kind: 'batch'
  batch: ChainedBatch
  /** How many writes the batch holds. */
  writes: number
  /** Settles when the batch is written: every caller of the batch waits on this one promise. */
  done: Promise<void>
  resolve: () => void
  reject: (error: unknown) => void
  /** The hashes of its keys; null: not tracked, may share a key with anything. */
  hashes: Set<number> | null
}

interface TaskItem {
  kind: 'task'
  run: () => Promise<void>
  /** Refuses the task without running it (once the queue is broken: see the module comment). */
  reject: (error: unknown) => void
}

type Item = BatchItem | TaskItem

/** FNV-1a: a cheap 32-bit hash of a key, to tell batches that share no key. */
function hashKey(key: Uint8Array): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key[i]!, 0x01000193)
  return hash >>> 0
}

/** The coalescing write queue of one database. */
export class WriteQueue {
  readonly #db: LevelDb
  readonly #writeOptions: { sync: boolean }
  /** Copy keys and values before handing them over (memory-level keeps what it is given). */
  readonly #copy: boolean
  /** Queued batches and tasks, oldest first. */
  #items: Item[] = []
  /** The batch still accepting writes: the last item, when it is a batch not yet written. */
  #open: BatchItem | undefined
  /** Key hashes of what is in flight: a single write's hash, or a batch's (see BatchItem). */
  #inFlight: (number | Set<number> | null)[] = []
  #taskRunning = false
  #scheduled = false
  #idle: (() => void)[] = []
  #closed = false
  /** LevelDB's I/O error of the write that failed, once one did: writes are refused from then on. */
  #broken: Error | undefined

  constructor(db: LevelDb, options: { sync: boolean; copy: boolean }) {
    this.#db = db
    this.#writeOptions = { sync: options.sync }
    this.#copy = options.copy
  }

  /** Stores `value` under `key` (raw database keys). Resolves when it is written. */
  put(key: Uint8Array, value: Uint8Array): Promise<void> {
    if (this.#closed || this.#broken !== undefined) return this.#refuse()
    const k = this.#copy ? copyBytes(key) : key
    const v = this.#copy ? copyBytes(value) : value
    if (this.#isIdle()) return this.#single(k, this.#db.put(k, v, this.#writeOptions))
    const item = this.#openBatch()
    item.batch.put(k, v)
    return this.#join(item, k)
  }

  /**
   * Stores several entries in one batch (one LevelDB write: all or none of them), whose keys
   * `dbKey` maps to raw database keys; it may reuse one buffer, since each key is consumed (copied
   * into the batch) before the next is made. Resolves when the batch is written.
   */
  putMany(entries: readonly Entry[], dbKey: (key: Uint8Array) => Uint8Array): Promise<void> {
    if (this.#closed || this.#broken !== undefined) return this.#refuse()
    // A batch of its own, so that none of its entries rides in a batch with other writes that
    // could fail without it, and the EARLY_BATCH rule lets it go out within the tick.
    this.#open = undefined
    const item = this.#openBatch()
    this.#open = undefined
    const hashes = entries.length <= TRACKED_KEYS_MAX ? item.hashes : null
    item.hashes = hashes
    for (const [key, value] of entries) {
      const k = dbKey(key)
      item.batch.put(this.#copy ? copyBytes(k) : k, this.#copy ? copyBytes(value) : value)
      hashes?.add(hashKey(k))
    }
    item.writes = entries.length
    if (item.writes >= EARLY_BATCH) this.#dispatch(false)
    return item.done
  }

  /** Deletes `key`. Resolves when the delete is written. */
  del(key: Uint8Array): Promise<void> {
    if (this.#closed || this.#broken !== undefined) return this.#refuse()
    const k = this.#copy ? copyBytes(key) : key
    if (this.#isIdle()) return this.#single(k, this.#db.del(k, this.#writeOptions))
    const item = this.#openBatch()
    item.batch.del(k)
    return this.#join(item, k)
  }

  /** Runs `task` alone, after the writes issued before it and before those issued after it. */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    if (this.#closed || this.#broken !== undefined) return this.#refuse()
    return new Promise<T>((resolve, reject) => {
      this.#open = undefined
      this.#items.push({
        kind: 'task',
        run: () => task().then(resolve, (error: unknown) => reject(this.#failed(error, 'clear'))),
        reject,
      })
      this.#schedule()
    })
  }

  /** Resolves once every write and task queued so far has finished. */
  drain(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  /**
   * Refuses every write and task issued from now on, and resolves once those issued before are
   * done: the database may then be closed.
   */
  close(): Promise<void> {
    this.#closed = true
    return this.drain()
  }

  #refuse(): Promise<never> {
    if (!this.#closed) return Promise.reject(refusedWrite(this.#broken!, this.#db))
    return Promise.reject(
      new NotOpenError(
        "The bucket's database is closed (the bucket was deleted or the store closed): the write was not made.",
      ),
    )
  }

  /** A failed write's error, typed; an I/O error stops the queue. */
  #failed(error: unknown, operation: 'write' | 'clear' = 'write'): unknown {
    const mapped = runtimeError(error, this.#db, operation)
    if (mapped instanceof BackendUnavailableError) this.#broken ??= mapped.cause as Error
    return mapped
  }

  #isIdle(): boolean {
    return (
      this.#inFlight.length === 0 &&
      !this.#taskRunning &&
      !this.#scheduled &&
      this.#items.length === 0
    )
  }

  /** Tracks a write that went out alone (only one can be in flight: it goes out when idle). */
  #single(key: Uint8Array, write: Promise<void>): Promise<void> {
    this.#singleHash = hashKey(key)
    this.#inFlight.push(this.#singleHash)
    return write.then(this.#singleDone, this.#singleFailed)
  }

  #singleHash = 0
  readonly #singleDone = (): void => this.#finished(this.#singleHash, 1)
  readonly #singleFailed = (error: unknown): never => {
    const mapped = this.#failed(error)
    this.#finished(this.#singleHash, 1)
    throw mapped
  }

  #openBatch(): BatchItem {
    let item = this.#open
    if (item === undefined) {
      const { promise, resolve, reject } = Promise.withResolvers<void>()
      // A failed batch rejects every caller's await; none of them may count as unhandled here.
      promise.catch(() => {})
      item = {
        kind: 'batch',
        batch: this.#db.batch(),
        writes: 0,
        done: promise,
        resolve,
        reject,
        hashes: new Set(),
      }
      this.#items.push(item)
      this.#open = item
      this.#schedule()
    }
    return item
  }

  #join(item: BatchItem, key: Uint8Array): Promise<void> {
    // The open batch is always tracked: putMany's batch is never left open.
    item.hashes!.add(hashKey(key))
    if (++item.writes === EARLY_BATCH) this.#dispatch(false)
    return item.done
  }

  #schedule(): void {
    if (this.#scheduled) return
    this.#scheduled = true
    process.nextTick(this.#endOfTick)
  }

  readonly #endOfTick = (): void => {
    this.#scheduled = false
    this.#dispatch(true)
  }

  /**
   * Sends out what may go now, oldest first. `endOfTick`: the open batch is complete for this
   * tick; otherwise only a batch of {@link EARLY_BATCH} or more goes out alongside another.
   */
  #dispatch(endOfTick: boolean): void {
    while (this.#items.length > 0 && !this.#taskRunning) {
      const head = this.#items[0]!
      if (this.#inFlight.length > 0) {
        if (head.kind === 'task' || this.#inFlight.length >= MAX_IN_FLIGHT) break
        if (!endOfTick && head.writes < EARLY_BATCH) break
        if (this.#sharesKey(head.hashes)) break
      }
      this.#items.shift()
      if (head === this.#open) this.#open = undefined
      if (this.#broken !== undefined) this.#refuseItem(head)
      else if (head.kind === 'task') this.#runTask(head)
      else this.#write(head)
    }
    if (this.#isIdle()) this.#notifyIdle()
  }

  /** Refuses a batch or task not yet sent, once the queue is broken. */
  #refuseItem(item: Item): void {
    item.reject(refusedWrite(this.#broken!, this.#db))
    // The batch is never written: release its native memory now rather than at collection.
    if (item.kind === 'batch') item.batch.close().catch(() => {})
  }

  #sharesKey(hashes: Set<number> | null): boolean {
    if (hashes === null) return this.#inFlight.length > 0
    for (const flying of this.#inFlight) {
      if (flying === null) return true
      if (typeof flying === 'number') {
        if (hashes.has(flying)) return true
        continue
      }
      const [small, large] = flying.size < hashes.size ? [flying, hashes] : [hashes, flying]
      for (const hash of small) if (large.has(hash)) return true
    }
    return false
  }

  #write({ batch, writes, resolve, reject, hashes }: BatchItem): void {
    this.#inFlight.push(hashes)
    batch.write(this.#writeOptions).then(
      () => {
        resolve()
        this.#finished(hashes, writes)
      },
      (error: unknown) => {
        reject(this.#failed(error))
        this.#finished(hashes, writes)
      },
    )
  }

  #runTask(item: TaskItem): void {
    this.#taskRunning = true
    const done = () => {
      this.#taskRunning = false
      this.#finished(undefined, 0)
    }
    item.run().then(done, done)
  }

  /** After a write, batch or task: lets the next go, or with nothing queued, becomes idle. */
  #finished(flight: number | Set<number> | null | undefined, writers: number): void {
    if (flight !== undefined) this.#inFlight.splice(this.#inFlight.indexOf(flight), 1)
    // After a batch, stay in batching mode until the writers it released have queued again.
    if (writers > 1) this.#schedule()
    if (this.#items.length > 0) this.#dispatch(!this.#scheduled)
    else if (this.#isIdle()) this.#notifyIdle()
  }

  #notifyIdle(): void {
    if (this.#idle.length > 0) for (const resolve of this.#idle.splice(0)) resolve()
  }
}
