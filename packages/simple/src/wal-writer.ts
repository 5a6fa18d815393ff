/**
 * `WalWriter`: appends records to the active WAL segment with group commit.
 *
 * Records are encoded into the open batch as the calls arrive, after room left for the batch frame
 * (format version 3, see `wal-record.ts`), which the flush fills in: numbering the batch and
 * giving its length costs once per batch, nothing per record. A flush takes the open batch,
 * writes it with one `write(2)` and, with `sync_writes`, one `fdatasync(2)`; records that arrive
 * while a flush is in progress wait in the next batch, so any number of concurrent writers share
 * one write and one sync. Only after a batch is on disk (or handed to the OS) is it applied to
 * the in-memory index and its callers resolved: reads never see a write that could still be
 * lost, and a snapshot never contains one either.
 *
 * The write itself is synchronous: handing a few kilobytes to the page cache takes about a
 * microsecond, where a round trip through libuv's thread pool takes fifty (measured; see the
 * README). The sync, which takes hundreds of microseconds, blocks the event loop too while it
 * stays fast, and runs in the pool otherwise: {@link SyncPolicy} decides.
 *
 * With `sync_writes`, segments are preallocated: zeros are written (and synced) ahead of the
 * records, so that the `fdatasync` after each batch finds the file's size and blocks unchanged
 * and has only data to flush — no journal commit, which made it two to three times faster on
 * the development machine. Recovery reads zeros after the last record as the end of the log.
 *
 * Every `write(2)` is given at most {@link MAX_WRITE_BYTES} and repeated until all bytes are
 * written: one that reaches the end of a full disk writes what fits and returns a short count,
 * and only the next fails.
 *
 * After a write (or its sync) fails, the writer cuts the segment back to where the failed batch
 * began — `ftruncate` and `fdatasync` — before it rejects the batch's callers, so that no rejected
 * record is found at the next open; and it refuses further appends. If the cut fails too, the
 * file may keep whole records of the failed batch and end in a partial one: recovery replays the
 * former and cuts off the latter (README, *Errors*).
 *
 * A segment that appends move away from (a rotation) is fdatasynced before its descriptor is
 * closed, in the background; {@link WalWriter.close} waits for that. It gets no seal: nothing
 * may be written to it once appends have moved on (a power cut could then leave a torn seal in
 * a segment followed by one holding synced records, which recovery must refuse); a seal at
 * close() in the current segment covers it (see {@link WalWriter.close}).
 *
 * {@link WalWriter.close} seals the WAL: it appends an empty batch after the last one, so that
 * recovery can tell an acknowledged last batch from one that was being written.
 *
 * @module
 */
import { close, fdatasync, fdatasyncSync, ftruncate, write, writeSync } from 'node:fs'
import { BackendUnavailableError, type Entry } from '@kv/core'
import { MAX_WRITE_BYTES, wroteNothing } from './files.js'
import { Op } from './format.js'
import { SyncPolicy } from './sync-policy.js'
import { BATCH_FRAME_BYTES, encodeRecord, recordBound, writeBatchFrame } from './wal-record.js'

const INITIAL_BATCH_BYTES = 64 * 1024
/** A batch buffer grown past this is not kept for reuse. */
const KEEP_BATCH_BYTES = 4 * 1024 * 1024
/**
 * Milliseconds of one event-loop turn that flushes scheduled as microtasks may take; the first
 * flush scheduled after that waits for the next turn.
 */
export const TURN_BUDGET_MS = 5
/** With `sync_writes`, the segment is extended with zeros this much at a time. */
export const PREALLOCATE_BYTES = 4 * 1024 * 1024

