/**
 * The `KVStore` interface (SPEC §3) and {@link AbstractKVStore}, the seam every backend builds on.
 *
 * The public methods live here, once: they validate and normalise their arguments, check that
 * the store is open, compress and decompress, track operations in flight so that `close()`
 * never cuts one off, and bound `keys()` by its limit. A backend implements only the small
 * protected surface (`_open`, `_close`, `_get`, `_put`, `_delete`, `_deleteBucket`, `_keys`,
 * `_buckets`, and optionally `_has` and `_putMany`), which receives arguments that are already
 * valid bytes.
 *
 * @module
 */
import { type BytesLike, copyBytes, latin1Id, writeAscii } from './bytes.js'
import type { ConfigSection } from './config/sections.js'
import { BackendDisabledError, isKVError, NotOpenError } from './errors.js'
import { compress, decompress } from './lz4/index.js'
import {
  checkBucket,
  checkEntries,
  checkEntrySizes,
  checkKey,
  checkKeysOptions,
  checkValue,
  checkValueSize,
  type Entry,
  type KeysOptions,
  keepPrefix,
  type NormalizedKeysOptions,
  shown,
  toBytes,
} from './validate.js'

/** Where a store is in its life. Operations are accepted only when it is `open`. */
export type StoreStatus = 'closed' | 'opening' | 'open' | 'closing'

/** The longest string key encoded into a reused buffer (longer ones are rare, and allocated). */
const KEY_BUFFER_MAX = 64

/** What a synchronous `undefined` result becomes: one shared promise instead of one per call. */
const SETTLED: Promise<undefined> = Promise.resolve(undefined)

/** A result that a backend may produce synchronously or asynchronously. */
export type MaybePromise<T> = T | Promise<T>

/** The limits a backend enforces beyond those every backend shares. */
export interface StoreLimits {
  /** The largest value, in bytes, that `addValue` accepts (`addValueCompress`: the raw and the compressed size). */
  readonly maxValueBytes: number
}

/** The API every backend offers (SPEC §3). Keys and values are bytes; strings are UTF-8. */
export interface KVStore {
  /** The name the backend registers under (`badger`, `simple_kv`, `elastic`, …). */
  readonly name: string
  /** Where the store is in its life. */
  readonly status: StoreStatus
  /** The backend's limits. */
  readonly limits: StoreLimits
  /**
   * `false` when the data does not outlive the process (an in-memory store): whatever is
   * written is gone when the process ends, or sooner. Absent or `true`: the store keeps its data
   * (where and how durably is the backend's to say). A store configured by its section knows it
   * for sure once open; before, it reports what its options or its section's defaults say (as
   * `limits` does). Tools that write for later (an import, a migration) check it to refuse a store
   * that would keep nothing.
   */
  readonly persistent?: boolean
  /** Opens the store. Idempotent; a closed store can be opened again. */
  open(): Promise<void>
  /** Closes the store after the operations in flight finish. Idempotent. */
  close(): Promise<void>
  /** The value under (`bucket`, `key`), or `null` when there is none. */
  getValue(bucket: string, key: BytesLike): Promise<Uint8Array | null>
  /** The value stored by `addValueCompress`, decompressed; `null` when there is none. */
  getCompressedValue(bucket: string, key: BytesLike): Promise<Uint8Array | null>
  /** Stores `value` LZ4-compressed in the Go framework's layout (SPEC §4). */
  addValueCompress(bucket: string, key: BytesLike, value: BytesLike): Promise<void>
  /** Stores `value`, replacing any value under the same key. */
  addValue(bucket: string, key: BytesLike, value: BytesLike): Promise<void>
  /**
   * Stores several entries of one bucket, given as `[key, value]` pairs (an array, a `Map`, a
   * generator). Every pair is checked before anything is written: one bad pair rejects the call,
   * naming it (`entries[3].key`), and nothing is stored. A key given twice gets its last value.
   * Each entry is then as durable as an `addValue`; whether a failure of the backend midway can
   * leave some entries written is the backend's to say (its README).
   */
  addValues(bucket: string, entries: Iterable<readonly [BytesLike, BytesLike]>): Promise<void>
  /** Whether (`bucket`, `key`) holds a value (an empty value counts). */
  existsKey(bucket: string, key: BytesLike): Promise<boolean>
  /** Removes the key; removing a missing key succeeds. */
  deleteKey(bucket: string, key: BytesLike): Promise<void>
  /** Removes every key of `bucket`; a missing bucket succeeds. */
  deleteBucket(bucket: string): Promise<void>
  /**
   * The keys of `bucket` in ascending byte order, optionally only those with a prefix, at most
   * `limit`. The arguments are checked at the first `next()`; a `Uint8Array` prefix is copied
   * when `keys()` is called, so the caller may reuse its buffer as soon as `keys()` returns.
   */
  keys(bucket: string, options?: KeysOptions): AsyncIterable<Uint8Array>
  /** The names of the buckets that hold at least one key, in ascending order of their UTF-8 bytes. */
  buckets(): AsyncIterable<string>
  /** False when the store's configuration says `enabled: false`. Reads the configuration. */
  isEnabled?(): boolean
}

