/**
 * Coalescing: operations issued together go out as one request. Items queued in the same turn
 * of the event loop (flushed with `setImmediate`), or while the maximum number of requests is in
 * flight, are sent together, up to a count and a byte budget; each caller gets its own item's
 * result or error.
 *
 * @module
 */

/** Sends one batch; returns one result per item, in order. A throw fails every item. */
export type SendBatch<Item, Result> = (items: Item[]) => Promise<Result[]>

/** Limits of a {@link Batcher}. */
export interface BatchLimits<Item> {
  /** Most items in one request. */
  maxItems: number
  /** Most bytes in one request; an item larger than this goes alone. */
  maxBytes: number
  /** Most requests in flight at once; further items wait and are coalesced. */
  maxInFlight: number
  /** An item's size in bytes. */
  weigh(item: Item): number
}

interface Pending<Item, Result> {
  item: Item
  weight: number
  resolve(result: Result): void
  reject(error: unknown): void
}

/** Collects items and sends them in batches. */
export class Batcher<Item, Result> {
  readonly #send: SendBatch<Item, Result>
  readonly #limits: BatchLimits<Item>
  #queue: Array<Pending<Item, Result>> = []
  #scheduled = false
  #inFlight = 0

  constructor(send: SendBatch<Item, Result>, limits: BatchLimits<Item>) {
    this.#send = send
    this.#limits = limits
  }

  /** Queues `item`; resolves with its result once its batch has been answered. */
  add(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.#queue.push({ item, weight: this.#limits.weigh(item), resolve, reject })
      if (!this.#scheduled) {
        this.#scheduled = true
        setImmediate(() => {
          this.#scheduled = false
          this.#drain()
        })
      }
    })
  }

  #drain(): void {
    while (this.#queue.length > 0 && this.#inFlight < this.#limits.maxInFlight) {
      const batch = this.#take()
      this.#inFlight++
      this.#dispatch(batch).finally(() => {
        this.#inFlight--
        this.#drain()
      })
    }
  }

  /** The next batch: at least one item, then as many as fit the limits. */
  #take(): Array<Pending<Item, Result>> {
    let bytes = this.#queue[0]!.weight
    let count = 1
    while (count < this.#queue.length && count < this.#limits.maxItems) {
      const next = this.#queue[count]!.weight
      if (bytes + next > this.#limits.maxBytes) break
      bytes += next
      count++
    }
    return this.#queue.splice(0, count)
  }

  async #dispatch(batch: Array<Pending<Item, Result>>): Promise<void> {
    try {
      const results = await this.#send(batch.map((pending) => pending.item))
      for (const [i, pending] of batch.entries()) pending.resolve(results[i]!)
    } catch (error) {
      for (const pending of batch) pending.reject(error)
    }
  }
}
