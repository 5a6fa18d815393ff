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
import { Fifo } from './fifo.js'

/**
 * The outcome of one item that failed on its own while others of its batch did not (a batch
 * sent again in parts, see operations.ts): its caller gets `error`.
 */
export class ItemFailure {
  constructor(readonly error: unknown) {}
}

/**
 * Sends one batch; returns one result per item, in order, or an {@link ItemFailure} for an item
 * that failed alone. A throw fails every item.
 */
export type SendBatch<Item, Result> = (items: Item[]) => Promise<Array<Result | ItemFailure>>

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

/** The items of one order key, and whether that key may go. */
interface KeyState<Item, Result> {
  /** Its items not yet sent, oldest first. */
  items: Fifo<Pending<Item, Result>>
  /** How many of its items are in requests in flight: while any are, none is sent. */
  inFlight: number
  /** Whether the key is in the ready queue. */
  ready: boolean
}

/** Collects items and sends them in batches. */
export class Batcher<Item, Result> {
  readonly #send: SendBatch<Item, Result>
  readonly #limits: BatchLimits<Item>
  /**
   * What may go, in turn: items without an order key, and order keys with items and none in
   * flight (each stands for its items, which go together, oldest first).
   */
  readonly #ready = new Fifo<Pending<Item, Result> | string>()
  /** The order keys with items queued or in flight. */
  readonly #keys = new Map<string, KeyState<Item, Result>>()
  #scheduled = false
  #inFlight = 0

  constructor(send: SendBatch<Item, Result>, limits: BatchLimits<Item>) {
    this.#send = send
    this.#limits = limits
  }

  /** Queues `item`; resolves with its result once its batch has been answered. */
  add(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      const key = this.#limits.orderKey?.(item)
      const pending = { item, weight: this.#limits.weigh(item), key, resolve, reject }
      if (key === undefined) this.#ready.push(pending)
      else this.#queueKeyed(key, pending)
      if (!this.#scheduled) {
        this.#scheduled = true
        setImmediate(() => {
          this.#scheduled = false
          this.#drain()
        })
      }
    })
  }

  #queueKeyed(key: string, pending: Pending<Item, Result>): void {
    let state = this.#keys.get(key)
    if (state === undefined) {
      state = { items: new Fifo(), inFlight: 0, ready: false }
      this.#keys.set(key, state)
    }
    state.items.push(pending)
    // A key with items in flight becomes ready when they come back (see #done).
    if (state.inFlight === 0 && !state.ready) {
      state.ready = true
      this.#ready.push(key)
    }
  }

  #drain(): void {
    while (this.#inFlight < this.#limits.maxInFlight) {
      const batch = this.#take()
      // Nothing queued, or every queued item waits for a request in flight with its key (the
      // drain after that request takes it).
      if (batch.length === 0) return
      this.#inFlight++
      for (const { key } of batch) if (key !== undefined) this.#keys.get(key)!.inFlight++
      this.#dispatch(batch).finally(() => {
        this.#inFlight--
        for (const { key } of batch) if (key !== undefined) this.#done(key)
        this.#drain()
      })
    }
  }

  /** One item of `key` came back; after the last one, its waiting items may go. */
  #done(key: string): void {
    const state = this.#keys.get(key)!
    if (--state.inFlight > 0) return
    if (state.items.length === 0) {
      this.#keys.delete(key)
    } else if (!state.ready) {
      state.ready = true
      this.#ready.push(key)
    }
  }

  /**
   * The next batch, in turn from {@link #ready}, as many items as fit the limits (the first one
   * always goes, however large). A key's items go oldest first; a key whose items went out in
   * an earlier batch of this drain leaves the ready queue until they come back. Every step
   * takes an item or drops a ready entry, so a batch costs what it holds, however long the queue.
   */
  #take(): Array<Pending<Item, Result>> {
    const batch: Array<Pending<Item, Result>> = []
    let bytes = 0
    const fits = (weight: number) =>
      batch.length === 0 ||
      (batch.length < this.#limits.maxItems && bytes + weight <= this.#limits.maxBytes)
    for (let entry = this.#ready.peek(); entry !== undefined; entry = this.#ready.peek()) {
      if (typeof entry !== 'string') {
        if (!fits(entry.weight)) return batch
        this.#ready.shift()
        batch.push(entry)
        bytes += entry.weight
        continue
      }
      const state = this.#keys.get(entry)!
      if (state.inFlight === 0) {
        for (
          let pending = state.items.peek();
          pending !== undefined;
          pending = state.items.peek()
        ) {
          if (!fits(pending.weight)) return batch
          state.items.shift()
          batch.push(pending)
          bytes += pending.weight
        }
      }
      this.#ready.shift()
      state.ready = false
    }
    return batch
  }

  async #dispatch(batch: Array<Pending<Item, Result>>): Promise<void> {
    try {
      const results = await this.#send(batch.map((pending) => pending.item))
      for (const [i, pending] of batch.entries()) {
        const result = results[i]!
        if (result instanceof ItemFailure) pending.reject(result.error)
        else pending.resolve(result)
      }
    } catch (error) {
      for (const pending of batch) pending.reject(error)
    }
  }
}
