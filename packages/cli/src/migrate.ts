/**
 * Copying every entry from one store to another, and checking the result. The commands module
 * (commands/migrate.ts) wires these to the command line.
 *
 * @module
 */
import { bytesEqual, type KVStore } from '@kv/core'
import { countBucket } from './count.js'
import type { Interrupt } from './interrupt.js'
import type { Progress } from './progress.js'
import { WriteWindow } from './window.js'

/** A copy that failed on an entry, or on a batch of entries (`key` to `lastKey`). */
export class CopyFailure {
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
        if (pairs.length === 1) await target.addValue(bucket, ...pairs[0]!)
        else if (pairs.length > 1) await target.addValues(bucket, pairs)
        copied += pairs.length
        progress.advance(keys.length)
      },
      (error) =>
        new CopyFailure(bucket, keys[0]!, error, keys.length > 1 ? keys.at(-1) : undefined),
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
    throw error
  }
  return { copied, buckets, interrupted: interrupt.requested }
}

/** One bucket as the verification found it. */
export interface BucketCheck {
  bucket: string
  /** Keys in the source. */
  source: number
  /** Keys in the target. */
  target: number
  /** With value checks: source keys missing from the target. */
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

async function compareValues(
  source: KVStore,
  target: KVStore,
  bucket: string,
  check: BucketCheck,
  concurrency: number,
  progress: Progress,
  interrupt: Interrupt,
): Promise<void> {
  const window = new WriteWindow(concurrency)
  check.missing = 0
  check.different = 0
  try {
    for await (const key of source.keys(bucket)) {
      if (interrupt.requested) break
      const full = window.add(async () => {
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
 * the counts but is not a failure; fewer keys, a missing key or a different value is.
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
    if (!values) progress.advance(check.source)
    else await compareValues(source, target, bucket, check, concurrency, progress, interrupt)
    if (check.target < check.source || (check.missing ?? 0) > 0 || (check.different ?? 0) > 0)
      ok = false
    buckets.push(check)
  }
  return { mode: values ? 'values' : 'counts', ok, buckets, interrupted: interrupt.requested }
}
