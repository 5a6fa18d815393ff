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

/**
 * The bytes of values the copy holds at once (read from the source and not yet written), shared
 * by the batches in flight; a single value larger than a batch's share is still copied, alone.
 * A value's size is known only once it is read, so when values suddenly grow a batch may also
 * hold the {@link READS_AT_ONCE} values it read together beyond its share. `kv export` bounds its
 * window of reads by the same figure.
 */
export const VALUE_BYTES_BUDGET = 64 * 1024 * 1024

/**
 * The most values a batch reads at once. The values read together are sized by the largest
 * value read before them, so after a run of small values they may all be large: a batch then
 * holds up to this many values beyond its share of {@link VALUE_BYTES_BUDGET}. Unbounded, the
 * group doubled to 512 over 100-byte values and the next 512 values held 480 MiB of 4 MiB ones
 * (peak RSS 2.06 GB). 16: with the default `--concurrency 4`, 64 reads in flight, as many as
 * export's default window, which keeps a slow source busy, while a jump in size overshoots a
 * batch's share by 16 values at most (64 MiB of 4 MiB values) instead of hundreds.
 */
export const READS_AT_ONCE = 16

/**
 * A copy that failed on an entry, or on entries read or written together (`key` to `lastKey`,
 * `entries` of them): `phase` says which (`write`: one part of a batch, written with one
 * `addValues`; `read`: values read from the source together); undefined, the whole batch.
 */
export class CopyFailure {
  /**
   * Entries written to the target before the copy stopped (the writes in flight included), not
   * counting any of a failed part: on a target whose `addValues` is not atomic some may be.
   */
  copied = 0

  constructor(
    readonly bucket: string,
    readonly key: Uint8Array,
    readonly cause: unknown,
    readonly lastKey?: Uint8Array,
    readonly entries = 1,
    readonly phase?: 'read' | 'write',
  ) {}
}

