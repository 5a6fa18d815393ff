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

/** A copy that failed on one entry. */
export class CopyFailure {
  constructor(
    readonly bucket: string,
    readonly key: Uint8Array,
    readonly cause: unknown,
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

/**
 * Copies every entry of `source` to `target`, bucket by bucket in key order, with up to
 * `concurrency` entries in flight (each one read from the source, then written to the target).
 * Stops issuing on an interrupt or the first failure, and waits for the entries in flight.
 */
export async function copyAll(
  source: KVStore,
  target: KVStore,
  concurrency: number,
  progress: Progress,
  interrupt: Interrupt,
): Promise<CopyResult> {
  const window = new WriteWindow(concurrency)
  let copied = 0
  let buckets = 0
  try {
    outer: for await (const bucket of source.buckets()) {
      buckets++
      for await (const key of source.keys(bucket)) {
        if (interrupt.requested) break outer
        const full = window.add(
          async () => {
            const value = await source.getValue(bucket, key)
            // A key deleted from the source while we copy is not copied.
            if (value !== null) {
              await target.addValue(bucket, key, value)
              copied++
            }
            progress.advance(1)
          },
          (error) => new CopyFailure(bucket, key, error),
        )
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