/** What a backend passes to {@link AbstractKVStore}'s constructor. */
export interface StoreInit<Config> {
  /** The backend's configuration section; the store reads it at `open()` unless `options` are given. */
  section?: ConfigSection<Config> | undefined
  /** Options given in code (`new SimpleKV({ path })`): validated now, the config file is not read. */
  options?: unknown
  /**
   * The largest value in bytes: a number, or how the configuration sets it. A function is applied
   * to the configuration in force — the options when given, the section's defaults before the
   * first `open()` otherwise, and the section as read at each `open()` — so that `limits` and the
   * checks of every call always follow the configuration, computed in one place.
   */
  maxValueBytes: number | ((config: Config) => number)
}

/** Options that every backend's configuration has. */
export interface BaseConfig {
  enabled?: boolean
}

/**
 * The base class of every backend. See the module comment for the division of labour.
 *
 * Contract for the protected methods:
 * - Arguments are valid: `bucket` is a well-formed non-empty name of at most 255 UTF-8 bytes,
 *   `key` at most 64 KiB, `value` within {@link StoreLimits.maxValueBytes}.
 * - `key` and `value` may be the caller's buffers, or a key buffer this class reuses for its next
 *   call: both may change as soon as the method returns. Copy what you use after returning —
 *   after an `await` too (the conformance suite checks it).
 * - A returned value must be memory the caller may keep and modify.
 * - They are called only while the store is open; `_close` is called after every call in flight
 *   has settled.
 */
/**
 * Core-internal: the key of a store's getter saying whether a call may go straight to it (open,
 * with no lifecycle change requested and no call waiting behind one). Registered with
 * `Symbol.for`, so that every copy of @kv/core in the process (ESM and CommonJS) agrees on it.
 */
export const CALL_READY: unique symbol = Symbol.for('@kv/core:call-ready:v1') as never

/**
 * A listing answers this many steps in a row at most before it lets the event loop turn (a
 * `setImmediate`): about half a millisecond of listing from memory. The turns cost nothing
 * measurable: MemoryStore listed 300,000 keys at 2.07 M keys/s with them and 2.04 M without
 * (medians of 5 alternating runs).
 */
const STEPS_PER_TURN = 1024

export abstract class AbstractKVStore<Config extends BaseConfig = BaseConfig> implements KVStore {
  readonly name: string
  #status: StoreStatus = 'closed'
  /** How many times the store has opened: a listing started in one session ends in the next. */
  #sessions = 0
  #lifecycle: Promise<void> = Promise.resolve()
  /** Lifecycle changes requested and not yet settled (status changes only when they run). */
  #transitions = 0
  /** Which of `open()` and `close()` was requested last (a call's fate depends on it). */
  #lastRequested: 'open' | 'close' | undefined
  /** The open() attempt queued last, until it settles: a later open() joins it (see open()). */
  #pendingOpen: Promise<void> | undefined
  /** Calls waiting in {@link #whenOpen} for the lifecycle changes requested before them. */
  #queued = 0
  /**
   * Why the last `open()` failed, until an `open()` succeeds or a `close()` runs: the cause of the
   * `KV_NOT_OPEN` of calls made meanwhile (a call queued behind that open() among them).
   */
  #openFailure: unknown
  #pending = 0
  /** The backend promise {@link AbstractKVStore.#settle} counted last, while it is in flight. */
  #tracked: Promise<unknown> | undefined
  /** Reused key buffers, by length (see {@link AbstractKVStore.#key}). */
  readonly #keyBuffers: (Uint8Array | undefined)[] = []
  #onIdle: (() => void) | undefined
  readonly #section: ConfigSection<Config> | undefined
  readonly #explicit: Config | undefined
  #config: Config | undefined
  readonly #valueLimit: StoreInit<Config>['maxValueBytes']
  /**
   * The largest value this store accepts, from {@link StoreInit.maxValueBytes}; set whenever the
   * store is open. Before the first open() it is undefined only when it depends on a section
   * whose defaults alone do not parse (a key without a default): `limits` then reads the section.
   */
  #maxValueBytes: number | undefined

