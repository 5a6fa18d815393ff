/**
 * A first-in, first-out queue whose `shift` costs O(1): an array read from a moving head, cut
 * back once the consumed part is most of it. (`Array.prototype.shift` moves every element.)
 *
 * @module
 */
export class Fifo<T> {
  #items: (T | undefined)[] = []
  #head = 0

  get length(): number {
    return this.#items.length - this.#head
  }

  push(item: T): void {
    this.#items.push(item)
  }

  /** The oldest item; undefined when empty. */
  peek(): T | undefined {
    return this.#items[this.#head]
  }

  /** Removes and returns the oldest item; undefined when empty. */
  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined
    const item = this.#items[this.#head]
    this.#items[this.#head++] = undefined
    if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    return item
  }
}