/** An open file of the WAL. */
export interface Segment {
  fd: number
  sequence: number
  path: string
  /** Where the next record is written: the end of the records. */
  position: number
  /** The file's size: records, then zeros (preallocated) up to here. */
  allocated: number
  /** The number of the last batch written to the segment (0: none yet); the next is one more. */
  batches: number
  /**
   * Read once, from the segment recovery hands over: whether the WAL's last batch — in this
   * segment, or in an earlier one when this holds none — holds records, no seal after it (see
   * {@link WalWriter.close}). The writer keeps track from there.
   */
  unsealed?: boolean
  /** An extension with zeros in progress; the fd must not be closed before it settles. */
  extending?: Promise<void> | undefined
}

/** A batch being filled: its batch frame's room, then the records. */
class Batch {
  buffer = Buffer.allocUnsafeSlow(INITIAL_BATCH_BYTES)
  used = BATCH_FRAME_BYTES
  #promise: Promise<void> | undefined
  #resolve: (() => void) | undefined
  #reject: ((error: unknown) => void) | undefined

  /** The promise every caller whose record is in this batch waits on. */
  get promise(): Promise<void> {
    this.#promise ??= new Promise<void>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    return this.#promise
  }

  /** Encodes one record at the end of the batch. */
  add(
    op: number,
    bucket: string,
    key: Uint8Array | undefined,
    value: Uint8Array | undefined,
  ): void {
    this.ensure(recordBound(key?.length ?? 0, value?.length ?? 0))
    this.used = encodeRecord(this.buffer, this.used, op, bucket, key, value)
  }

  ensure(extra: number): void {
    const needed = this.used + extra
    if (needed <= this.buffer.length) return
    const grown = Buffer.allocUnsafeSlow(Math.max(needed, this.buffer.length * 2))
    this.buffer.copy(grown, 0, 0, this.used)
    this.buffer = grown
  }

  settle(error?: unknown): void {
    if (error === undefined) this.#resolve?.()
    else this.#reject?.(error)
  }

  /** Whether the batch holds any record. */
  get empty(): boolean {
    return this.used === BATCH_FRAME_BYTES
  }

  reset(): void {
    this.used = BATCH_FRAME_BYTES
    this.#promise = this.#resolve = this.#reject = undefined
  }
}

/** Writes WAL records in batches; see the module comment. */
export class WalWriter {
  #segment: Segment
  readonly #syncWrites: boolean
  readonly #syncPolicy: SyncPolicy
  readonly #apply: (buffer: Buffer, start: number, end: number) => void
  readonly #afterBatch: () => void
  #open = new Batch()
  #spare: Batch | undefined
  #scheduled = false
  #flushing = false
  /** A flush was scheduled in this turn of the event loop, the first at {@link #turnStart}. */
  #turnWatch = false
  #turnStart = 0
  readonly #now: () => number
  #failure: Error | undefined
  /** The WAL's last batch holds records: close() seals it. Carried across rotations. */
  #unsealed: boolean
  #rotation: { next: Segment; done: () => void } | undefined
  #idle: (() => void) | undefined
  /** Segments rotated away from, being synced and closed; each settles with its sync error. */
  readonly #retiring = new Set<Promise<unknown>>()
  /** The first sync of a rotated segment that failed, reported by {@link close}. */
  #retireFailure: unknown
  readonly #maxWrite: number

  /**
   * @param sync `sync_writes`, and whether a sync may block the event loop (`sync_on_event_loop`)
   * @param apply applies the framed records `buffer[start, end)` of a written batch to memory
   * @param afterBatch called after each batch, to let the store decide about snapshots
   * @param now a millisecond clock for {@link TURN_BUDGET_MS} (tests pass their own)
   * @param maxWrite the most bytes one `write(2)` is given (tests pass less than
   *   {@link MAX_WRITE_BYTES}: a batch past it takes gigabytes)
   */
  constructor(
    segment: Segment,
    sync: { writes: boolean; onEventLoop: boolean },
    apply: (buffer: Buffer, start: number, end: number) => void,
    afterBatch: () => void,
    now: () => number = () => performance.now(),
    maxWrite: number = MAX_WRITE_BYTES,
  ) {
    this.#now = now
    this.#maxWrite = maxWrite
    this.#segment = segment
    this.#unsealed = segment.unsealed === true
    this.#syncWrites = sync.writes
    this.#syncPolicy = new SyncPolicy(sync.writes && sync.onEventLoop)
    this.#apply = apply
    this.#afterBatch = afterBatch
  }

