/**
 * Copying every entry from one store to another, and checking the result. The commands module
 * (commands/migrate.ts) wires these to the command line.
 *
 * @module
 */
import { bytesEqual, InvalidArgumentError, type KVStore } from '@kv/core'
import { countBucket } from './count.js'
import type { Interrupt } from './interrupt.js'
import type { Progress } from './progress.js'
import { WriteWindow } from './window.js'

/** A copy that failed on an entry, or on a batch of entries (`key` to `lastKey`). */
export class CopyFailure {
  /** Entries written to the target before the copy stopped (the writes in flight included). */
  copied = 0

  constructor(
    readonly bucket: string,
    readonly key: Uint8Array,
    readonly cause: unknown,
    readonly lastKey?: Uint8Array,
  ) {}
}

/** What {@link copyAll} did. */
export interface CopyResult {
  /** Entries written to the target. */
  copied: number
  /** Buckets visited. */
  buckets: number
  /** Whether it stopped early on an interrupt. */
  interrupted: boolean
}

/** How {@link copyAll} paces its work. */
export interface CopyOptions {
  /** Entries read and written together, with one `addValues` (1: one `addValue` per entry). */
  batch: number
  /** Batches (or, with `batch: 1`, entries) in flight at once. */
  concurrency: number
}

/**
 * Copies every entry of `source` to `target`, bucket by bucket in key order: keys are gathered
 * `batch` at a time, their values read together from the source and written with one
 * `addValues`, up to `concurrency` batches in flight — so the source's reads of one batch overlap
 * the target's write of the one before. Stops issuing on an interrupt or the first failure, and
 * waits for the batches in flight.
 */
export async function copyAll(
  source: KVStore,
  target: KVStore,
  { batch, concurrency }: CopyOptions,
  progress: Progress,
  interrupt: Interrupt,
): Promise<CopyResult> {
  const window = new WriteWindow(concurrency)
  let copied = 0
  let buckets = 0
  const copy = (bucket: string, keys: Uint8Array[]) =>
    window.add(
      async () => {
        const values = await Promise.all(keys.map((key) => source.getValue(bucket, key)))
        const pairs: [Uint8Array, Uint8Array][] = []
        // A key deleted from the source while we copy is not copied.
        for (let i = 0; i < keys.length; i++)
          if (values[i] !== null) pairs.push([keys[i]!, values[i]!])
        // A value the target cannot hold would fail the whole batch naming only its index in
        // it: name its key instead, and write nothing of the batch (as addValues would not).
        const limit = target.limits.maxValueBytes
        for (const [key, value] of pairs) {
          if (value.length > limit) {
            throw new CopyFailure(
              bucket,
              key,
              new InvalidArgumentError(
                'value',
                `its value is ${value.length} bytes, over the ${target.name} target's limit of ${limit} bytes`,
              ),
            )
          }
        }
        if (pairs.length === 1) await target.addValue(bucket, ...pairs[0]!)
        else if (pairs.length > 1) await target.addValues(bucket, pairs)
        copied += pairs.length
        progress.advance(keys.length)
      },
      (error) =>
        error instanceof CopyFailure
          ? error
          : new CopyFailure(bucket, keys[0]!, error, keys.length > 1 ? keys.at(-1) : undefined),
    )
  try {
    outer: for await (const bucket of source.buckets()) {
      buckets++
      let keys: Uint8Array[] = []
      for await (const key of source.keys(bucket)) {
        if (interrupt.requested) break outer
        keys.push(key)
        if (keys.length < batch) continue
        const full = copy(bucket, keys)
        keys = []
        if (full !== undefined) await full
      }
      if (keys.length > 0 && !interrupt.requested) {
        const full = copy(bucket, keys)
        if (full !== undefined) await full
      }
    }
    await window.drain()
  } catch (error) {
    await window.settle()
    if (error instanceof CopyFailure) error.copied = copied
    throw error
  }
  return { copied, buckets, interrupted: interrupt.requested }
}

/** One bucket as the verification found it. */
export interface BucketCheck {
  bucket: string
  /** Keys in the source. */
  source: number
  /** Keys the target lists (a listing may not show the latest writes yet: see `missing`). */
  target: number
  /**
   * Source keys missing from the target, each source key looked up in the target (reads are
   * realtime in every backend, listings not always): with value checks, or when the target
   * listed fewer keys than the source.
   */
  missing?: number
  /** With value checks: source keys whose value differs in the target. */
  different?: number
}

/** What {@link verify} found. */
export interface Verification {
  /** `counts`, or `values` when every value was compared too. */
  mode: 'counts' | 'values'
  /** True when every source entry is in the target (with the same value, for `values`). */
  ok: boolean
  /** Every bucket of the source. */
  buckets: BucketCheck[]
  /** Whether it stopped early on an interrupt. */
  interrupted: boolean
}

/**
 * Looks every source key of `bucket` up in the target: counts those missing and, with `values`,
 * those whose value differs (advancing `progress` per key). A key gone from the source
 * meanwhile is not counted.
 */
async function checkKeys(
  source: KVStore,
  target: KVStore,
  bucket: string,
  check: BucketCheck,
  values: boolean,
  concurrency: number,
  progress: Progress,
  interrupt: Interrupt,
): Promise<void> {
  const window = new WriteWindow(concurrency)
  check.missing = 0
  if (values) check.different = 0
  try {
    for await (const key of source.keys(bucket)) {
      if (interrupt.requested) break
      const full = window.add(async () => {
        if (!values) {
          const [inSource, inTarget] = await Promise.all([
            source.existsKey(bucket, key),
            target.existsKey(bucket, key),
          ])
          if (inSource && !inTarget) check.missing!++
          return
        }
        const [expected, actual] = await Promise.all([
          source.getValue(bucket, key),
          target.getValue(bucket, key),
        ])
        if (expected !== null && actual === null) check.missing!++
        else if (expected !== null && actual !== null && !bytesEqual(expected, actual))
          check.different!++
        progress.advance(1)
      })
      if (full !== undefined) await full
    }
    await window.drain()
  } catch (error) {
    await window.settle()
    throw error
  }
}

/**
 * Checks the target against the source, bucket by bucket: the key counts, and with `values`
 * every value. A target holding more keys than the source (keys it had before) is reported in
 * the counts but is not a failure; a missing key or a different value is. Only reads of single
 * keys decide that a key is missing: a listing may lag behind the writes (elastic's search with
 * `refresh_before_listing: false`), so when the target lists fewer keys than the source, every
 * source key is looked up in the target before any is called missing.
 */
export async function verify(
  source: KVStore,
  target: KVStore,
  values: boolean,
  concurrency: number,
  progress: Progress,
  interrupt: Interrupt,
): Promise<Verification> {
  const buckets: BucketCheck[] = []
  let ok = true
  for await (const bucket of source.buckets()) {
    if (interrupt.requested) break
    const stop = (): boolean => interrupt.requested
    // The two counts overlap: one store's I/O runs while the other's keys are counted.
    const [inSource, inTarget] = await Promise.all([
      countBucket(source, bucket, stop),
      countBucket(target, bucket, stop),
    ])
    const check: BucketCheck = { bucket, source: inSource, target: inTarget }
    if (values || check.target < check.source) {
      await checkKeys(source, target, bucket, check, values, concurrency, progress, interrupt)
    }
    if (!values) progress.advance(check.source)
    if ((check.missing ?? 0) > 0 || (check.different ?? 0) > 0) ok = false
    buckets.push(check)
  }
  return { mode: values ? 'values' : 'counts', ok, buckets, interrupted: interrupt.requested }
}