/** A failure of `operation` on the entries of `keys`, as a {@link CopyFailure} naming them. */
async function failingAs<T>(
  bucket: string,
  keys: readonly Uint8Array[],
  phase: 'read' | 'write',
  operation: () => Promise<T>,
): Promise<T> {
  try {
    return await operation()
  } catch (error) {
    if (error instanceof CopyFailure) throw error
    throw new CopyFailure(
      bucket,
      keys[0]!,
      error,
      keys.length > 1 ? keys.at(-1) : undefined,
      keys.length,
      phase,
    )
  }
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
 * `batch` at a time, their values read from the source a few at a time and written in parts of
 * at most the batch's share of {@link VALUE_BYTES_BUDGET} (each part one `addValues`, which is
 * all-or-nothing on some backends, simple_kv and badger, and not on others, elastic; a batch of
 * small values is one part), up to `concurrency` batches in
 * flight — so the source's reads of one batch overlap the target's writes of another. Stops
 * issuing on an interrupt or the first failure (a failed part leaves the batch's earlier parts
 * written), and waits for the batches in flight.
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
  // The values a batch holds at once: its share of the budget, so that the batches in flight
  // hold about VALUE_BYTES_BUDGET together however large the values.
  const budget = Math.max(1, Math.floor(VALUE_BYTES_BUDGET / concurrency))
  const limit = target.limits.maxValueBytes
  // One part of a batch; a failure names the part's own keys, not the batch's.
  const write = async (bucket: string, pairs: [Uint8Array, Uint8Array][]): Promise<void> => {
    const keys = pairs.map(([key]) => key)
    await failingAs(bucket, keys, 'write', async () => {
      if (pairs.length === 1) await target.addValue(bucket, ...pairs[0]!)
      else if (pairs.length > 1) await target.addValues(bucket, pairs)
    })
    copied += pairs.length
  }
  const copy = (bucket: string, keys: Uint8Array[]) =>
    window.add(
      async () => {
        // The values are read a few at a time, as many as the budget left takes at the size of
        // the largest value read so far (one at first, at most twice as many as the time
        // before, at most READS_AT_ONCE), and written out whenever they fill the budget: a
        // batch of 1,000 values of 8 MiB read at once held 8 GB.
        let pairs: [Uint8Array, Uint8Array][] = []
        let held = 0
        // The largest value read so far; undefined until the first read completes. An empty
        // value counts as one byte: sized at 0 it left room for one read, and a bucket of
        // empty values was read one value at a time.
        let largest: number | undefined
        let reads = 1
        for (let i = 0; i < keys.length; ) {
          const room =
            largest === undefined ? 1 : Math.floor((budget - held) / Math.max(1, largest))
          reads = Math.max(1, Math.min(keys.length - i, room, reads * 2, READS_AT_ONCE))
          const chunk = keys.slice(i, i + reads)
          i += chunk.length
          const values = await failingAs(bucket, chunk, 'read', () =>
            Promise.all(chunk.map((key) => source.getValue(bucket, key))),
          )
          largest ??= 0
          for (let j = 0; j < chunk.length; j++) {
            const value = values[j]
            // A key deleted from the source while we copy is not copied.
            if (value === null || value === undefined) continue
            // A value the target cannot hold would fail its whole part naming only its index
            // in it: name its key instead, and write nothing more of the batch (its earlier
            // parts are written).
            if (value.length > limit) {
              throw new CopyFailure(
                bucket,
                chunk[j]!,
                new InvalidArgumentError(
                  'value',
                  `its value is ${value.length} bytes, over the ${target.name} target's limit of ${limit} bytes`,
                ),
              )
            }
            pairs.push([chunk[j]!, value])
            held += value.length
            if (value.length > largest) largest = value.length
          }
          if (held >= budget) {
            await write(bucket, pairs)
            pairs = []
            held = 0
          }
        }
        await write(bucket, pairs)
        progress.advance(keys.length)
      },
      (error) =>
        error instanceof CopyFailure
          ? error
          : new CopyFailure(
              bucket,
              keys[0]!,
              error,
              keys.length > 1 ? keys.at(-1) : undefined,
              keys.length,
            ),
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

/**
 * Lookups (`existsKey`) in flight at once in the default verification, as export's window of
 * reads: they hold no values, and 4 at a time (`--concurrency`) took 7.2 s for 20,000 keys of a
 * target answering in 1 ms, ten times the copy. `--verify-values` reads both values of
 * `--concurrency` keys at a time instead.
 */
export const LOOKUPS_IN_FLIGHT = 64

/** One bucket as the verification found it. */
export interface BucketCheck {
  bucket: string
  /** Keys the source lists. */
  source: number
  /** Keys the target lists (a listing may not show the latest writes yet: see `missing`). */
  target: number
  /**
   * Source keys missing from the target: every source key is looked up in the target (reads are
   * realtime in every backend, listings not always), and one not found there that the source
   * still has is missing.
   */
  missing: number
  /** With value checks: source keys whose value differs in the target. */
  different?: number
  /**
   * Keys the target lists beyond the source keys found in it (`target` minus those found):
   * keys it held before the migration. Only when there are some.
   */
  extra?: number
}

/** What {@link verify} found. */
export interface Verification {
  /** `counts` (every source key looked up in the target), or `values` (every value compared too). */
  mode: 'counts' | 'values'
  /** True when every source entry is in the target (with the same value, for `values`). */
  ok: boolean
  /** Every bucket of the source. */
  buckets: BucketCheck[]
  /** Whether it stopped early on an interrupt. */
  interrupted: boolean
}

/** What {@link checkKeys} found in one bucket. */
interface KeyCheck {
  /** Source keys listed. */
  listed: number
  /** Of those, found in the target. */
  found: number
  missing: number
  different: number
}

/**
 * Looks every source key of `bucket` up in the target (advancing `progress` per key): counts the
 * keys listed, those found in the target, those missing and, with `values`, those whose value
 * differs. A key gone from the source meanwhile is not counted as missing. Keys are looked up
 * {@link LOOKUPS_IN_FLIGHT} at a time (or `concurrency`, if more); with `values`, `concurrency`
 * at a time, each holding two values.
 */
async function checkKeys(
  source: KVStore,
  target: KVStore,
  bucket: string,
  values: boolean,
  concurrency: number,
  progress: Progress,
  interrupt: Interrupt,
): Promise<KeyCheck> {
  const window = new WriteWindow(values ? concurrency : Math.max(LOOKUPS_IN_FLIGHT, concurrency))
  const check: KeyCheck = { listed: 0, found: 0, missing: 0, different: 0 }
  try {
    for await (const key of source.keys(bucket)) {
      if (interrupt.requested) break
      check.listed++
      const full = window.add(async () => {
        if (!values) {
          // The source is asked only about a key the target lacks (deleted meanwhile?): one
          // read per key in the common case.
          if (await target.existsKey(bucket, key)) check.found++
          else if (await source.existsKey(bucket, key)) check.missing++
          progress.advance(1)
          return
        }
        const [expected, actual] = await Promise.all([
          source.getValue(bucket, key),
          target.getValue(bucket, key),
        ])
        if (actual !== null) check.found++
        if (expected !== null && actual === null) check.missing++
        else if (expected !== null && actual !== null && !bytesEqual(expected, actual))
          check.different++
        progress.advance(1)
      })
      if (full !== undefined) await full
    }
    await window.drain()
  } catch (error) {
    await window.settle()
    throw error
  }
  return check
}

/**
 * Checks the target against the source, bucket by bucket: every source key is looked up in the
 * target (and with `values` its value compared), while the target's keys are counted. A missing
 * key or a different value is a failure; keys the target holds beyond the source's (keys it had
 * before) are reported but are not. Only reads of single keys decide that a key is missing,
 * never a listing: a listing may lag behind the writes (elastic's search with
 * `refresh_before_listing: false`), and a count hides a missing key behind an extra one.
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
    // The target's count overlaps the lookups: one store's I/O runs while the other works.
    const [keys, inTarget] = await Promise.all([
      checkKeys(source, target, bucket, values, concurrency, progress, interrupt),
      countBucket(target, bucket, () => interrupt.requested),
    ])
    const check: BucketCheck = {
      bucket,
      source: keys.listed,
      target: inTarget,
      missing: keys.missing,
    }
    if (values) check.different = keys.different
    if (inTarget > keys.found) check.extra = inTarget - keys.found
    if (check.missing > 0 || (check.different ?? 0) > 0) ok = false
    buckets.push(check)
  }
  return { mode: values ? 'values' : 'counts', ok, buckets, interrupted: interrupt.requested }
}
