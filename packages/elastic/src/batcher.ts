/**
 * Coalescing: operations issued together go out as one request. Items queued in the same turn
 * of the event loop (flushed with `setImmediate`), or while the maximum number of requests is in
 * flight, are sent together, up to a count and a byte budget; each caller gets its own item's
 * result or error.
 *
 * Items with an order key (a document id) keep their issue order: an item is not sent while a
 * request carrying an earlier item with its key is in flight, the client's retries of that request
 * included. Requests in flight together are applied in any order, and a retried one after a
 * later one; items of one key in one request are applied in order.
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
  /** The key whose items must be applied in issue order; undefined for an item that needs none. */
  orderKey?(item: Item): string | undefined
}

interface Pending<Item, Result> {
  item: Item
  weight: number
  key: string | undefined
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
  /** Order keys of the items in requests in flight, with how many items carry each. */
  readonly #busy = new Map<string, number>()

  constructor(send: SendBatch<Item, Result>, limits: BatchLimits<Item>) {
    this.#send = send
    this.#limits = limits
  }

  /** Queues `item`; resolves with its result once its batch has been answered. */
  add(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      const key = this.#limits.orderKey?.(item)
      this.#queue.push({ item, weight: this.#limits.weigh(item), key, resolve, reject })
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
      // Every queued item waits for a request in flight with its key: the next drain takes it.
      if (batch.length === 0) return
      this.#inFlight++
      for (const { key } of batch) {
        if (key !== undefined) this.#busy.set(key, (this.#busy.get(key) ?? 0) + 1)
      }
      this.#dispatch(batch).finally(() => {
        this.#inFlight--
        for (const { key } of batch) {
          if (key === undefined) continue
          const left = this.#busy.get(key)! - 1
          if (left === 0) this.#busy.delete(key)
          else this.#busy.set(key, left)
        }
        this.#drain()
      })
    }
  }

  /**
   * The next batch: queued items in order, as many as fit the limits (the first one that can go
   * always goes, however large), passing over those whose key is in a request in flight (so are
   * all later items of that key). Empty when every queued item waits.
   */
  #take(): Array<Pending<Item, Result>> {
    const queue = this.#queue
    const batch: Array<Pending<Item, Result>> = []
    const waiting: Array<Pending<Item, Result>> = []
    let bytes = 0
    let at = 0
    for (; at < queue.length; at++) {
      const pending = queue[at]!
      if (pending.key !== undefined && this.#busy.has(pending.key)) {
        waiting.push(pending)
        continue
      }
      const full =
        batch.length >= this.#limits.maxItems || bytes + pending.weight > this.#limits.maxBytes
      if (batch.length > 0 && full) break
      batch.push(pending)
      bytes += pending.weight
    }
    // The rest is copied as a block: a queue of a million writes is not walked item by item for
    // every batch taken from its front.
    this.#queue = at < queue.length ? waiting.concat(queue.slice(at)) : waiting
    return batch
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
