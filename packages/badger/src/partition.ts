/**
 * One bucket's keys inside one database: the whole database in per-bucket mode, or the range of
 * the bucket's composite keys (`encodeKey` from @kv/core) in single-bucket and memory mode.
 *
 * Reads map LevelDB's errors with {@link runtimeError} here, writes in the {@link WriteQueue}: an
 * I/O error becomes `KV_BACKEND_UNAVAILABLE`, corruption `KV_CORRUPT_STORE`. The handlers cost
 * nothing until a read fails (a rejection handler, a `catch` around a synchronous call).
 *
 * @module
 */
import {
  copyBytes,
  type Entry,
  encodeKey,
  keyRange,
  type MaybePromise,
  prefixSuccessor,
} from '@kv/core'
import { type LevelDb, runtimeError } from './engine.js'
import type { WriteQueue } from './write-queue.js'

/**
 * `keys()` reads LevelDB a page at a time, each page with an iterator of its own (so an abandoned
 * listing holds none open). The first page is small, so a listing that wants a few keys reads
 * few; each next one is twice as large, up to {@link MAX_KEYS_PAGE}, since every page costs an
 * iterator and a seek (measured on 1,000,000 keys: pages of 256 took 5.1 s, of 4096 3.7 s, one
 * iterator read 1,000 at a time 3.5 s). Single-bucket mode's `buckets()` reads pages of buckets
 * of the same sizes.
 */
export const FIRST_KEYS_PAGE = 64
export const MAX_KEYS_PAGE = 4096

/** What a partition shares with the others of its database. */
export interface PartitionContext {
  db: LevelDb
  queue: WriteQueue
  /** memory-level: reads return the stored buffers themselves, so copy them out. */
  inMemory: boolean
  /** Read with `db.getSync()` instead of the thread pool (the `sync_reads` option). */
  syncReads: boolean
}

/**
 * One buffer reused for composite keys that are consumed during the call: `getSync` reads the
 * key synchronously, and so do the writes of {@link WriteQueue} (classic-level copies key and
 * value into its native request or batch before returning; memory mode copies in the queue). So
 * the composite key need not be a fresh allocation each time. The write-queue tests check that
 * nothing keeps a key past the call.
 */
let scratch = new Uint8Array(1024)

function scratchKey(prefix: Uint8Array, key: Uint8Array): Uint8Array {
  const length = prefix.length + key.length
  if (length > scratch.length) scratch = new Uint8Array(Math.max(length, scratch.length * 2))
  scratch.set(prefix, 0)
  scratch.set(key, prefix.length)
  return scratch.subarray(0, length)
}

/**
 * A returned buffer as a plain `Uint8Array` the caller owns. classic-level hands out one
 * standalone Buffer per value or key, so a view suffices; should a buffer ever share its memory,
 * it is copied.
 */
function own(bytes: Uint8Array, start = 0): Uint8Array {
  if (bytes.byteOffset !== 0 || bytes.buffer.byteLength !== bytes.byteLength)
    return copyBytes(bytes.subarray(start))
  return new Uint8Array(bytes.buffer, start, bytes.byteLength - start)
}

/** One bucket's key range. */
export class Partition {
  readonly #ctx: PartitionContext
  /** The bucket's encoded prefix; empty when the partition is a whole database. */
  readonly prefix: Uint8Array
  /** Bounds of the partition (`lt` undefined: to the end of the database). */
  readonly gte: Uint8Array
  readonly lt: Uint8Array | undefined

  constructor(ctx: PartitionContext, bucket: string | undefined) {
    this.#ctx = ctx
    if (bucket === undefined) {
      this.prefix = new Uint8Array(0)
      this.gte = this.prefix
      this.lt = undefined
    } else {
      const { gte, lt } = keyRange(bucket)
      this.prefix = gte
      this.gte = gte
      this.lt = lt
    }
  }

