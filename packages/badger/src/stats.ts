/**
 * `stats()`: per-bucket key counts and sizes, and the keys with the largest values (what the Go
 * framework serves as `/badger/stats`; `kv stats` prints it).
 *
 * @module
 */
import { InvalidArgumentError, shown } from '@kv/core'
import { type LevelDb, runtimeError } from './engine.js'

/** One bucket's figures. */
export interface BucketStats {
  /** The bucket's name. */
  bucket: string
  /** How many keys it holds. */
  keys: number
  /** Sum of its keys' lengths in bytes. */
  keyBytes: number
  /** Sum of its values' lengths in bytes (as stored: LZ4 bytes for compressed entries). */
  valueBytes: number
  /**
   * LevelDB's estimate of the file space the bucket's range takes (after Snappy, excluding what
   * is still only in the write-ahead log); `undefined` in memory mode. In single-bucket mode a
   * bucket storing less than 256 KiB gets its share, by bytes stored, of the estimate of the run
   * of small buckets around it (LevelDB cannot estimate far below its 4 KiB blocks).
   */
  approximateDiskBytes: number | undefined
}

/** One of the largest values. */
export interface TopKey {
  bucket: string
  key: Uint8Array
  /** Length of the stored value in bytes. */
  valueBytes: number
}

/** What {@link BadgerKV.stats} returns. */
export interface BadgerStats {
  /** `single` (one LevelDB), `per-bucket` (one LevelDB per bucket) or `memory` (memory-level). */
  mode: 'single' | 'per-bucket' | 'memory'
  /** The database directory; `undefined` in memory mode. */
  path: string | undefined
  /** Non-empty buckets in ascending order of their UTF-8 bytes. */
  buckets: BucketStats[]
  /** The keys with the largest values, largest first. */
  topKeys: TopKey[]
  /** Totals over every bucket. */
  totalKeys: number
  totalBytes: number
}

/** Options of {@link BadgerKV.stats}. */
export interface StatsOptions {
  /** How many of the largest values to list: a non-negative integer (default 10). */
  top?: number | undefined
}

/**
 * The keys of {@link StatsOptions}. Checked at run time as well: a caller in JavaScript (or with a
 * cast) gets no compile error for `{ tpo: 1 }`, and a typo silently ignored would list the default
 * 10 keys as though they had been asked for.
 */
const STATS_OPTIONS: readonly (keyof StatsOptions)[] = ['top']

/**
 * Checks the options of `stats()` and returns `top`. Throws `KV_INVALID_ARGUMENT` for options
 * that are not an object (`null` and arrays included), a key that is not an option (naming it and
 * listing the options), or a `top` that is not a non-negative integer (`undefined` is the default,
 * 10).
 */
export function checkStatsOptions(options: unknown): number {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError(
      'options',
      `options of stats() must be an object such as { top: 10 }, got ${shown(options)}`,
    )
  }
  for (const name of Object.keys(options)) {
    if (!(STATS_OPTIONS as readonly string[]).includes(name)) {
      throw new InvalidArgumentError(
        'options',
        `options.${name} is not an option of stats(); its options are: ${STATS_OPTIONS.join(', ')}. Remove it or correct its name.`,
      )
    }
  }
  const { top = 10 } = options as StatsOptions
  if (typeof top !== 'number' || !Number.isInteger(top) || top < 0) {
    throw new InvalidArgumentError(
      'options.top',
      `options.top of stats() must be a non-negative integer (how many of the largest values to list; default 10), got ${shown(top)}`,
    )
  }
  return top
}

/** Keeps the `size` largest entries seen (ties: the first seen stays). */
export class TopKeys {
  readonly #size: number
  readonly #items: TopKey[] = []

  constructor(size: number) {
    this.#size = size
  }

  /** How many entries it keeps. */
  get size(): number {
    return this.#size
  }

  /** The smallest value size that would still enter the list. */
  get threshold(): number {
    if (this.#size === 0) return Number.POSITIVE_INFINITY
    return this.#items.length < this.#size ? 0 : this.#items[this.#items.length - 1]!.valueBytes + 1
  }

  offer(bucket: string, key: Uint8Array, valueBytes: number): void {
    if (this.#size === 0 || valueBytes < this.threshold) return
    const items = this.#items
    let i = items.length
    while (i > 0 && items[i - 1]!.valueBytes < valueBytes) i--
    items.splice(i, 0, { bucket, key: new Uint8Array(key), valueBytes })
    if (items.length > this.#size) items.pop()
  }

  list(): TopKey[] {
    return [...this.#items]
  }
}

/** Entries read per round trip by {@link eachEntry}. */
const PAGE = 512

/**
 * Calls `visit` with every entry of `range` (the whole database when empty), in key order, with
 * one iterator that does not fill LevelDB's cache and reads a page of entries per round trip; a
 * read error is typed with {@link runtimeError}. The iterator is closed also when `visit` throws.
 */
export async function eachEntry(
  db: LevelDb,
  range: { gte?: Uint8Array; lt?: Uint8Array },
  visit: (key: Uint8Array, value: Uint8Array) => void,
): Promise<void> {
  const iterator = db.iterator({ ...range, fillCache: false })
  try {
    for (;;) {
      // nextv may return fewer than asked before the end; only an empty page is the end.
      const entries = await iterator.nextv(PAGE).then(undefined, (error: unknown) => {
        throw runtimeError(error, db, 'read')
      })
      if (entries.length === 0) return
      for (const [key, value] of entries) visit(key, value)
    }
  } finally {
    await iterator.close()
  }
}

/**
 * Reads every entry of `[gte, lt)` once (without filling LevelDB's cache) and counts it; keys are
 * reported without their first `strip` bytes (the bucket prefix).
 */
export async function scanRange(
  db: LevelDb,
  range: { gte: Uint8Array; lt?: Uint8Array | undefined },
  strip: number,
  bucket: string,
  top: TopKeys,
): Promise<Omit<BucketStats, 'bucket' | 'approximateDiskBytes'>> {
  const options = range.lt === undefined ? { gte: range.gte } : { gte: range.gte, lt: range.lt }
  let keys = 0
  let keyBytes = 0
  let valueBytes = 0
  await eachEntry(db, options, (key, value) => {
    keys++
    keyBytes += key.length - strip
    valueBytes += value.length
    if (value.length >= top.threshold) top.offer(bucket, key.subarray(strip), value.length)
  })
  return { keys, keyBytes, valueBytes }
}
