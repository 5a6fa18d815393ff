/**
 * Bounded concurrency for streaming work: at most `size` operations in flight, so throughput
 * comes from overlapping I/O while memory stays constant however many entries pass through.
 *
 * @module
 */

/**
 * A window of unordered operations (writes). `add` waits while the window is full; the first
 * failure is rethrown by the next `add` or by `drain`, and no new operation starts after it.
 * One producer at a time.
 */
export class WriteWindow {
  readonly #size: number
  #inFlight = 0
  #failed = false
  #failure: unknown
  #wake: (() => void) | undefined

  constructor(size: number) {
    this.#size = Math.max(1, size)
  }

  /**
   * Starts `operation` once there is room, tagging a failure with `onError` (e.g. an entry's
   * line). Returns `undefined` when it started at once (no promise to await: this runs once per
   * entry), else a promise that resolves when it has started.
   */
  add(
    operation: () => Promise<void>,
    onError?: (error: unknown) => unknown,
  ): Promise<void> | undefined {
    this.#check()
    if (this.#inFlight >= this.#size) return this.#addLater(operation, onError)
    this.#start(operation, onError)
    return undefined
  }

  async #addLater(
    operation: () => Promise<void>,
    onError?: (error: unknown) => unknown,
  ): Promise<void> {
    while (this.#inFlight >= this.#size) {
      await new Promise<void>((resolve) => (this.#wake = resolve))
      this.#check()
    }
    this.#start(operation, onError)
  }

  #start(operation: () => Promise<void>, onError?: (error: unknown) => unknown): void {
    this.#inFlight++
    operation().then(
      () => this.#settle(),
      (error: unknown) => {
        if (!this.#failed) {
          this.#failed = true
          this.#failure = onError === undefined ? error : onError(error)
        }
        this.#settle()
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

  #settle(): void {
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

  /** The remaining results, oldest first. */
  async *drain(): AsyncGenerator<T> {
    while (this.#queue.length > 0) yield await this.#queue.shift()!
  }

  /** Waits for every operation left, ignoring their outcome. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.#queue.splice(0))
  }
}