  /** The database key of `key`: a fresh buffer (the caller's may change after we return). */
  #dbKey(key: Uint8Array): Uint8Array {
    return this.prefix.length > 0 ? encodeKey(this.prefix, key) : copyBytes(key)
  }

  /** The value copied into memory the caller owns, or `null`. */
  #out(value: Uint8Array | undefined): Uint8Array | null {
    if (value === undefined) return null
    return this.#ctx.inMemory ? copyBytes(value) : own(value)
  }

  readonly #outValue = (value: Uint8Array | undefined): Uint8Array | null => this.#out(value)
  readonly #readFailed = (error: unknown): never => {
    throw runtimeError(error, this.#ctx.db, 'read')
  }

  get(key: Uint8Array): MaybePromise<Uint8Array | null> {
    const { db, syncReads } = this.#ctx
    if (syncReads) {
      // getSync reads the key during the call: no copy of a per-bucket key, no fresh composite key.
      try {
        return this.#out(db.getSync(this.prefix.length > 0 ? scratchKey(this.prefix, key) : key))
      } catch (error) {
        return this.#readFailed(error)
      }
    }
    return db.get(this.#dbKey(key)).then(this.#outValue, this.#readFailed)
  }

  has(key: Uint8Array): MaybePromise<boolean> {
    const { db, syncReads } = this.#ctx
    if (syncReads) {
      try {
        return db.getSync(this.prefix.length > 0 ? scratchKey(this.prefix, key) : key) !== undefined
      } catch (error) {
        return this.#readFailed(error)
      }
    }
    return db.has(this.#dbKey(key)).then(undefined, this.#readFailed)
  }

  put(key: Uint8Array, value: Uint8Array): Promise<void> {
    return this.#ctx.queue.put(this.prefix.length > 0 ? scratchKey(this.prefix, key) : key, value)
  }

  /** Stores the entries as one LevelDB batch. */
  putMany(entries: readonly Entry[]): Promise<void> {
    const prefix = this.prefix
    return this.#ctx.queue.putMany(
      entries,
      prefix.length > 0 ? (key) => scratchKey(prefix, key) : (key) => key,
    )
  }

  del(key: Uint8Array): Promise<void> {
    return this.#ctx.queue.del(this.prefix.length > 0 ? scratchKey(this.prefix, key) : key)
  }

  /**
   * Deletes every key of the partition, in order with the writes around it. `before` runs first
   * in the same exclusive slot (after every earlier write is in the memtable).
   */
  clear(before?: () => Promise<void>): Promise<void> {
    const { db, queue } = this.#ctx
    const range = this.lt === undefined ? { gte: this.gte } : { gte: this.gte, lt: this.lt }
    return queue.exclusive(async () => {
      await before?.()
      await db.clear(range)
    })
  }

  /** Whether the partition holds no key. */
  async isEmpty(): Promise<boolean> {
    const page = await readKeys(this.#ctx.db, { ...bounds(this.gte, true, this.lt), limit: 1 })
    return page.length === 0
  }

  /**
   * The keys that start with `keyPrefix`, ascending, read a page at a time; `limit` (a hint: the
   * caller stops there) keeps the first page no larger than needed.
   */
  keys(keyPrefix: Uint8Array | undefined, limit: number): AsyncIterableIterator<Uint8Array> {
    const { db, inMemory } = this.#ctx
    const from = keyPrefix && keyPrefix.length > 0 ? encodeKey(this.prefix, keyPrefix) : this.gte
    const end = keyPrefix && keyPrefix.length > 0 ? prefixSuccessor(from) : this.lt
    return new KeyPages(db, from, end, this.prefix.length, inMemory, limit)
  }
}

type Bounds = { gte?: Uint8Array; gt?: Uint8Array; lt?: Uint8Array }

/** The keys of a range (at most `limit`), LevelDB's errors mapped with {@link runtimeError}. */
export function readKeys(db: LevelDb, range: Bounds & { limit: number }): Promise<Uint8Array[]> {
  return db
    .keys(range)
    .all()
    .then(undefined, (error: unknown) => {
      throw runtimeError(error, db, 'read')
    })
}

/** LevelDB range options from `from` (included or not) up to `end` (excluded; none: no bound). */
function bounds(from: Uint8Array, inclusive: boolean, end: Uint8Array | undefined): Bounds {
  const lower = inclusive ? { gte: from } : { gt: from }
  return end === undefined ? lower : { ...lower, lt: end }
}

/**
 * The keys of a range, served from pages read with one LevelDB iterator each. A hand-written
 * iterator rather than an async generator: a key already read is handed out without a promise
 * of the generator's own, which a listing of a million keys notices.
 */
class KeyPages implements AsyncIterableIterator<Uint8Array> {
  readonly #db: LevelDb
  readonly #end: Uint8Array | undefined
  readonly #strip: number
  readonly #inMemory: boolean
  #range: Bounds
  #size: number
  #page: Uint8Array[] = []
  #at = 0
  /** True once a page came back short (the range is exhausted) or the listing was abandoned. */
  #last = false

  constructor(
    db: LevelDb,
    from: Uint8Array,
    end: Uint8Array | undefined,
    strip: number,
    inMemory: boolean,
    limit: number,
  ) {
    this.#db = db
    this.#range = bounds(from, true, end)
    this.#end = end
    this.#strip = strip
    this.#inMemory = inMemory
    this.#size = Math.max(1, Math.min(FIRST_KEYS_PAGE, limit))
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Uint8Array> {
    return this
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    if (this.#at < this.#page.length) {
      const key = this.#page[this.#at++]!
      return Promise.resolve({
        done: false,
        value: this.#inMemory ? copyBytes(key.subarray(this.#strip)) : own(key, this.#strip),
      })
    }
    if (this.#last) return Promise.resolve({ done: true, value: undefined })
    return this.#read().then(() => this.next())
  }

  return(): Promise<IteratorResult<Uint8Array>> {
    this.#last = true
    this.#page = []
    return Promise.resolve({ done: true, value: undefined })
  }

  async #read(): Promise<void> {
    const size = this.#size
    const page = await readKeys(this.#db, { ...this.#range, limit: size })
    this.#page = page
    this.#at = 0
    if (page.length < size) {
      this.#last = true
      return
    }
    // The bound is a copy: next() hands the last key's own memory to the caller, who may write
    // over it before the next page is read.
    this.#range = bounds(copyBytes(page[page.length - 1]!), false, this.#end)
    this.#size = Math.min(size * 2, MAX_KEYS_PAGE)
  }
}