  /** The segment records are appended to. */
  get segment(): Readonly<Segment> {
    return this.#segment
  }

  /** Appends one record; resolves once it is written (and synced, with `sync_writes`) and applied. */
  append(op: number, bucket: string, key?: Uint8Array, value?: Uint8Array): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure)
    this.#open.add(op, bucket, key, value)
    return this.#queued()
  }

  /**
   * Appends one put record per entry, in order, all to the same batch; resolves once they are
   * written (and synced, with `sync_writes`) and applied.
   */
  appendPuts(bucket: string, entries: readonly Entry[]): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure)
    const batch = this.#open
    for (const [key, value] of entries) batch.add(Op.PUT, bucket, key, value)
    return this.#queued()
  }

  /** Makes sure the open batch will be flushed; the promise its callers wait on. */
  #queued(): Promise<void> {
    if (!this.#scheduled && !this.#flushing) this.#schedule()
    return this.#open.promise
  }

  /**
   * Switches appends to `next` between two batches, when every record written to the current
   * segment has been applied to memory. Resolves when the switch is made.
   */
  rotate(next: Segment): Promise<void> {
    return new Promise<void>((done) => {
      this.#rotation = { next, done }
      if (!this.#flushing) this.#rotateNow()
    })
  }

  /**
   * Waits for the flush in progress, seals the WAL, makes the segment durable and closes it, and
   * waits for the segments rotated away from to be synced and closed. Rejects with the first sync
   * that failed. Call it once no append is pending.
   *
   * The seal is an empty batch (the next number, 0 bytes of records) appended before the sync
   * when the WAL's last batch holds records: that batch was acknowledged, and recovery takes
   * damage followed by an intact later batch for corruption, never for a torn tail it may cut.
   * It goes to the current segment, even one that holds no batch yet while `earlierSegments`
   * (segments before it are still part of the store: a snapshot failed after switching appends)
   * — the last batch is then in one of those, and a segment after it holding anything makes
   * recovery read it strictly. No seal after a failed write (the disk is failing, and the file's
   * end uncertain), nor when the WAL ends in a seal already (nothing appended since). A seal
   * the disk refuses is skipped: everything before it is written already; a part of it that
   * reached the file is a torn tail at a batch boundary, which loses nothing.
   *
   * @param earlierSegments whether segments before the current one are still part of the store
   */
  async close(earlierSegments = false): Promise<void> {
    if (this.#flushing) await new Promise<void>((resolve) => (this.#idle = resolve))
    const segment = this.#segment
    const current = (async () => {
      try {
        await segment.extending?.catch(() => {})
        if (this.#failure === undefined) {
          if (this.#unsealed && (segment.batches > 0 || earlierSegments)) this.#seal(segment)
          await datasync(segment.fd)
        }
      } finally {
        await closeFd(segment.fd)
      }
    })()
    const [closed] = await Promise.allSettled([current, ...this.#retiring])
    if (closed.status === 'rejected') throw closed.reason
    if (this.#retireFailure !== undefined) throw this.#retireFailure
  }

  /** Appends the seal (see {@link close}) at the end of the records, best effort. */
  #seal(segment: Segment): void {
    const seal = Buffer.alloc(BATCH_FRAME_BYTES)
    writeBatchFrame(seal, 0, segment.batches + 1, 0)
    try {
      appendBatch(segment, seal, seal.length, this.#maxWrite)
    } catch {
      return
    }
    this.#unsealed = false
  }

  /**
   * Schedules a flush. A microtask lets every call made in the current turn join the batch at
   * almost no delay; but a loop of awaited writes then never leaves the microtask queue, so once
   * the flushes of this turn have taken {@link TURN_BUDGET_MS} the next waits for `setImmediate`,
   * letting I/O callbacks and timers (the snapshot among them) run. A budget of time, not of
   * flushes: with blocking syncs one flush takes 0.3–2 ms, and 64 of them in a turn (the former
   * limit) kept timers and I/O waiting 20–130 ms, and a snapshot of 1,000,000 entries beside one
   * awaited `sync_writes` writer took 4–10 s (2.7–3.6 s now). 5 ms, the slice React's scheduler
   * yields after too: 2 ms sped such snapshots up further (1.9–2.1 s) but gave them a share of
   * 64 busy writers that cost those 5–8 % of their rate.
   */
  #schedule(): void {
    this.#scheduled = true
    if (!this.#turnWatch) {
      this.#turnWatch = true
      this.#turnStart = this.#now()
      setImmediate(this.#newTurn)
    } else if (this.#now() - this.#turnStart >= TURN_BUDGET_MS) {
      setImmediate(this.#flush)
      return
    }
    queueMicrotask(this.#flush)
  }

  readonly #newTurn = (): void => {
    this.#turnWatch = false
  }

  readonly #flush = (): void => {
    this.#scheduled = false
    if (!this.#flushing) void this.#drain()
  }

  async #drain(): Promise<void> {
    this.#flushing = true
    try {
      while (!this.#open.empty && this.#failure === undefined) {
        const batch = this.#open
        this.#open = this.#spare ?? new Batch()
        this.#spare = undefined
        const segment = this.#segment
        const start = segment.position
        writeBatchFrame(batch.buffer, 0, segment.batches + 1, batch.used - BATCH_FRAME_BYTES)
        try {
          if (this.#syncWrites && segment.position + batch.used > segment.allocated) {
            await this.#preallocate(segment, segment.position + batch.used)
          }
          appendBatch(segment, batch.buffer, batch.used, this.#maxWrite)
          this.#unsealed = true
          if (this.#syncWrites) {
            const pooled = this.#sync(segment.fd)
            if (pooled !== undefined) await pooled
          }
        } catch (cause) {
          await this.#fail(cause, batch, segment, start)
          break
        }
        try {
          this.#apply(batch.buffer, BATCH_FRAME_BYTES, batch.used)
          batch.settle()
        } catch (error) {
          // A bug, not an I/O failure: the records are on disk and will replay at next open.
          batch.settle(error)
        }
        if (batch.buffer.length <= KEEP_BATCH_BYTES) {
          batch.reset()
          this.#spare = batch
        }
        if (
          this.#syncWrites &&
          segment.extending === undefined &&
          segment.allocated - segment.position < PREALLOCATE_BYTES / 2
        ) {
          // Extend ahead in the background; a failure shows up when the space is needed.
          this.#preallocate(segment, segment.allocated + 1).catch(() => {})
        }
        if (this.#rotation !== undefined) this.#rotateNow()
        this.#afterBatch()
      }
    } finally {
      this.#flushing = false
      if (this.#rotation !== undefined) this.#rotateNow()
      this.#idle?.()
      this.#idle = undefined
    }
  }

  /** fdatasyncs a written batch, blocking or in the pool as {@link SyncPolicy} says. */
  #sync(fd: number): Promise<void> | undefined {
    const policy = this.#syncPolicy
    if (!policy.blocking) return datasync(fd)
    const start = performance.now()
    fdatasyncSync(fd)
    policy.blocked(performance.now() - start)
    return undefined
  }

  /** Extends `segment` with synced zeros until at least `size` bytes are allocated. */
  #preallocate(segment: Segment, size: number): Promise<void> {
    const run = async (): Promise<void> => {
      await segment.extending?.catch(() => {})
      while (segment.allocated < size) {
        const length = Math.max(PREALLOCATE_BYTES, size - segment.allocated)
        const zeros = Buffer.alloc(Math.min(length, this.#maxWrite))
        for (let done = 0; done < length; ) {
          const at = segment.allocated + done
          const written = await writeAt(
            segment.fd,
            zeros,
            Math.min(length - done, zeros.length),
            at,
          )
          if (written === 0) throw wroteNothing(segment.path, at)
          done += written
        }
        await datasync(segment.fd)
        segment.allocated += length
      }
    }
    const extending = run()
    segment.extending = extending
    void extending
      .finally(() => {
        if (segment.extending === extending) segment.extending = undefined
      })
      .catch(() => {})
    return extending
  }

  #rotateNow(): void {
    const rotation = this.#rotation!
    this.#rotation = undefined
    const old = this.#segment
    // Never close a descriptor while a write to it may still be in flight: the number could be
    // reused by another file in the meantime. Sync it first: without `sync_writes` nothing else
    // would (close() syncs only the segment it has), and if the snapshot that rotated fails, the
    // store still depends on this segment.
    const retiring: Promise<unknown> = (old.extending ?? Promise.resolve())
      .catch(() => {})
      .then(() => datasync(old.fd))
      .catch((error: unknown) => {
        this.#retireFailure ??= error
      })
      .finally(() => closeFd(old.fd).catch(() => {}))
      .finally(() => this.#retiring.delete(retiring))
    this.#retiring.add(retiring)
    this.#segment = rotation.next
    rotation.done()
  }

  /**
   * Refuses every append from now on, cuts `segment` back to `start`, where `batch` began (best
   * effort), then rejects the callers of `batch` and of the batch that was filling.
   */
  async #fail(cause: unknown, batch: Batch, segment: Segment, start: number): Promise<void> {
    this.#failure = new BackendUnavailableError(
      `simple_kv could not write its write-ahead log ${segment.path}: ${(cause as Error).message}. The store accepts no more writes; close it and open it again.`,
      { cause },
    )
    // The batch may have left whole records before the write that failed (a short write at a
    // full disk), and with `sync_writes` it may be written entirely with only the sync failed:
    // they would replay at the next open although their callers are told they failed.
    try {
      // A background extension writing zeros past the cut must not re-extend the file after it.
      await segment.extending?.catch(() => {})
      segment.position = start
      await truncateFd(segment.fd, start)
      await datasync(segment.fd)
      segment.allocated = start
    } catch {
      // The disk may refuse this too; the README says what recovery then finds.
    }
    batch.settle(this.#failure)
    this.#open.settle(this.#failure)
  }
}

/**
 * Appends the batch `buffer[0, length)` (its batch frame filled in) at the segment's position:
 * `pwrite(2)`, at most `maxWrite` bytes a call, until every byte is written; then counts it in
 * the segment. A write that throws leaves the segment's position and count as they were.
 */
function appendBatch(segment: Segment, buffer: Buffer, length: number, maxWrite: number): void {
  for (let done = 0; done < length; ) {
    const at = segment.position + done
    const written = writeSync(segment.fd, buffer, done, Math.min(length - done, maxWrite), at)
    if (written === 0) throw wroteNothing(segment.path, at)
    done += written
  }
  segment.position += length
  segment.batches++
  if (segment.position > segment.allocated) segment.allocated = segment.position
}

/** `pwrite(2)` of `buffer[0, length)` at `position`; resolves with the bytes written. */
function writeAt(fd: number, buffer: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    write(fd, buffer, 0, length, position, (error, written) =>
      error ? reject(error) : resolve(written),
    ),
  )
}

function truncateFd(fd: number, length: number): Promise<void> {
  return new Promise((resolve, reject) =>
    ftruncate(fd, length, (error) => (error ? reject(error) : resolve())),
  )
}

function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) =>
    fdatasync(fd, (error) => (error ? reject(error) : resolve())),
  )
}

function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => close(fd, (error) => (error ? reject(error) : resolve())))
}
