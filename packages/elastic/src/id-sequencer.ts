/**
 * Runs the tasks of one document id one after another, in the order they were given; tasks of
 * different ids run concurrently.
 *
 * Under `id_scheme: infini` a write is a read followed by a conditional write, retried with a
 * fresh read when the document changed in between. Two writes of one key issued by this store
 * and run together would race that way, and the earlier could win; run one after the other, the
 * later is read-and-written after the earlier and wins, as with `id_scheme: default`.
 *
 * @module
 */
export class IdSequencer {
  /** The last task given for each id with one not yet settled. */
  readonly #tails = new Map<string, Promise<unknown>>()

  /** Runs `task` once every task given before for `id` has settled; its result. */
  run<T>(id: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(id)
    const result = previous === undefined ? task() : previous.then(task, task)
    const tail: Promise<void> = result.then(
      () => this.#settled(id, tail),
      () => this.#settled(id, tail),
    )
    this.#tails.set(id, tail)
    return result
  }

  #settled(id: string, tail: Promise<unknown>): void {
    if (this.#tails.get(id) === tail) this.#tails.delete(id)
  }
}
