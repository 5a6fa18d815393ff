/**
 * `SyncPolicy`: where the WAL's `fdatasync` runs — on the event-loop thread, or in libuv's
 * thread pool.
 *
 * A synchronous `fdatasync` skips two thread hand-offs (to a pool thread and back), which on the
 * development machine cost more than the flush itself: 64 writers went from 87–108 k to
 * 129–134 k durable writes/s, and one writer from 0.80× to 1.0–1.3× a raw blocking
 * write + fdatasync loop. The price is that the event loop waits while the disk flushes, so the
 * policy keeps that wait short: it tracks a moving average of how long the blocking syncs take,
 * and when it passes {@link BLOCKING_SYNC_LIMIT_MS} (a slow or busy disk) the syncs move to the
 * pool. After {@link POOL_PROBE_MS} there it tries blocking again, from a fresh average, so a
 * disk that was busy for a while (a snapshot being written, another process) does not banish
 * blocking syncs for good.
 *
 * @module
 */

/** Blocking syncs stop when their moving average exceeds this many milliseconds. */
export const BLOCKING_SYNC_LIMIT_MS = 2
/** After this many milliseconds in the thread pool, blocking syncs are tried again. */
export const POOL_PROBE_MS = 5000
/**
 * Weight of the newest sample in the moving average: an occasional spike (9 ms was seen among
 * 0.2 ms syncs) does not move the syncs, one of about 16 ms or more does, at once.
 */
const SAMPLE_WEIGHT = 1 / 8

/** Chooses, sync by sync, between a blocking `fdatasync` and one in the thread pool. */
export class SyncPolicy {
  readonly #enabled: boolean
  readonly #now: () => number
  #blocking: boolean
  #average = 0
  #probeAt = 0

  /**
   * @param enabled `false`: every sync goes to the thread pool (`sync_on_event_loop: false`)
   * @param now a millisecond clock (tests pass their own)
   */
  constructor(enabled: boolean, now: () => number = () => performance.now()) {
    this.#enabled = enabled
    this.#now = now
    this.#blocking = enabled
  }

  /** Whether the next sync should block the event loop. */
  get blocking(): boolean {
    if (!this.#blocking && this.#enabled && this.#now() >= this.#probeAt) {
      this.#blocking = true
      this.#average = 0
    }
    return this.#blocking
  }

  /** Records how long a blocking sync took, in milliseconds. */
  blocked(ms: number): void {
    this.#average += (ms - this.#average) * SAMPLE_WEIGHT
    if (this.#average > BLOCKING_SYNC_LIMIT_MS) {
      this.#blocking = false
      this.#probeAt = this.#now() + POOL_PROBE_MS
    }
  }
}