  protected constructor(name: string, init: StoreInit<Config>) {
    this.name = name
    this.#section = init.section
    this.#valueLimit = init.maxValueBytes
    if (init.options !== undefined && init.section !== undefined) {
      this.#explicit = init.section.parse(init.options, `the options of ${new.target.name}`)
    } else {
      this.#explicit = init.options as Config | undefined
    }
    // Options given here are the configuration in force, so `limits` reports their value limit
    // before open(); a store reading its section learns it at open(), and until then reports
    // the limit of the section's defaults.
    const section = init.section
    if (this.#explicit !== undefined || section === undefined) {
      this.#maxValueBytes = this.#valueLimitFor(() => this.#explicit ?? ({} as Config))
    } else {
      try {
        this.#maxValueBytes = this.#valueLimitFor(() => section.parse({}, 'the defaults'))
      } catch {
        // A key without a default: the section decides, when `limits` is read or at open().
      }
    }
  }

  /** The value limit under the configuration `config()` returns (called only when needed). */
  #valueLimitFor(config: () => Config): number {
    const limit = this.#valueLimit
    const bytes = typeof limit === 'number' ? limit : limit(config())
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      throw new TypeError(
        `The ${this.name} backend's maxValueBytes gave ${String(bytes)}, not a whole number of bytes: fix the backend's StoreInit.maxValueBytes.`,
      )
    }
    return bytes
  }

  get status(): StoreStatus {
    return this.#status
  }

  get limits(): StoreLimits {
    const maxValueBytes = this.#maxValueBytes ?? this.#valueLimitFor(() => this.#resolveConfig())
    return { maxValueBytes }
  }

  /** The configuration in force, resolved at `open()`. */
  protected get config(): Config {
    if (this.#config === undefined) this.#config = this.#resolveConfig()
    return this.#config
  }

  #resolveConfig(): Config {
    return this.#explicit ?? this.#section?.resolve() ?? ({} as Config)
  }

  isEnabled(): boolean {
    return this.#resolveConfig().enabled !== false
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  open(): Promise<void> {
    // Only a fast path when nothing is queued: a close() requested before must run first.
    if (this.#status === 'open' && this.#transitions === 0) return Promise.resolve()
    // An open() asked for while the last change asked for is an open() not yet settled joins
    // it: one attempt however many callers. Each queued its own before, so N concurrent first
    // uses of a store that cannot be reached made N attempts one after another, the last caller
    // waiting N connection timeouts.
    if (this.#lastRequested === 'open' && this.#pendingOpen !== undefined) return this.#pendingOpen
    this.#lastRequested = 'open'
    const attempt = this.#openAttempt()
    this.#pendingOpen = attempt
    const settled = () => {
      if (this.#pendingOpen === attempt) this.#pendingOpen = undefined
    }
    attempt.then(settled, settled)
    return attempt
  }

  /** Queues one attempt to open the store (see {@link open}). */
  #openAttempt(): Promise<void> {
    return this.#transition(() =>
      this.#openNow().then(
        () => {
          this.#openFailure = undefined
        },
        (error: unknown) => {
          this.#openFailure = error
          throw error
        },
      ),
    )
  }

  /** Opens the store unless it is open (one lifecycle change; see {@link open}). */
  async #openNow(): Promise<void> {
    if (this.#status === 'open') return
    const config = this.#resolveConfig()
    if (config.enabled === false) {
      throw new BackendDisabledError(
        `The ${this.name} backend is disabled by its configuration (${this.name}.enabled: false); set enabled: true to open it.`,
      )
    }
    this.#config = config
    this.#maxValueBytes = this.#valueLimitFor(() => config)
    this.#status = 'opening'
    try {
      await this._open()
      this.#sessions++
      this.#status = 'open'
    } catch (error) {
      this.#status = 'closed'
      throw error
    }
  }

  close(): Promise<void> {
    this.#lastRequested = 'close'
    return this.#transition(async () => {
      this.#openFailure = undefined
      if (this.#status !== 'open') return
      this.#status = 'closing'
      try {
        if (this.#pending > 0) await new Promise<void>((resolve) => (this.#onIdle = resolve))
        await this._close()
      } finally {
        this.#status = 'closed'
      }
    })
  }

  /**
   * Open, no `open()` or `close()` requested since, and no call still waiting behind one: a
   * call may go straight to the backend. Otherwise it waits its turn behind the requested changes
   * ({@link #whenOpen}), so that a call made after `close()` is refused even in the microtask
   * before the close begins, and one made once a reopen has resolved does not overtake a call
   * issued before it and still waiting (the caller resumes before such calls run).
   */
  get #ready(): boolean {
    return this.#status === 'open' && this.#transitions === 0 && this.#queued === 0
  }

  /**
   * {@link #ready} for the package-level functions (core-internal; a symbol shared by every copy
   * of @kv/core in the process): whether a call may go straight to this store, or must ask for
   * `open()` first.
   */
  get [CALL_READY](): boolean {
    return this.#ready
  }

  /** Runs lifecycle changes one after another, whatever the previous one's outcome. */
  #transition(change: () => Promise<void>): Promise<void> {
    this.#transitions++
    const next = this.#lifecycle.then(change, change).finally(() => this.#transitions--)
    this.#lifecycle = next.catch(() => {})
    return next
  }

  /**
   * Runs `call` once the `open()` or `close()` requested before this moment are done, if the
   * store is then open; otherwise rejects with `KV_NOT_OPEN`. The check and `call` run in one
   * microtask, queued on the lifecycle ahead of any `close()` requested later, so that such a
   * `close()` finds the operation in flight and waits for it.
   */
  #whenOpen<T>(call: () => Promise<T>): Promise<T> {
    // A close() is the last change requested: the store will be closed by the time this could
    // run, so fail now rather than once it is closed.
    if ((this.#transitions === 0 && this.#queued === 0) || this.#lastRequested === 'close') {
      return Promise.reject(this.#notOpen())
    }
    this.#queued++
    return this.#lifecycle.then(() => {
      this.#queued--
      // This call waited for an open(): if that failed, it is why, even with a close() asked
      // for since.
      if (this.#status !== 'open') throw this.#notOpen(true)
      return call()
    })
  }

  #closedDuringListing(): NotOpenError {
    return new NotOpenError(
      `The ${this.name} store was closed while this listing was paused; start a new listing.`,
    )
  }

  /** @param waitedForOpen the call waited for an open() in progress (see {@link #whenOpen}) */
  #notOpen(waitedForOpen = false): NotOpenError {
    const failure = this.#openFailure
    // A call made once close() is the last change asked for meets a store its caller closed: the
    // failed open() before it is no longer why the store is not open.
    if (
      failure !== undefined &&
      this.#status === 'closed' &&
      (waitedForOpen || this.#lastRequested !== 'close')
    ) {
      return new NotOpenError(
        `The ${this.name} store is not open: its open() failed (${describeFailure(failure)}). Fix what that error reports, then call open() again.`,
        { cause: failure },
      )
    }
    return new NotOpenError(
      `The ${this.name} store is ${this.#status === 'closing' ? 'closing' : 'not open'}: call open() before using it.`,
    )
  }

  #begin(): void {
    this.#pending++
  }

  #end(): void {
    if (--this.#pending === 0 && this.#onIdle !== undefined) {
      const resolve = this.#onIdle
      this.#onIdle = undefined
      resolve()
    }
  }

  // ---- operations --------------------------------------------------------------------------
  //
  // The public methods are plain functions returning promises rather than `async` functions:
  // when the backend answers synchronously (an in-memory index, LevelDB's getSync) the result is
  // wrapped once, and nothing is left in flight for close() to wait for. Every throw, from
  // validation or from the backend, becomes a rejection.
  //
  // A caller may reuse its buffers as soon as a method returns, and a string key is encoded into
  // a buffer of this store that the next call reuses (#key). So a call that must wait for an
  // open() in progress keeps copies (`copyBytes`) of the key and value it was given and waits in
  // operation() (#afterOpen); one that runs now hands them to the backend, which consumes them
  // before returning (the contract). A waiting call checks its value's size once open: a backend
  // may learn its limit from the configuration open() reads.

  getValue(bucket: string, key: BytesLike): Promise<Uint8Array | null> {
    try {
      const b = checkBucket(bucket)
      const k = this.#key(key)
      if (!this.#ready) return this.#afterOpen(k, (kept) => this._get(b, kept))
      return this.#settle(this._get(b, k))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  getCompressedValue(bucket: string, key: BytesLike): Promise<Uint8Array | null> {
    return this.getValue(bucket, key).then((stored) =>
      stored === null ? null : decompress(stored),
    )
  }

  addValue(bucket: string, key: BytesLike, value: BytesLike): Promise<void> {
    try {
      const b = checkBucket(bucket)
      const k = this.#key(key)
      if (!this.#ready) {
        const keptValue = copyBytes(toBytes(value, 'value'))
        return this.#afterOpen(k, (kept) => {
          checkValueSize(keptValue.length, this.#maxValueBytes!)
          return this._put(b, kept, keptValue)
        })
      }
      return this.#settle(this._put(b, k, checkValue(value, this.#maxValueBytes!)))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  addValues(bucket: string, entries: Iterable<readonly [BytesLike, BytesLike]>): Promise<void> {
    try {
      const b = checkBucket(bucket)
      if (!this.#ready) {
        const kept = checkEntries(entries, Number.POSITIVE_INFINITY).map(
          ([k, v]): Entry => [copyBytes(k), copyBytes(v)],
        )
        return this.operation(() => {
          checkEntrySizes(kept, this.#maxValueBytes!)
          return kept.length === 0 ? undefined : this._putMany(b, kept)
        })
      }
      const checked = checkEntries(entries, this.#maxValueBytes!)
      return this.operation(() => (checked.length === 0 ? undefined : this._putMany(b, checked)))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  addValueCompress(bucket: string, key: BytesLike, value: BytesLike): Promise<void> {
    try {
      const b = checkBucket(bucket)
      const k = this.#key(key)
      if (!this.#ready) {
        const raw = copyBytes(toBytes(value, 'value'))
        return this.#afterOpen(k, (kept) => this._put(b, kept, this.#compressWithinLimit(raw)))
      }
      return this.#settle(this._put(b, k, this.#compressWithinLimit(toBytes(value, 'value'))))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * The LZ4 encoding of `raw`, both within the value limit. The raw value is checked first, so an
   * oversized one fails before the work of compressing. The result is this call's own.
   */
  #compressWithinLimit(raw: Uint8Array): Uint8Array {
    checkValueSize(raw.length, this.#maxValueBytes!)
    const stored = compress(raw)
    checkValueSize(stored.length, this.#maxValueBytes!, 'value (compressed)')
    return stored
  }

  existsKey(bucket: string, key: BytesLike): Promise<boolean> {
    try {
      const b = checkBucket(bucket)
      const k = this.#key(key)
      if (!this.#ready) return this.#afterOpen(k, (kept) => this._has(b, kept))
      return this.#settle(this._has(b, k))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  deleteKey(bucket: string, key: BytesLike): Promise<void> {
    try {
      const b = checkBucket(bucket)
      const k = this.#key(key)
      if (!this.#ready) return this.#afterOpen(k, (kept) => this._delete(b, kept))
      return this.#settle(this._delete(b, k))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  deleteBucket(bucket: string): Promise<void> {
    try {
      const b = checkBucket(bucket)
      return this.operation(() => this._deleteBucket(b))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * Runs `work` as an operation of this store: it waits for an `open()` in progress, rejects
   * with `KV_NOT_OPEN` unless the store is open, and counts as in flight so that `close()` waits
   * for it. For a backend's own extra methods (`stats()`, maintenance).
   */
  protected operation<T>(work: () => MaybePromise<T>): Promise<T> {
    try {
      if (!this.#ready) return this.#whenOpen(() => this.#settle(work()))
      return this.#settle(work())
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * A call made while `open()` is in progress: it waits in {@link operation} with a copy of its
   * key, since the caller may reuse its buffer, and this store its key buffer, before then.
   */
  #afterOpen<T>(key: Uint8Array, call: (kept: Uint8Array) => MaybePromise<T>): Promise<T> {
    const kept = copyBytes(key)
    return this.operation(() => call(kept))
  }

  /**
   * A key's bytes, checked. A string of up to {@link KEY_BUFFER_MAX} ASCII characters is written
   * into this store's buffer for that length, which the next such call overwrites: the caller
   * hands it to the backend at once, and the backend consumes it before returning. A fresh array
   * per call cost 13–15 % of a simple_kv write with 64 concurrent writers (measured in one
   * process, alternating). The buffers are per store: a backend whose methods call another
   * store's cannot have its key overwritten by that call.
   */
  #key(key: unknown): Uint8Array {
    if (typeof key === 'string' && key.length <= KEY_BUFFER_MAX) {
      const length = key.length
      const buffer = (this.#keyBuffers[length] ??= new Uint8Array(length))
      if (writeAscii(key, buffer)) return buffer
    }
    return checkKey(key)
  }

  /**
   * A promise of the backend's result; an asynchronous one counts as in flight until it settles.
   *
   * Backends that group writes hand every caller of a batch the same promise; it is counted once,
   * by a reaction of its own registered before any caller's. Each caller gets a promise of its
   * own that follows the backend's (`then()` with no handlers), created in call order: so the
   * callers of one batch resume in the order of their calls, and a failed write whose promise
   * its caller ignores is still reported as an unhandled rejection — the counting reaction marks
   * only the backend's promise as handled. Returning the backend's promise itself saved about
   * 0.1 µs a write (64 concurrent simple_kv writers, 1.74 against 1.83 µs of CPU, alternating
   * builds) and swallowed those failures.
   */
  #settle<T>(result: MaybePromise<T>): Promise<T> {
    if (!(result instanceof Promise)) {
      return result === undefined ? (SETTLED as Promise<T>) : Promise.resolve(result)
    }
    if (result !== this.#tracked) {
      this.#tracked = result
      this.#begin()
      const untrack = () => this.#untrack(result)
      result.then(untrack, untrack)
    }
    return result.then()
  }

  /** Ends the count of a settled backend promise, and forgets it if it was the last tracked. */
  #untrack(result: Promise<unknown>): void {
    if (this.#tracked === result) this.#tracked = undefined
    this.#end()
  }

  keys(bucket: string, options?: KeysOptions): AsyncIterable<Uint8Array> {
    const kept = keepPrefix(options)
    return this.#iterable(() => {
      const b = checkBucket(bucket)
      const o = checkKeysOptions(kept)
      return { source: o.limit === 0 ? [] : this._keys(b, o), limit: o.limit }
    })
  }

  buckets(): AsyncIterable<string> {
    return this.#iterable(() => ({ source: this._buckets(), limit: Number.POSITIVE_INFINITY }))
  }

  /**
   * Wraps a backend's iterable: arguments are checked on the first `next()`, every `next()`
   * checks that the store is open and counts as an operation in flight, and the limit is
   * enforced here. An abandoned iterator does not keep `close()` waiting. A step of a
   * synchronous backend iterator is answered without an extra promise hop (a listing of a
   * million keys makes a million steps).
   */
  #iterable<T>(
    start: () => { source: AsyncIterable<T> | Iterable<T>; limit: number },
  ): AsyncIterable<T> {
    return {
      [Symbol.asyncIterator]: () => {
        let inner: AsyncIterator<T> | Iterator<T> | undefined
        let remaining = Number.POSITIVE_INFINITY
        let finished = false
        const done = (): IteratorResult<T> => ({ done: true, value: undefined })
        const finish = async (): Promise<IteratorResult<T>> => {
          if (!finished) {
            finished = true
            await inner?.return?.()
          }
          return done()
        }
        /** Steps answered so far: every {@link STEPS_PER_TURN}th waits for the next turn. */
        let steps = 0
        /** What one result of the backend's iterator becomes. */
        const yielded = (result: IteratorResult<T>): IteratorResult<T> => {
          if (result.done) {
            finished = true
            return done()
          }
          return result
        }
        /** The promise of the last step asked for (or of `return()`): the end settles after it. */
        let lastStep: Promise<IteratorResult<T>> | undefined
        /** A step answered after a turn, until it is answered: the steps after it wait for it. */
        let waiting: Promise<IteratorResult<T>> | undefined
        /**
         * Answers a step and ends its count as in flight: at once, or after a turn of the event
         * loop every {@link STEPS_PER_TURN} steps. A backend that lists from memory answers each
         * step at once, so a `for await` over its keys runs as one chain of microtasks: a million
         * keys kept timers, I/O and every other request of the process waiting for one to two
         * seconds (measured on simple_kv and on badger's memory_mode). A step waiting for its
         * turn still counts as in flight (close() waits for it), and the steps asked for after it
         * settle after it, in the order they were asked for, whatever they settle with (a key, the
         * end, the limit, an error, `return()`): see also `next()`, `failed` and `return()`.
         * Only while such a step waits: ordering every step would cost a promise reaction per key
         * (a fifth of MemoryStore's listing rate, measured).
         */
        const answer = (
          result: IteratorResult<T>,
        ): IteratorResult<T> | Promise<IteratorResult<T>> => {
          if (++steps % STEPS_PER_TURN === 0 && !result.done) {
            const turn = new Promise<IteratorResult<T>>((resolve) =>
              setImmediate(() => {
                this.#end()
                resolve(result)
              }),
            )
            waiting = turn
            void turn.then(() => {
              if (waiting === turn) waiting = undefined
            })
            return turn
          }
          this.#end()
          return waiting === undefined ? result : waiting.then(() => result)
        }
        const failed = (error: unknown): Promise<never> => {
          finished = true
          // After a step waiting for its turn, as a result would (see answer).
          return waiting === undefined
            ? Promise.reject(error)
            : waiting.then(() => Promise.reject(error))
        }
        /** A result of the backend's iterator, yielded and answered (see {@link answer}). */
        const answered = (
          result: IteratorResult<T>,
        ): IteratorResult<T> | Promise<IteratorResult<T>> => {
          let value: IteratorResult<T>
          try {
            value = yielded(result)
          } catch (error) {
            this.#end()
            return failed(error)
          }
          return answer(value)
        }
        /** The session the listing started in (see {@link #sessions}). */
        let session = 0
        /** One step, counted as in flight until it settles. */
        const step = (): Promise<IteratorResult<T>> => {
          // return() was called while this step waited for open(): the listing is over.
          if (finished) return Promise.resolve(done())
          if (inner !== undefined && session !== this.#sessions) {
            // Closed and opened again since the last step: the backend's iterator belongs to
            // the closed session (its engine, its client); it is ended, not continued. A listing
            // that had reached its limit is over all the same, as while the store is closed (see
            // next()); whatever the old iterator answers to its end is moot.
            if (remaining <= 0) return finish().catch(done)
            const closed = this.#closedDuringListing()
            return finish().then(
              () => failed(closed),
              () => failed(closed),
            )
          }
          this.#begin()
          let result: IteratorResult<T> | Promise<IteratorResult<T>>
          try {
            if (inner === undefined) {
              const { source, limit } = start()
              remaining = limit
              session = this.#sessions
              inner =
                Symbol.asyncIterator in source
                  ? source[Symbol.asyncIterator]()
                  : (source as Iterable<T>)[Symbol.iterator]()
            }
            if (remaining <= 0) return finish().finally(() => this.#end())
            // Counted as the step starts, not as its key arrives: steps asked for together on an
            // asynchronous backend must not together pass the limit.
            remaining--
            result = inner.next()
          } catch (error) {
            this.#end()
            return failed(error)
          }
          if (!(result instanceof Promise)) return Promise.resolve(answered(result))
          return result.then(
            (settled) => answered(settled),
            (error: unknown) => {
              this.#end()
              return failed(error)
            },
          )
        }
        return {
          next: (): Promise<IteratorResult<T>> => {
            // A step asked for while one waits for its turn settles after it, whatever it
            // settles with: the end of the listing, the limit reached, an error. Once the
            // listing is over, the end settles after the last step asked for, which may still be
            // on its way from an asynchronous backend.
            const before = waiting
            let result: Promise<IteratorResult<T>>
            if (finished) {
              result = lastStep === undefined ? Promise.resolve(done()) : lastStep.then(done, done)
            } else if (inner !== undefined && remaining <= 0 && !this.#ready) {
              // The limit is reached but the store is not ready (a close() came after the last
              // key): the listing is over all the same, not refused. Its backend iterator is
              // ended: counted as in flight from now if the store is still open, so that a
              // close() requested already waits for it; once closed, whatever it answers is moot.
              const counted = this.#status === 'open'
              if (counted) this.#begin()
              const end = (): Promise<IteratorResult<T>> =>
                counted ? finish().finally(() => this.#end()) : finish().catch(done)
              result = lastStep === undefined ? end() : lastStep.then(end, end)
            } else {
              result = this.#ready ? step() : this.#whenOpen(step)
              if (before !== undefined) {
                result.catch(() => {}) // handled by the caller, once its turn comes
                const own = result
                result = before.then(() => own)
              }
            }
            lastStep = result
            return result
          },
          return: (): Promise<IteratorResult<T>> => {
            // Ends the listing at once (a step asked for after it is done), and settles after
            // the last step asked for before it.
            const previous = lastStep
            const result = finish()
            lastStep =
              previous === undefined
                ? result
                : previous.then(
                    () => result,
                    () => result,
                  )
            return lastStep
          },
        }
      },
    }
  }

  // ---- the backend's surface ---------------------------------------------------------------

  /** Opens the engine. The configuration is available as `this.config`. */
  protected abstract _open(): Promise<void>
  /** Closes the engine, making everything acknowledged so far durable as configured. */
  protected abstract _close(): Promise<void>
  /** The stored bytes, or `null`. */
  protected abstract _get(bucket: string, key: Uint8Array): MaybePromise<Uint8Array | null>
  /** Stores `value`, replacing any previous one. Resolves once the write is as durable as configured. */
  protected abstract _put(bucket: string, key: Uint8Array, value: Uint8Array): MaybePromise<void>
  /** Removes the key; a missing key is not an error. */
  protected abstract _delete(bucket: string, key: Uint8Array): MaybePromise<void>
  /** Removes every key of the bucket; a missing bucket is not an error. */
  protected abstract _deleteBucket(bucket: string): MaybePromise<void>
  /** The bucket's keys with `options.prefix`, ascending; may ignore `options.limit` (core enforces it). */
  protected abstract _keys(
    bucket: string,
    options: NormalizedKeysOptions,
  ): AsyncIterable<Uint8Array> | Iterable<Uint8Array>
  /** Non-empty buckets, in ascending order of their UTF-8 bytes. */
  protected abstract _buckets(): AsyncIterable<string> | Iterable<string>

  /**
   * Stores checked entries (at least one), in order: where a key appears twice the later value
   * wins. Resolves once every entry is as durable as a `_put`. Override to write them as one
   * batch; this default issues one `_put` per distinct key, all at once — keeping only each key's
   * last value, since concurrent writes of one key may land in any order.
   */
  protected _putMany(bucket: string, entries: readonly Entry[]): MaybePromise<void> {
    const last = new Map<string, Entry>()
    for (const entry of entries) {
      const id = latin1Id(entry[0])
      last.delete(id)
      last.set(id, entry)
    }
    const pending: Promise<void>[] = []
    for (const [key, value] of last.values()) {
      const result = this._put(bucket, key, value)
      if (result instanceof Promise) pending.push(result)
    }
    if (pending.length === 0) return undefined
    // Wait for every write, not only up to the first failure: close() must not cut one off.
    return Promise.allSettled(pending).then((outcomes) => {
      for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason
    })
  }

  /** Whether the key exists. Override when the engine can tell without reading the value. */
  protected _has(bucket: string, key: Uint8Array): MaybePromise<boolean> {
    const value = this._get(bucket, key)
    return value instanceof Promise ? value.then((found) => found !== null) : value !== null
  }
}

/** How a failed `open()` is named in the `KV_NOT_OPEN` of the calls that waited for it. */
function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return typeof error === 'string' ? error : shown(error)
  return isKVError(error) ? `${error.code}: ${error.message}` : error.message
}
