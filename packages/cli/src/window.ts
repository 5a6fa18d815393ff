/**
 * Bounded concurrency for streaming work: at most `size` operations in flight, so throughput
 * comes from overlapping I/O while memory stays constant however many entries pass through.
 *
 * @module
 */

/** Slots of a window's table of operations in flight by key; a power of two. */
const KEY_SLOTS = 16_384

/**
 * The key slot of (`bucket`, `key`) for {@link WriteWindow.add}: a 32-bit FNV-1a hash, no
 * string made per call. Two keys that share a slot only wait for each other, which with 64
 * operations in flight happens to under 0.4 % of them and costs a little concurrency, nothing
 * else.
 */
export function keySlot(bucket: string, key: Uint8Array): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < bucket.length; i++) hash = Math.imul(hash ^ bucket.charCodeAt(i), 0x01000193)
  // A separator no UTF-16 code unit equals, so that ("ab", "c") and ("a", "bc") differ.
  hash = Math.imul(hash ^ 0x10000, 0x01000193)
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key[i]!, 0x01000193)
  return (hash >>> 0) & (KEY_SLOTS - 1)
}

/**
 * A window of operations (writes), unordered but for those given the same key slot, which run
 * one after another in the order they were added: `kv import` writes lines concurrently, and a
 * later line for a bucket and key must still win over an earlier one, however a backend orders
 * concurrent writes of one key (elastic sends several `_bulk` requests at once). `add` waits
 * while the window is full; the first failure is rethrown by the next `add` or by `drain`, and
 * no new operation starts after it (one waiting for a failed one in its slot does not run).
 * One producer at a time.
 */
export class WriteWindow {
  readonly #size: number
  #inFlight = 0
  #failed = false
  #failure: unknown
  #wake: (() => void) | undefined
  /**
   * Per key slot, the operation added last, while it is in flight; made at the first use of a
   * slot. A fixed table, not a `Map`: setting and deleting a million entries of a `Map` kept at
   * 64 grew the process's peak RSS by about 110 MiB (its tables are reallocated as deletions
   * pile up), this by nothing measurable.
   */
  #lastInSlot: (Promise<void> | undefined)[] | undefined

  constructor(size: number) {
    this.#size = Math.max(1, size)
  }

  /**
   * Starts `operation` once there is room, tagging a failure with `onError` (e.g. an entry's
   * line); with a `slot` ({@link keySlot}), only after the operation added before it in that
   * slot has finished. Returns `undefined` when it started at once (no promise to await: this
   * runs once per entry), else a promise that resolves when it has started.
   */
  add(
    operation: () => Promise<void>,
    onError?: (error: unknown) => unknown,
    slot?: number,
  ): Promise<void> | undefined {
    this.#check()
    if (this.#inFlight >= this.#size) return this.#addLater(operation, onError, slot)
    this.#start(operation, onError, slot)
    return undefined
  }

  async #addLater(
    operation: () => Promise<void>,
    onError: ((error: unknown) => unknown) | undefined,
    slot: number | undefined,
  ): Promise<void> {
    while (this.#inFlight >= this.#size) {
      await new Promise<void>((resolve) => (this.#wake = resolve))
      this.#check()
    }
    this.#start(operation, onError, slot)
  }

  #start(
    operation: () => Promise<void>,
    onError: ((error: unknown) => unknown) | undefined,
    slot: number | undefined,
  ): void {
    this.#inFlight++
    let running: Promise<void>
    if (slot === undefined) {
      running = operation()
    } else {
      const table = (this.#lastInSlot ??= new Array(KEY_SLOTS).fill(undefined))
      const earlier = table[slot]
      running = earlier === undefined ? operation() : earlier.then(operation)
      table[slot] = running
    }
    running.then(
      () => this.#settle(slot, running),
      (error: unknown) => {
        if (!this.#failed) {
          this.#failed = true
          this.#failure = onError === undefined ? error : onError(error)
        }
        this.#settle(slot, running)
      },
    )
  }

  /** Waits for every operation in flight; rethrows the first failure. */
  async drain(): Promise<void> {
    while (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#wake = resolve))
    this.#check()
  }

  /** Waits for every operation in flight and ignores failures (used when stopping on an error). */
  async settle(): Promise<void> {
    while (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#wake = resolve))
  }

  #settle(slot: number | undefined, finished: Promise<void>): void {
    if (slot !== undefined && this.#lastInSlot![slot] === finished)
      this.#lastInSlot![slot] = undefined
    this.#inFlight--
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }

  #check(): void {
    if (this.#failed) throw this.#failure
  }
}

/**
 * A window of ordered operations (reads whose results are written in order): `push` starts one
 * and, when the window is full, waits for and returns the oldest result.
 */
export class OrderedWindow<T> {
  readonly #size: number
  readonly #queue: Promise<T>[] = []

  constructor(size: number) {
    this.#size = Math.max(1, size)
  }

  /** Starts `operation`; resolves the oldest result when the window is full, else `undefined`. */
  async push(operation: Promise<T>): Promise<{ value: T } | undefined> {
    // A rejection is observed when its turn comes; until then it must not count as unhandled.
    operation.catch(() => {})
    this.#queue.push(operation)
    if (this.#queue.length < this.#size) return undefined
    return { value: await this.#queue.shift()! }
  }

  /** Operations started and not yet taken. */
  get length(): number {
    return this.#queue.length
  }

  /** Waits for and returns the oldest result; only when {@link OrderedWindow.length} > 0. */
  shift(): Promise<T> {
    return this.#queue.shift()!
  }

  /** The remaining results, oldest first. */
  async *drain(): AsyncGenerator<T> {
    while (this.#queue.length > 0) yield await this.#queue.shift()!
  }

  /** Waits for every operation left, ignoring their outcome. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.#queue.splice(0))
  }
}
