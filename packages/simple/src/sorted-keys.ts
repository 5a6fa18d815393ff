/**
 * `SortedKeys`: the keys of one bucket in ascending byte order, for `keys()`, kept lazily.
 *
 * Nothing is kept until the first `keys()` call, so a store that never lists keys pays nothing.
 * After that the order is two sorted arrays: the main one, and a small side array of keys added
 * since the main one was built, which a listing walks beside it ({@link KeyCursor}). New keys are
 * collected unsorted and merged into the side array at the next listing (sorting only the new
 * ones); the side array is folded into the main one only once it holds more than about √n keys,
 * so a listing after each new key costs O(√n) amortised rather than a copy of the whole bucket.
 * Past as many waiting keys as the main array holds (or 1,024) the view is dropped and the next
 * listing sorts the bucket afresh. Deleted keys stay in the arrays until a fold or a rebuild
 * drops them; a listing skips keys that are no longer in the bucket. Arrays are replaced, never
 * changed in place, so a listing in progress keeps a consistent pair to walk.
 *
 * @module
 */

/**
 * Keys that may wait to be merged however small the sorted array: below this, re-sorting a
 * bucket from scratch would cost about what the merge does.
 */
const MIN_PENDING = 1024

/**
 * Keys the side array may hold however small the main array: folding a tiny side array into a
 * small main one after every few new keys would cost more than walking the two.
 */
const MIN_SIDE = 64

/** The arrays a listing walks: both ascending; an id may be in both (deleted, then re-added). */
export interface KeyOrder {
  readonly main: readonly string[]
  readonly side: readonly string[]
}

const NONE: readonly string[] = []

/** Lazily sorted view of a bucket's key ids (latin1 strings, so string order is byte order). */
export class SortedKeys {
  #main: string[] | undefined
  #side: readonly string[] = NONE
  #added: string[] = []
  #stale = 0
  #removals = 0

  /** True once a listing has been asked for: new keys must then be reported with {@link added}. */
  get tracking(): boolean {
    return this.#main !== undefined
  }

  /**
   * Records a key that was not in the bucket before. Once more keys wait to be merged than the
   * sorted array holds, the view is dropped and the next listing sorts the bucket afresh: else
   * a bucket listed once and then churned (keys deleted and added again, with no listing in
   * between) would collect ids without bound.
   */
  added(id: string): void {
    const main = this.#main
    if (main === undefined) return
    this.#added.push(id)
    if (this.#added.length > Math.max(MIN_PENDING, main.length)) {
      this.#main = undefined
      this.#side = NONE
      this.#added = []
      this.#stale = 0
    }
  }

  /** Keys added since the last listing, waiting to be merged into the side array. */
  get pending(): number {
    return this.#added.length
  }

  /** Records that a key left the bucket. */
  removed(): void {
    this.#removals++
    if (this.#main !== undefined) this.#stale++
  }

  /**
   * How many keys have left the bucket so far (never reset): a listing that saw no change of it
   * since it began, over arrays that {@link clean} said hold no departed key, need not check
   * that each id is still present.
   */
  get removals(): number {
    return this.#removals
  }

  /** True when the arrays {@link sorted} last returned hold only keys present at that time. */
  get clean(): boolean {
    return this.#stale === 0
  }

  /**
   * The sorted ids, possibly with some that have since left the bucket (`present` tells);
   * `all` yields every current id when nothing has been sorted yet.
   */
  sorted(all: () => Iterable<string>, present: (id: string) => boolean): KeyOrder {
    let main = this.#main
    let side = this.#side
    if (main === undefined || this.#stale * 2 > main.length + side.length) {
      main = Array.from(all()).sort()
      side = NONE
      this.#stale = 0
    } else if (this.#added.length > 0) {
      side = merge(side, this.#added.sort())
      if (side.length > Math.max(MIN_SIDE, Math.sqrt(main.length))) {
        // Only departed keys need `present`: with none since the arrays were clean, skip it.
        main = merge(main, side, this.#stale === 0 ? undefined : present)
        side = NONE
        this.#stale = 0
      }
    }
    this.#added = []
    this.#main = main
    this.#side = side
    return { main, side }
  }
}

/** Merges two sorted arrays into a new one, dropping duplicates and ids `present` rejects. */
function merge(
  a: readonly string[],
  b: readonly string[],
  present?: (id: string) => boolean,
): string[] {
  const out: string[] = []
  const cursor = new KeyCursor({ main: a, side: b }, '')
  let last: string | undefined
  for (let id = cursor.next(); id !== undefined; id = cursor.next()) {
    // The cursor drops an id found in both arrays; new keys may hold one twice (re-added).
    if (id !== last && (present === undefined || present(id))) out.push(id)
    last = id
  }
  return out
}

/**
 * Walks a {@link KeyOrder} in ascending order from the first id not below `from`, each id once.
 * A class with a `next()` method rather than a generator: a full listing calls it once per key.
 */
export class KeyCursor {
  readonly #main: readonly string[]
  readonly #side: readonly string[]
  #i: number
  #j: number

  constructor({ main, side }: KeyOrder, from: string) {
    this.#main = main
    this.#side = side
    this.#i = from === '' ? 0 : lowerBound(main, from)
    this.#j = from === '' ? 0 : lowerBound(side, from)
  }

  /** The next id, or undefined at the end. */
  next(): string | undefined {
    const a = this.#main[this.#i]
    const b = this.#side[this.#j]
    if (b === undefined || (a !== undefined && a < b)) {
      if (a !== undefined) this.#i++
      return a
    }
    this.#j++
    if (a === b) this.#i++
    return b
  }
}

/** Index of the first id in `sorted` that is not below `id`. */
export function lowerBound(sorted: readonly string[], id: string): number {
  let low = 0
  let high = sorted.length
  while (low < high) {
    const mid = (low + high) >>> 1
    if (sorted[mid]! < id) low = mid + 1
    else high = mid
  }
  return low
}
