/**
 * `SortedKeys`: the keys of one bucket in ascending byte order, for `keys()`, kept lazily.
 *
 * Nothing is kept until the first `keys()` call, so a store that never lists keys pays nothing.
 * After that, new keys are collected unsorted and merged in at the next listing (sorting only
 * the new ones; past as many as the sorted array holds, or 1,024, the array is dropped and the
 * next listing sorts the bucket afresh), and deleted keys stay in the sorted array until a merge
 * or a rebuild drops them; a listing skips keys that are no longer in the bucket. Arrays are replaced, never
 * changed in place, so a listing in progress keeps a consistent array to walk.
 *
 * @module
 */

/**
 * Keys that may wait to be merged however small the sorted array: below this, re-sorting a
 * bucket from scratch would cost about what the merge does.
 */
const MIN_PENDING = 1024

/** Lazily sorted view of a bucket's key ids (latin1 strings, so string order is byte order). */
export class SortedKeys {
  #sorted: string[] | undefined
  #added: string[] = []
  #stale = 0
  #removals = 0

  /** True once a listing has been asked for: new keys must then be reported with {@link added}. */
  get tracking(): boolean {
    return this.#sorted !== undefined
  }

  /**
   * Records a key that was not in the bucket before. Once more keys wait to be merged than the
   * sorted array holds, the view is dropped and the next listing sorts the bucket afresh: else
   * a bucket listed once and then churned (keys deleted and added again, with no listing in
   * between) would collect ids without bound.
   */
  added(id: string): void {
    const sorted = this.#sorted
    if (sorted === undefined) return
    this.#added.push(id)
    if (this.#added.length > Math.max(MIN_PENDING, sorted.length)) {
      this.#sorted = undefined
      this.#added = []
      this.#stale = 0
    }
  }

  /** Keys added since the last listing, waiting to be merged into the sorted array. */
  get pending(): number {
    return this.#added.length
  }

  /** Records that a key left the bucket. */
  removed(): void {
    this.#removals++
    if (this.#sorted !== undefined) this.#stale++
  }

  /**
   * How many keys have left the bucket so far (never reset): a listing that saw no change of it
   * since it began, over an array that {@link clean} said holds no departed key, need not check
   * that each id is still present.
   */
  get removals(): number {
    return this.#removals
  }

  /** True when the last array {@link sorted} returned holds only keys present at that time. */
  get clean(): boolean {
    return this.#stale === 0
  }

  /**
   * The sorted ids, possibly with some that have since left the bucket (`present` tells);
   * `all` yields every current id when nothing has been sorted yet.
   */
  sorted(all: () => Iterable<string>, present: (id: string) => boolean): string[] {
    let sorted = this.#sorted
    if (sorted === undefined || this.#stale * 2 > sorted.length) {
      sorted = Array.from(all()).sort()
      this.#added = []
      this.#stale = 0
    } else if (this.#added.length > 0) {
      sorted = merge(sorted, this.#added.sort(), present)
      this.#added = []
      this.#stale = 0
    }
    this.#sorted = sorted
    return sorted
  }
}

/** Merges two sorted arrays, dropping ids no longer present and duplicates. */
function merge(a: string[], b: string[], present: (id: string) => boolean): string[] {
  const out: string[] = []
  let i = 0
  let j = 0
  let last: string | undefined
  while (i < a.length || j < b.length) {
    let next: string
    if (j >= b.length || (i < a.length && a[i]! <= b[j]!)) next = a[i++]!
    else next = b[j++]!
    if (next !== last && present(next)) out.push(next)
    last = next
  }
  return out
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
